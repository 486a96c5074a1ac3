"""Benchmark: health-index writes and consented reads per second through the FHIR API on PostgreSQL, beside two
ceilings from the same run — measured the way bench/settlement.py measures (its servers, loader and CPU figures).

  1. pgbench TPC-B-like (scale 8, 8 clients) on a scratch database, and pgbench with a script shaped like one
     append to the audit chain (lock one row, insert a row, update the locked row, commit; 8 clients): every
     audited write in sscard holds the chain's single head row from its lock to the end of COMMIT, so this
     serialised ceiling — a C client, no Python between the statements — bounds any audited use case;
  2. a bare FastAPI endpoint (uvicorn, 2 workers) doing one TPC-B-like transaction on pgbench's tables;
  3. sscard (uvicorn, 2 workers), closed loop with 64 connections:
     writes — POST /api/v1/fhir/Encounter, each a new encounter of one of --persons card holders (FHIR parse and
     R4 validation, ICD-10 check, holder check, insert, audit record);
     reads — GET /api/v1/fhir/Encounter?patient=… under a grant (grant check, sensitive filter, searchset Bundle
     of the patient's entries, read log and audit record).
The grants the reads use are opened by break-the-glass before the server starts (no chip and KMS needed in the
setup): the read path is the same as under a card + PIN grant. Each closed-loop run is bounded by --seconds and
--max-requests; with --repeat the median run is reported, every run in the JSON.

    python bench/health_index.py [--seconds 10] [--repeat 1] [--persons 100]
Writes bench/results/health_index.json (target ≥ 500/s each on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import machine, now_iso, pgbench_tps, scratch_database, server_url, url_string
from lifecycle import id_number
from settlement import CONNECTIONS, HERE, Make, closed_loop, repeated, start_server, stop_server

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.health import consent, icd, profile
from sscard.medical import institutions
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn

RESULTS = HERE / "results" / "health_index.json"
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


# The shape of ``audit.record_with``: the head row locked, the record inserted, the head updated, COMMIT.
CHAIN_SHAPED = """BEGIN;
SELECT bbalance FROM pgbench_branches WHERE bid = 1 FOR UPDATE;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, CURRENT_TIMESTAMP);
UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;
END;
"""


def serialised_tps(url: Any, clients: int, seconds: int) -> float | None:
    """pgbench running ``CHAIN_SHAPED`` on the tables ``pgbench_tps`` made (call it first)."""
    if shutil.which("pgbench") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(CHAIN_SHAPED)
    try:
        out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name,
                              "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                              url.username or "postgres", str(url.database)],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", out)
    return round(float(match.group(1)), 1) if match else None


def seed(db: Database, persons: int) -> tuple[str, list[tuple[str, str]]]:
    """A hospital and its API key, and ``persons`` holders with activated cards: (card number, ID number)."""
    auth.create_outlet(db, SYSTEM_ACTOR, "B01", "bench outlet", "441802")
    counter = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench", "bench", Role.COUNTER,
                                                 "quiet-river-7f3k-walnut", "B01"))
    admin = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench-admin", "bench", Role.ADMIN,
                                               "quiet-river-7f3k-walnut", None))
    holders: list[tuple[str, str]] = []
    for n in range(persons):
        no = id_number(n)
        registry.register(db, counter, PersonIn(id_number=no, name="测试人员", region_code="441802"))
        holders.append((cards.apply_new(db, counter, no).card.card_no, no))
    card_nos = [c for c, _ in holders]
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production_batch(db, SYSTEM_ACTOR, card_nos, status)
    cards.advance_production_batch(db, SYSTEM_ACTOR, card_nos, ProductionStatus.AT_OUTLET, "B01")
    for c in card_nos:
        cards.pick_up(db, counter, c)
        cards.activate(db, counter, c, "408213")
    institutions.create_institution(db, admin, "HBENCH", "bench hospital", "hospital", "3", ["outpatient"])
    return institutions.issue_key(db, admin, "HBENCH").api_key, holders


def write_maker(key: str, bodies: list[bytes]) -> Make:
    """Sends the precomputed encounters in order, each once (a repeat would be an idempotent replay)."""
    pending = iter(bodies)

    def make() -> tuple[str, bytes, dict[str, str]]:
        try:
            body = next(pending)
        except StopIteration:
            raise RuntimeError("out of precomputed encounters: raise their count") from None
        return "/api/v1/fhir/Encounter", body, {"X-Institution-Key": key}

    return make


def read_maker(key: str, grants: list[tuple[str, str]]) -> Make:
    """Searches the patients' encounters in turn, each under its grant."""
    turn = itertools.cycle(grants)

    def make() -> tuple[str, None, dict[str, str]]:
        grant, pseudonym = next(turn)
        return (f"/api/v1/fhir/Encounter?patient=Patient/{pseudonym}", None,
                {"X-Institution-Key": key, "X-Health-Grant": grant, "X-Health-Operator": "bench"})

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="closed-loop runs of each; the median is reported")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--persons", type=int, default=100)
    parser.add_argument("--pgbench-seconds", type=int, default=6)
    parser.add_argument("--url", default=None)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON (default: %(default)s)")
    args = parser.parse_args()
    seconds = min(args.seconds, 30.0)

    with scratch_database(server_url(args.url), "sscard_bench_health") as url:
        pgbench_load = os.getloadavg()[0]
        tps = pgbench_tps(url, clients=8, seconds=args.pgbench_seconds, scale=8)
        pgbench = None if tps is None else round(tps, 1)
        serial_load = os.getloadavg()[0]
        serial = serialised_tps(url, 8, max(3, args.pgbench_seconds // 2))
        bare_proc, bare_port = start_server("settlement:bare_app", {"BENCH_BARE_URL": url_string(url)}, HERE)
        try:
            asyncio.run(closed_loop(bare_port, lambda: ("/tpcb", {}, {}), 2, 500))  # warm-up, as below
            bare = repeated(bare_proc, lambda: asyncio.run(
                closed_loop(bare_port, lambda: ("/tpcb", {}, {}), seconds, args.max_requests)), args.repeat)
        finally:
            stop_server(bare_proc)
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        t = time.perf_counter()
        key, holders = seed(db, args.persons)
        seed_seconds = time.perf_counter() - t
        # Warm-up, then the closed-loop runs (bounded by --max-requests and by what 2 cores answer in --seconds).
        count = 500 + args.repeat * min(args.max_requests, int(seconds * 1500))
        bodies = [encounter(*holders[i % len(holders)], i) for i in range(count)]
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        proc, port = start_server("sscard.api.app:create_app", {"SSCARD_DATABASE_URL": url_string(url),
                                                                "SSCARD_DEMO": "0"})
        try:
            writer = write_maker(key, bodies)
            asyncio.run(closed_loop(port, writer, 2, 500))  # warm-up: caches, connection pools
            writes = repeated(proc, lambda: asyncio.run(closed_loop(port, writer, seconds, args.max_requests)),
                              args.repeat, (db, str(url.database)))
            hospital = institutions.authenticate_cached(db, key)
            grants = []
            for card_no, _ in holders:
                c = consent.grant_emergency(db, hospital, card_no, "bench", "benchmark of the read path")
                grants.append((c["id"], c["patient"]["reference"].removeprefix("Patient/")))
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                entries = conn.exec_driver_sql("SELECT count(*) FROM health_encounters").scalar_one()
            db.dispose()
            reader = read_maker(key, grants)
            asyncio.run(closed_loop(port, reader, 2, 500))
            reads = repeated(proc, lambda: asyncio.run(closed_loop(port, reader, seconds, args.max_requests)),
                             args.repeat, (db, str(url.database)))
        finally:
            stop_server(proc)

    per_patient = round(entries / max(args.persons, 1))

    def spread(m: dict[str, Any]) -> str:
        return " / ".join(f"{r['per_second']:,}" for r in m["runs"])

    def figure(m: dict[str, Any]) -> str:
        return (f"**{m['per_second']:,}/s** (runs: {spread(m)}), p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms "
                f"(CPU per request: server {m['server_cpu_ms_per_request']} ms, PostgreSQL (the bench database's "
                f"backends) {m['postgres_own_db_cpu_ms_per_request']} ms; load {m['load_average_1m']})")

    ceiling = (f"one locked row held across COMMIT, as the audit chain's head is (pgbench, 8 clients): {serial} tps "
               f"(load {round(serial_load, 2)}); bare FastAPI endpoint, one TPC-B-like transaction: "
               f"{bare['per_second']:,}/s (server CPU {bare['server_cpu_ms_per_request']} ms per request); pgbench "
               f"TPC-B, 8 clients: {pgbench} tps (load {round(pgbench_load, 2)}); target ≥ 500/s")
    result = {
        "when": now_iso(), "machine": machine(), "connections": CONNECTIONS, "uvicorn_workers": 2,
        "persons": args.persons, "seed_seconds": round(seed_seconds, 1), "entries_per_patient_read": per_patient,
        "ceiling_pgbench_tpcb_8_clients_tps": pgbench, "ceiling_pgbench_load_average_1m": round(pgbench_load, 2),
        "ceiling_one_locked_row_8_clients_tps": serial, "ceiling_one_locked_row_load_average_1m": round(serial_load, 2),
        "ceiling_bare_fastapi_tpcb": bare, "writes_closed_loop": writes, "reads_closed_loop": reads,
        "targets": {"writes_per_second": 500, "reads_per_second": 500},
        "summary": [
            {"what": f"health-index writes (POST Encounter, FHIR R4) through the API, PostgreSQL, uvicorn 2 "
                     f"workers, {CONNECTIONS} connections", "figure": figure(writes), "ceiling": ceiling},
            {"what": f"  consented reads (GET Encounter?patient=, ~{per_patient} entries each)",
             "figure": figure(reads), "ceiling": ceiling},
        ],
    }
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
