"""Benchmark: departments' signed verification requests per second through the HTTP API on PostgreSQL, beside
the bare-endpoint ceiling of bench/settlement.py in the same run, and a bulk verification file.

  1. the bare FastAPI endpoint (uvicorn, 2 workers) doing one TPC-B-like transaction (pgbench's tables);
  2. sscard (uvicorn, 2 workers): POST /api/v1/exchange/verify (card_status: ID number + name hold a normal
     card), each request signed (HMAC-SM3, a fresh nonce; signed before the run so the loader only sends
     bytes), closed loop with 64 connections; each answer stores its nonce, counts the quota, records the access
     and an audit record (answered in group commits: ``exchange.serving.verify_many``). Afterwards the
     accesses and audit records are counted against the answers and the audit chain is verified;
  3. bulk verification: ``exchange.service.bulk_answer`` over a file of --lines ``id_number,name`` lines read as
     a stream (in a child process, so its peak resident memory is the bulk's own), the answer file written out.

    python bench/exchange.py [--quick] [--seconds 10] [--lines 1000000] [--persons 200]
Writes bench/results/exchange.json (with a "summary" list for bench/table.py). ``--quick``: < 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import machine, now_iso, pgbench_tps, scratch_database, server_url, url_string
from settlement import HERE, Make, closed_loop, measured, start_server, stop_server

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.exchange import service as exchange
from sscard.exchange import signing
from sscard.exchange.schemas import AgreementIn, AgreementItemIn, DepartmentIn
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.schemas import PersonIn

RESULTS = HERE / "results" / "exchange.json"
PATH = "/api/v1/exchange/verify"
PASSWORD = "bench-password-1"


def _id_number(n: int) -> str:
    body = f"441802{19500101 + (n // 900) % 28:08d}{n % 900 + 100:03d}"
    return body + check_digit(body)


def seed(db: Database, persons: int) -> tuple[str, bytes, list[tuple[str, str]]]:
    """Operators, a department with a key and an approved agreement, ``persons`` persons with normal cards."""
    auth.create_outlet(db, SYSTEM_ACTOR, "B01", "压测网点", "441802", "hrss")
    maker = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "b-admin", "b-admin", Role.ADMIN, PASSWORD, None))
    checker = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "b-super", "b-super", Role.SUPERVISOR, PASSWORD,
                                                 "B01"))
    exchange.create_department(db, maker, DepartmentIn(code="BENCH", name="压测部门"))
    key = exchange.issue_key(db, maker, "BENCH")
    today = clock.local_date()
    agreement = exchange.request_agreement(db, maker, AgreementIn(
        department="BENCH", items=[AgreementItemIn(item="card_status", modes=["verification", "bulk"])],
        purpose="压测", legal_basis="压测", valid_from=today, valid_until=today, daily_quota=100_000_000))
    exchange.approve(db, checker, agreement.agreement_no)
    people = []
    for n in range(persons):
        number, name = _id_number(n), f"压测{n}"
        registry.register(db, maker, PersonIn(id_number=number, name=name, region_code="441802"))
        card_no = cards.apply_new(db, maker, number).card.card_no
        for status in ("10", "20", "30"):
            cards.advance_production(db, maker, card_no, ProductionStatus(status))
        cards.advance_production(db, maker, card_no, ProductionStatus.AT_OUTLET, outlet_code="B01")
        cards.pick_up(db, checker, card_no)
        cards.activate(db, checker, card_no, "246810")
        people.append((number, name))
    return key.key_id, bytes.fromhex(key.secret_hex), people


def signed_requests(key_id: str, secret: bytes, people: list[tuple[str, str]], count: int) -> list[tuple[bytes,
                                                                                                      dict[str, str]]]:
    out = []
    ts = str(int(time.time()))
    for number, name in itertools.islice(itertools.cycle(people), count):
        body = json.dumps({"item": "card_status", "id_number": number, "name": name}, ensure_ascii=False).encode()
        nonce = secrets.token_hex(16)
        out.append((body, {"X-Dept-Key": key_id, "X-Timestamp": ts, "X-Nonce": nonce,
                           "X-Signature": signing.sign(secret, "POST", PATH, {}, ts, nonce, body)}))
    return out


def maker_of(requests: list[tuple[bytes, dict[str, str]]]) -> Make:
    it = iter(requests)

    def make() -> tuple[str, dict[str, Any] | bytes | None, dict[str, str]]:
        body, headers = next(it)
        return PATH, body, headers

    return make


def bulk_child(url: str, path: Path, out: Path) -> None:
    """In its own process: the bulk answer of the file at ``path`` (streamed), its time and peak memory."""
    db = Database(url)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the interpreter and sscard imported
    started = time.perf_counter()
    granted = exchange.grant_for_department(db, "BENCH", "card_status")
    lines = answered = 0
    with path.open(encoding="utf-8") as source, out.open("w", encoding="utf-8") as sink:
        for part in exchange.bulk_answer(db, granted, source):
            sink.write(part)
            answered += part.count("\n")
    lines = answered - 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"lines": lines, "seconds": round(elapsed, 2), "lines_per_second": round(lines / elapsed),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "rss_before_mib": round(baseline, 1)}))


def write_bulk_file(path: Path, people: list[tuple[str, str]], lines: int) -> None:
    """``lines`` lines: the seeded persons in turn (4 of 5 lines), an unregistered number (1 of 5)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("id_number,name\n")
        for n in range(lines - 1):
            if n % 5 == 4:
                out.write(f"{_id_number(100_000 + n % 20_000)},无此人\n")
            else:
                number, name = people[n % len(people)]
                out.write(f"{number},{name}\n")


