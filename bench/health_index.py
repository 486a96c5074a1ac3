"""Benchmark: health-index writes (``publish_encounter``: FHIR parse + R4 validation + ICD-10 check + holder check
+ insert + audit) and consented reads (``search`` under a grant: grant check, sensitive filter, Bundle, audit and
read log) per second, through the service layer, on a scratch PostgreSQL database, with --threads threads, each
phase bounded by --seconds. The ceiling is pgbench TPC-B with the same number of clients, in the same run.
The grants the reads use are opened by break-the-glass (no chip and KMS needed in the setup): the read path is
the same as under a card + PIN grant.

    python bench/health_index.py [--persons 200] [--writes 3000] [--reads 3000] [--threads 2] [--seconds 20]
Writes bench/results/health_index.json (target ≥ 500/s each on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from common import latency_summary, machine, now_iso, pgbench_tps, scratch_database, server_url, url_string
from lifecycle import id_number

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.health import consent, icd, profile, service
from sscard.medical import institutions
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn

RESULTS = Path(__file__).resolve().parent / "results" / "health_index.json"
CODES = ("J18.9", "I10", "E11.9", "K29.7", "M54.5", "J06.9", "N39.0", "R51")


def encounter(card_no: str, id_no: str, n: int) -> bytes:
    body = {
        "resourceType": "Encounter",
        "contained": [{"resourceType": "Patient", "id": "p",
                       "identifier": [{"system": profile.CARD_SYSTEM, "value": card_no},
                                      {"system": profile.RESIDENT_ID_SYSTEM, "value": id_no}]}],
        "identifier": [{"system": "urn:bench:visit", "value": f"V{n}-{uuid.uuid4().hex[:8]}"}],
        "status": "finished", "class": {"system": profile.ACT_CODE, "code": "AMB"},
        "type": [{"coding": [{"system": profile.TYPE_SYSTEM, "code": "outpatient"}]}],
        "serviceType": {"text": "内科"}, "subject": {"reference": "#p"},
        "period": {"start": clock.local_date().isoformat()},
        "reasonCode": [{"coding": [{"system": icd.SYSTEM, "code": CODES[n % len(CODES)]}]}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def run(label: str, count: int, threads: int, seconds: float, fn: Any) -> dict[str, Any]:
    """``fn(i)`` for i in 0..count-1 over ``threads`` threads, stopping at ``seconds``."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(count))
    deadline = time.perf_counter() + seconds
    load_before = os.getloadavg()[0]

    def worker() -> None:
        mine = []
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            t0 = time.perf_counter()
            fn(i)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    summary: dict[str, Any] = latency_summary(latencies, time.perf_counter() - started)
    summary["load_average_1m"] = round((load_before + os.getloadavg()[0]) / 2, 2)
    print(label, summary, flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    seconds = min(args.seconds, 30.0)

    with scratch_database(server_url(args.url)) as url:
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        auth.create_outlet(db, SYSTEM_ACTOR, "B01", "bench outlet", "441802")
        counter = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench", "bench", Role.COUNTER,
                                                     "quiet-river-7f3k-walnut", "B01"))
        admin = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench-admin", "bench", Role.ADMIN,
                                                   "quiet-river-7f3k-walnut", None))
        print(f"setup: {args.persons} persons with normal cards", flush=True)
        holders: list[tuple[str, str]] = []
        for n in range(args.persons):
            no = id_number(n)
            registry.register(db, counter, PersonIn(id_number=no, name="测试人员", region_code="441802"))
            card_no = cards.apply_new(db, counter, no).card.card_no
            holders.append((card_no, no))
        card_nos = [c for c, _ in holders]
        for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
            cards.advance_production_batch(db, SYSTEM_ACTOR, card_nos, status)
        cards.advance_production_batch(db, SYSTEM_ACTOR, card_nos, ProductionStatus.AT_OUTLET, "B01")
        for c in card_nos:
            cards.pick_up(db, counter, c)
            cards.activate(db, counter, c, "408213")
        institutions.create_institution(db, admin, "HBENCH", "bench hospital", "hospital", "3", ["outpatient"])
        hospital = institutions.authenticate_cached(db, institutions.issue_key(db, admin, "HBENCH").api_key)

        bodies = [encounter(*holders[i % len(holders)], i) for i in range(args.writes)]
        writes = run("writes", args.writes, args.threads, seconds,
                     lambda i: service.publish_encounter(db, hospital, bodies[i]))

        grants = []
        for card_no, _ in holders:
            c = consent.grant_emergency(db, hospital, card_no, "bench", "benchmark of the read path")
            grants.append((c["id"], c["patient"]["reference"].removeprefix("Patient/")))
        reads = run("reads", args.reads, args.threads, seconds,
                    lambda i: service.search(db, hospital, "Encounter", grants[i % len(grants)][1],
                                             grants[i % len(grants)][0], "bench", "http://127.0.0.1/api/v1/fhir"))
        db.dispose()
        ceiling = pgbench_tps(url, clients=args.threads, seconds=args.pgbench_seconds)

    per_patient = args.writes // max(args.persons, 1)
    ceiling_text = f"pgbench TPC-B, {args.threads} clients: {ceiling:,.1f} tps" if ceiling else "pgbench missing"
    result = {
        "date": now_iso(), "machine": machine(), "threads": args.threads, "persons": args.persons,
        "writes": writes, "reads": reads, "ceiling_pgbench_tpcb_tps": ceiling,
        "summary": [
            {"what": f"index writes (publish Encounter), {args.threads} threads, PostgreSQL",
             "figure": f"**{writes['per_second']:,.1f}/s**, p50 {writes['p50_ms']} ms, p99 {writes['p99_ms']} ms "
                       f"(load {writes['load_average_1m']})", "ceiling": f"{ceiling_text}; target ≥ 500/s"},
            {"what": f"consented reads (search, ~{per_patient} entries each), {args.threads} threads, PostgreSQL",
             "figure": f"**{reads['per_second']:,.1f}/s**, p50 {reads['p50_ms']} ms, p99 {reads['p99_ms']} ms "
                       f"(load {reads['load_average_1m']})", "ceiling": f"{ceiling_text}; target ≥ 500/s"},
        ],
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
