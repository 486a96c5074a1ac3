"""E-card benchmark: code verifications per second on one core (what an offline verifier and the platform do per
scanned code: parse, SM2 verify under the published key, time check), online verifications through the service
(PostgreSQL, with the audit record), and the latency from issuance to display (the phone page's request for a
fresh code over HTTP on loopback: issue, sign, render the QR). Ceilings from the same run: bare gmssl-pyx
``sm2_verify`` calls, and pure-Python gmssl for comparison. Writes bench/results/ecard.json.

    python bench/ecard.py [--seconds 2] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import gmssl_pyx
import httpx
import uvicorn
from common import latency_summary, machine, now_iso, scratch_database, server_url, url_string
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from gmssl import sm2 as pure_sm2

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.api.logs import configure_logging
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.crypto import sm2
from sscard.db import Database
from sscard.ecard import payload
from sscard.ecard import service as ecard
from sscard.kms.signing import KEYSTORE_ENV, default_signing_keys
from sscard.portal import ecards
from sscard.portal import service as portal
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn

RESULT = Path(__file__).resolve().parent / "results" / "ecard.json"
ID_NUMBER = "441802198001010012"
PASSWORD = "802613"


def rate(fn: Callable[[int], object], seconds: float) -> float:
    for i in range(20):
        fn(i)
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn(n)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def interleaved(fns: dict[str, Callable[[int], object]], seconds: float, rounds: int = 5) -> dict[str, float]:
    """Each function's calls per second, median of ``rounds`` short windows taken in turn: a machine whose load
    changes during the run moves every figure alike, so a figure and its ceiling stay comparable."""
    seen: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            seen[name].append(rate(fn, seconds / rounds))
    return {name: round(statistics.median(rates), 1) for name, rates in seen.items()}


def holder(db: Database) -> int:
    """A person with a card in use, a query password and an activated e-card; returns the person id."""
    auth.create_outlet(db, SYSTEM_ACTOR, "E01", "bench outlet", "441802")
    counter = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench", "bench", Role.COUNTER,
                                                 "Kq7x-sscard-ecard-2026", "E01"))
    person = registry.register(db, counter, PersonIn(id_number=ID_NUMBER, name="测试人员", region_code="441802"))
    card_no = cards.apply_new(db, counter, ID_NUMBER).card.card_no
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(db, SYSTEM_ACTOR, card_no, status)
    cards.advance_production(db, SYSTEM_ACTOR, card_no, ProductionStatus.AT_OUTLET, outlet_code="E01")
    cards.pick_up(db, counter, card_no)
    cards.activate(db, counter, card_no, "408213")
    portal.set_query_password(db, counter, card_no, PASSWORD)
    ecards.activate_ecard(db, portal.cardholder_actor(person.id))
    return person.id


def display_latency(db: Database, requests: int) -> dict[str, float]:
    """GET /portal/ecard/code over HTTP (uvicorn on loopback), as the phone page asks for a fresh code."""
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        return _requests(f"http://127.0.0.1:{port}", requests)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _requests(base: str, requests: int) -> dict[str, float]:
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/portal/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        r = http.post("/portal/login", data={"csrf_token": csrf.group(1), "identifier": ID_NUMBER,
                                             "password": PASSWORD}, follow_redirects=True)
        assert r.status_code == 200, r.text[:200]
        for _ in range(10):
            assert http.get("/portal/ecard/code").status_code == 200
        latencies, started = [], time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            answer = http.get("/portal/ecard/code")
            latencies.append(time.perf_counter() - t0)
            assert answer.status_code == 200 and answer.json()["image"].startswith("data:image/svg+xml")
        return latency_summary(latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default=None, help="PostgreSQL server URL (default: SSCARD_TEST_POSTGRES_URL)")
    args = parser.parse_args()
    configure_logging(file=open(os.devnull, "w"))  # noqa: SIM115 - the request log would swamp the output
    logging.getLogger().setLevel(logging.WARNING)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for everything below
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, scratch_database(server_url(args.url)) as url:
        os.environ[KEYSTORE_ENV] = str(Path(tmp) / "ecard-keys.json")
        keys = default_signing_keys()
        if not keys.entries():
            keys.create()
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        person_id = holder(db)
        actor = portal.cardholder_actor(person_id)
        texts = [ecard.issue_code(db, actor, person_id).text for _ in range(100)]
        public = keys.public_keys()

        def offline(i: int) -> None:
            code = payload.parse(texts[i % len(texts)])
            payload.check(code, public, int(clock.now().timestamp()), skew=5)

        code0 = payload.parse(texts[0])
        der = encode_dss_signature(int.from_bytes(code0.signature[:32], "big"),
                                   int.from_bytes(code0.signature[32:], "big"))
        pure = pure_sm2.CryptSM2(private_key="00", public_key=public[1].hex())
        operator = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench-verify", "bench", Role.COUNTER,
                                                      "Kq7x-sscard-ecard-2026", "E01"))
        fresh = [ecard.issue_code(db, actor, person_id).text for _ in range(20)]
        rates = interleaved({
            "offline": offline,
            "bare": lambda i: gmssl_pyx.sm2_verify(public[1], code0.signed, der, sm2.SIGNER_ID),
            "online": lambda i: ecard.verify(db, operator, fresh[i % len(fresh)]),
            "signing": lambda i: keys.sign(code0.signed),
        }, args.seconds * 4)
        pure_rate = round(rate(lambda i: pure.verify_with_sm3(code0.signature.hex(), code0.signed), 1.0), 1)
        verifications, bare, online, signing = rates["offline"], rates["bare"], rates["online"], rates["signing"]
        display = display_latency(db, args.requests)
        db.dispose()
    result = {
        "name": "ecard",
        "date": now_iso(),
        "machine": machine(),
        "database": "postgresql",
        "one_core": True,
        "load_average_1m_before": round(load_before, 2),
        "verifications_per_s": verifications,
        "target_verifications_per_s": 1000,
        "ceiling_bare_gmssl_pyx_sm2_verify_per_s": bare,
        "pure_python_gmssl_verifications_per_s": pure_rate,
        "online_verifications_per_s": online,
        "signatures_per_s": signing,
        "issuance_to_display": display,
        "summary": [
            {"what": "code verifications (parse, SM2 verify, time check), one core",
             "figure": f"**{verifications:,.0f}/s** (online through the service with its audit record, "
                       f"PostgreSQL: {online:,.0f}/s; signing {signing:,.0f}/s)",
             "ceiling": f"bare gmssl-pyx sm2_verify {bare:,.0f}/s; pure-Python gmssl {pure_rate:,.0f}/s; "
                        f"target ≥ 1,000/s (load {round(load_before, 2)} on 2 cores, medians of interleaved "
                        "windows)"},
            {"what": "issuance to display (GET /portal/ecard/code over HTTP: issue, sign, render the QR)",
             "figure": f"p50 {display['p50_ms']} ms, p99 {display['p99_ms']} ms ({display['per_second']}/s)",
             "ceiling": "—"},
        ],
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
