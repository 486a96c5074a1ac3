"""Benchmark: bank statement lines matched per second (target ≥ 50,000/s) — a collection account with N
collections in the ledger and the bank's camt.053 statement of the same month with N entries (1 in 200 without
its reference, 1 in 500 with an amount the ledger does not have: they land in the queue with suggestions).

Timed, in one run:
- ``match``: ``treasury.service.match_lines`` over the statement's lines and the ledger's candidate transfers
  (the matching itself, in memory);
- ``import``: ``treasury.service.import_statement`` end to end (MAC, lxml parse + XSD validation, the
  candidates read from the ledger, matching, the lines written, the daily balance checks, the audit record,
  COMMIT).
Ceilings from the same run over the same lines: a bare Python loop doing one dict lookup per line (the least a
matcher in this language does), the bare parse + validation of the document (``statements.parse``) and an SQL
count of the lines written.

Setup (not timed): a scratch database (SQLite file, or PostgreSQL with ``--url``), the account, N collections
bulk-posted (``ledger.bulk.post_many``) spread over the month.

    python bench/treasury.py [--quick] [--lines 200000] [--backend sqlite|postgres] [--url postgresql://…]
``--quick``: 20,000 lines, under a minute. Writes bench/results/treasury.json (with a "summary" for
bench/table.py and the 1-minute load average before and after).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import time_machine
from common import machine, now_iso, scratch_database, server_url, url_string
from sqlalchemy import func, select

from sscard import migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.db import Database
from sscard.ledger import bulk, chart
from sscard.ledger.models import LedgerAccount
from sscard.treasury import service, statements
from sscard.treasury.models import TreasuryAccount, TreasuryStatementLine
from sscard.treasury.statements import Line

RESULTS = Path(__file__).resolve().parent / "results" / "treasury.json"
TARGET = 50_000
ZONE = dt.timezone(dt.timedelta(hours=8))
MONTH = dt.date(2026, 3, 1)
ACCOUNT_NO = "6200000100019999"


@contextlib.contextmanager
def database(backend: str, url: str | None) -> Iterator[Database]:
    if backend == "postgres":
        with scratch_database(server_url(url), "sscard_bench_treasury") as scratch:
            migrate.upgrade(url_string(scratch))
            db = Database(url_string(scratch))
            yield db
            db.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        migrate.upgrade(f"sqlite:///{tmp}/treasury.db")
        db = Database(f"sqlite:///{tmp}/treasury.db")
        yield db
        db.dispose()


def day_of(i: int) -> dt.date:
    return MONTH + dt.timedelta(days=i % 28)


def setup(db: Database, n: int) -> tuple[Any, bytes, float]:
    """The account, N collections in the ledger (by day), the signed statement; the setup's seconds."""
    started = time.perf_counter()
    with time_machine.travel(dt.datetime(2026, 2, 27, 9, tzinfo=ZONE), tick=False):
        admin = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench-admin", "bench", Role.ADMIN,
                                                   "bench-password-2026!"))
        service.open_account(db, admin, "BEN-ICBC-COL", "pension", "ICBC", "collection", ACCOUNT_NO, "bench")
    clearing = chart.BankClearing("ICBC")
    with db.unit_of_work() as session:
        chart.open_missing(session, [clearing])
        ledger_code = session.execute(select(TreasuryAccount.ledger_code)).scalar_one()
    for d in range(28):
        day = MONTH + dt.timedelta(days=d)
        with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=ZONE), tick=False), \
                db.unit_of_work() as session:
            bulk.post_many(session, [bulk.BulkTransfer(f"bench:col:{i}", ledger_code, clearing.code,
                                                       10_000 + i % 9_973, "treasury.collection", f"COL{i:08d}")
                                     for i in range(d, n, 28)])
    lines = []
    for i in range(n):
        day = day_of(i)
        amount = 10_000 + i % 9_973 + (1 if i % 500 == 7 else 0)  # 1 in 500: the amount differs
        reference = "" if i % 200 == 3 else f"COL{i:08d}"  # 1 in 200: the bank dropped our reference
        lines.append(Line(i + 1, day, day, "C", amount, reference, f"B{i:010d}", "社保费归集"))
    lines.sort(key=lambda x: (x.booking_date, x.line_no))
    lines = [x._replace(line_no=k + 1) for k, x in enumerate(lines)]
    document = statements.write_camt053("ICBC", ACCOUNT_NO, "BENCH-2026-03", MONTH, MONTH + dt.timedelta(days=27),
                                        0, lines, dt.datetime(2026, 3, 29, 6))
    return admin, document, time.perf_counter() - started