def records_of(db: Database) -> dict[str, Any]:
    """What the signed runs left: accesses, nonces, the quota used, the verification audit records; the chain
    verified whole (the group commit may batch records but must not drop one)."""
    from sqlalchemy import func, select

    from sscard.audit import service as audit
    from sscard.audit.models import AuditRecord
    from sscard.exchange.models import ExchangeAccess, ExchangeNonce, ExchangeUsage

    with db.unit_of_work() as session:
        def count(what: Any) -> int:
            return int(session.execute(select(func.count()).select_from(what)).scalar_one())

        out: dict[str, Any] = {
            "accesses": count(ExchangeAccess), "nonces": count(ExchangeNonce),
            "quota_used": int(session.execute(select(func.coalesce(func.sum(ExchangeUsage.used), 0))).scalar_one()),
            "verification_audit_records": int(session.execute(select(func.count()).where(
                AuditRecord.action == "exchange.verification")).scalar_one())}
    t = time.perf_counter()
    checked = audit.verify(db, SYSTEM_ACTOR)
    out.update(audit_chain_ok=checked.ok, audit_records_checked=checked.checked,
               audit_verify_seconds=round(time.perf_counter() - t, 1))
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="< 60 s: 3 s runs, 60,000 bulk lines, 20 persons")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--url", default=None)
    parser.add_argument("--bulk-child", nargs=3, metavar=("URL", "FILE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.bulk_child:
        bulk_child(args.bulk_child[0], Path(args.bulk_child[1]), Path(args.bulk_child[2]))
        return
    if args.quick:
        args.seconds, args.lines, args.persons = 3, min(args.lines, 60_000), min(args.persons, 20)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    with scratch_database(server_url(args.url), "sscard_bench_exchange") as url:
        pgbench_tps(url, clients=1, seconds=1, scale=1)  # pgbench's tables for the bare endpoint
        bare_proc, bare_port = start_server("settlement:bare_app", {"BENCH_BARE_URL": url_string(url),
                                                                    "BENCH_BARE_SCALE": "1"}, HERE)
        try:
            asyncio.run(closed_loop(bare_port, lambda: ("/tpcb", {}, {}), 1, 300))
            bare = measured(bare_proc, lambda: asyncio.run(
                closed_loop(bare_port, lambda: ("/tpcb", {}, {}), args.seconds, 100_000)))
        finally:
            stop_server(bare_proc)
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        t = time.perf_counter()
        key_id, secret, people = seed(db, args.persons)
        seed_seconds = time.perf_counter() - t
        warm = 800  # both workers' first requests compile statements, open the key's secret, fill pools
        requests = signed_requests(key_id, secret, people, warm + int(args.seconds * 2500))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        db.dispose()
        proc, port = start_server("sscard.api.app:create_app", {"SSCARD_DATABASE_URL": url_string(url),
                                                                "SSCARD_LOG_JSON": "true"})
        try:
            make = maker_of(requests)
            warm_up = measured(proc, lambda: asyncio.run(closed_loop(port, make, 3, warm)))
            signed = measured(proc, lambda: asyncio.run(closed_loop(port, make, args.seconds,
                                                                    len(requests) - warm_up["count"])),
                              own_db=(Database(url_string(url)), str(url.database)))
        finally:
            stop_server(proc)
        recorded = records_of(Database(url_string(url)))
        work = Path(os.environ.get("TMPDIR", "/tmp")) / f"sscard-bench-bulk-{os.getpid()}"
        work.mkdir(exist_ok=True)
        source, answer = work / "in.csv", work / "out.csv"
        write_bulk_file(source, people, args.lines)
        child = subprocess.run([sys.executable, __file__, "--bulk-child", url_string(url), str(source), str(answer)],
                               capture_output=True, text=True, check=True, cwd=HERE)
        bulk = json.loads(child.stdout.strip().splitlines()[-1])
        bulk["file_mib"] = round(source.stat().st_size / 2**20, 1)
        bulk["answer_lines"] = sum(1 for _ in answer.open(encoding="utf-8")) - 1
        source.unlink()
        answer.unlink()
        work.rmdir()

    share = round(100 * signed["per_second"] / bare["per_second"], 1) if bare["per_second"] else None
    result = {
        "when": now_iso(), "machine": machine(), "quick": args.quick, "uvicorn_workers": 2, "connections": 64,
        "load_average_1m_before": round(load_before, 2), "persons": args.persons,
        "seed_seconds": round(seed_seconds, 1),
        "ceiling_bare_fastapi_tpcb": bare, "verifications_warm_up": warm_up, "verifications_closed_loop": signed,
        "verifications_share_of_bare_percent": share, "bulk_verification": bulk,
        "verifications_answered": warm_up["count"] + signed["count"], "verifications_recorded": recorded,
        "targets": {"verifications_per_second": 1000, "bulk_lines": 1_000_000, "bulk_seconds": 60},
        "total_seconds": round(time.perf_counter() - began, 1),
        "summary": [
            {"what": "signed verification requests (card_status) through the HTTP API, PostgreSQL, uvicorn 2 "
                     "workers, 64 connections",
             "figure": f"**{signed['per_second']:,}/s**, p50 {signed['p50_ms']} ms, p99 {signed['p99_ms']} ms "
                       f"({share} % of the bare endpoint; server CPU {signed['server_cpu_ms_per_request']} ms "
                       f"per request; load {signed['load_average_1m']}; errors {signed['errors']}; answered in "
                       f"group commits, {recorded['verification_audit_records']:,} audit records and "
                       f"{recorded['accesses']:,} accesses for {warm_up['count'] + signed['count']:,} answers, "
                       f"chain {'verified' if recorded['audit_chain_ok'] else 'BROKEN'})",
             "ceiling": f"bare FastAPI endpoint, one TPC-B-like transaction: {bare['per_second']:,}/s; "
                        "target ≥ 1,000/s"},
            {"what": f"bulk verification of a {bulk['lines']:,}-line file ({bulk['file_mib']} MiB; "
                     f"{args.persons} persons in turn, 1 line in 5 unregistered)",
             "figure": f"**{bulk['seconds']} s** ({bulk['lines_per_second']:,} lines/s), peak memory "
                       f"{bulk['peak_rss_mib']} MiB ({bulk['rss_before_mib']} MiB before the file)",
             "ceiling": "target 1,000,000 lines ≤ 60 s"},
        ],
    }
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