def bare_loop(lines: list[Line]) -> float:
    """The ceiling of a matcher in Python: one dict lookup per line, nothing else."""
    index = {(x.reference, x.amount, x.direction): x.line_no for x in lines}
    started = time.perf_counter()
    hits = 0
    for x in lines:
        if index.get((x.reference, x.amount, x.direction)) is not None:
            hits += 1
    elapsed = time.perf_counter() - started
    assert hits == len(lines)
    return elapsed


def run(n: int, backend: str, url: str | None) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with database(backend, url) as db:
        admin, document, setup_s = setup(db, n)
        statements.schema()  # the XSD compiled once per process (cached), as in a running server
        parsed_started = time.perf_counter()
        parsed = statements.parse(document, "ICBC")
        parse_s = time.perf_counter() - parsed_started
        with db.unit_of_work() as session:
            account = session.execute(select(TreasuryAccount)).scalar_one()
            ledger_id = session.execute(select(LedgerAccount.id).where(
                LedgerAccount.code == account.ledger_code)).scalar_one()
            candidates = service._candidates(session, account.id, ledger_id, MONTH - dt.timedelta(days=3),
                                             MONTH + dt.timedelta(days=30))
        started = time.perf_counter()
        matched_in_memory = service.match_lines(parsed.lines, candidates, 3)
        match_s = time.perf_counter() - started
        bare_s = bare_loop(parsed.lines)
        with time_machine.travel(dt.datetime(2026, 3, 29, 9, tzinfo=ZONE), tick=False):
            started = time.perf_counter()
            result = service.import_statement(db, admin, document, "ICBC")
            import_s = time.perf_counter() - started
        started = time.perf_counter()
        with db.unit_of_work() as session:
            counted = session.execute(select(func.count()).select_from(TreasuryStatementLine).where(
                TreasuryStatementLine.status == "matched")).scalar_one()
        count_s = time.perf_counter() - started
        backend = db.dialect
    assert counted == result.matched == sum(1 for t, _, _ in matched_in_memory if t is not None)
    expected_queued = sum(1 for i in range(n) if i % 200 == 3 or i % 500 == 7)
    assert result.queued == expected_queued, (result.queued, expected_queued)
    return {
        "date": now_iso(), "machine": machine(), "backend": backend, "lines": n, "matched": result.matched,
        "queued": result.queued, "setup_seconds": round(setup_s, 2),
        "match_seconds": round(match_s, 3), "match_lines_per_second": round(n / match_s),
        "import_seconds": round(import_s, 3), "import_lines_per_second": round(n / import_s),
        "ceiling_bare_loop_lines_per_second": round(n / bare_s),
        "ceiling_parse_validate_lines_per_second": round(n / parse_s),
        "ceiling_sql_count_seconds": round(count_s, 4), "target_lines_per_second": TARGET,
        "load_average_1m_before": round(load_before, 2), "load_average_1m": round(os.getloadavg()[0], 2),
    }


def summary(r: dict[str, Any]) -> list[dict[str, str]]:
    load = f"load {r['load_average_1m_before']} before, {r['load_average_1m']} after"
    return [{
        "what": f"statement lines matched (reference, amount, date window), {r['lines']:,}-entry camt.053; "
                f"and the whole import (MAC, parse + XSD, match, write, daily checks), {r['backend']}",
        "figure": f"**{r['match_lines_per_second']:,} lines/s** matching; {r['import_lines_per_second']:,} lines/s "
                  f"the whole import ({r['import_seconds']} s, {r['queued']:,} queued)",
        "ceiling": f"target ≥ {TARGET:,}/s; bare dict-lookup loop over the same lines "
                   f"{r['ceiling_bare_loop_lines_per_second']:,}/s; bare parse + XSD "
                   f"{r['ceiling_parse_validate_lines_per_second']:,} lines/s; SQL count of the matched lines "
                   f"{r['ceiling_sql_count_seconds']} s ({load})"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 lines (under a minute)")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=None, help="the PostgreSQL server (default $SSCARD_BENCH_POSTGRES_URL, …)")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.lines
    result = run(n, args.backend, args.url)
    result["summary"] = summary(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
