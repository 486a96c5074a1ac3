"""Benchmark: a month of pension payments end to end on PostgreSQL — batch build, file export, the simulated
bank answering the files, return import and bulk ledger posting — through ``run_disbursement_month``, the same
function ``sscard funds run`` calls. Beside it, in the same run on the same server: PostgreSQL COPY of the same
number of rows into a table with a primary key (the ceiling for "write a million rows once").

Setup (not timed): persons, payment accounts, simulated bank accounts (≈0.3 % of them frozen, closed, lost,
not activated or under another name, so the return has failures of every kind), pension entitlements with
their amounts and certifications — all loaded with COPY into a scratch database.

    python bench/disbursement.py [--payments 1000000] [--url postgresql://postgres@127.0.0.1:5432/test]
Writes bench/results/disbursement.json (with a "summary" list for bench/table.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

from common import machine, now_iso, scratch_database, server_url, url_string

from sscard import migrate
from sscard.access import SYSTEM_ACTOR
from sscard.bulksql import copy_rows
from sscard.db import Database
from sscard.funds.benefits import reissue
from sscard.funds.benefits import service as benefits
from sscard.ledger import chart
from sscard.ledger import service as ledger

RESULTS = Path(__file__).resolve().parent / "results" / "disbursement.json"
BANKS = ("ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB")
PERIOD = "2014-07"
TARGET_SECONDS = 60.0


def _bad_state(i: int) -> tuple[str, bool, str | None]:
    """(state, financial activated, other holder name) — one account in ~300 fails, each kind in turn."""
    if i % 331 != 7:
        return "normal", True, None
    kind = (i // 331) % 5
    return (("frozen", True, None), ("closed", True, None), ("lost", True, None), ("normal", False, None),
            ("normal", True, "王五"))[kind]


def load(db: Database, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work() as s:
        copy_rows(s, "persons", ("id", "id_number", "name", "sex", "birth_date", "ethnicity", "region_code",
                                 "living_status", "created_at", "updated_at", "version"),
                  ((i, f"44{i:016d}", f"退休{i}", "1", dt.date(1950, 1, 1), "01", "441802", "1", now, now, 1)
                   for i in range(1, n + 1)))
        copy_rows(s, "payment_accounts", ("person_id", "method", "bank_code", "account_no", "holder_name",
                                          "registered_by", "updated_at"),
                  ((i, "other", BANKS[i % 6], f"62{i:014d}", f"退休{i}", "bench", now) for i in range(1, n + 1)))
        rows = []
        for i in range(1, n + 1):
            state, activated, other = _bad_state(i)
            rows.append((BANKS[i % 6], f"62{i:014d}", other or f"退休{i}", f"44{i:016d}", state, activated, 0))
        copy_rows(s, "simbank_accounts", ("bank_code", "account_no", "holder_name", "id_number", "state",
                                          "financial_activated", "balance"), rows)
        copy_rows(s, "benefit_entitlements", ("id", "person_id", "kind", "fund", "start_period", "status",
                                              "created_by", "created_at"),
                  ((i, i, "pension", "pension", "2014-01", "active", "bench", now) for i in range(1, n + 1)))
        copy_rows(s, "benefit_amounts", ("entitlement_id", "from_period", "amount", "created_by", "created_at"),
                  ((i, "2014-01", 180_000 + (i % 97) * 100, "bench", now) for i in range(1, n + 1)))
        copy_rows(s, "benefit_certifications", ("id", "person_id", "certified_on", "method", "created_by",
                                                "created_at"),
                  ((i, i, dt.date(2014, 3, 1), "card", "bench", now) for i in range(1, n + 1)))
        for table in ("persons", "benefit_entitlements", "benefit_certifications"):
            s.execute(_text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def _text(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


def copy_ceiling(db: Database, n: int) -> float:
    """COPY n rows (id, amount, reference) into a fresh table with a primary key, in one transaction."""
    with db.unit_of_work() as s:
        s.execute(_text("CREATE TABLE bench_copy (id BIGINT PRIMARY KEY, amount BIGINT NOT NULL, ref TEXT NOT NULL)"))
    started = time.perf_counter()
    with db.unit_of_work() as s:
        copy_rows(s, "bench_copy", ("id", "amount", "ref"), ((i, 180_000 + i % 97, f"ben:{i}") for i in range(n)))
    return time.perf_counter() - started


def run_month(db: Database) -> dict[str, Any]:
    marks: list[tuple[str, float]] = []
    loads: list[float] = []  # 1-minute load average at every step: the machine is shared
    started = time.perf_counter()

    def progress(label: str, _done: int, _total: int) -> None:
        marks.append((label, time.perf_counter() - started))
        loads.append(os.getloadavg()[0])

    result = benefits.run_disbursement_month(db, SYSTEM_ACTOR, PERIOD, progress=progress)
    total = time.perf_counter() - started
    build = next(t for label, t in marks if ": export " in label)
    export = sum(b - a for (la, a), (_, b) in itertools.pairwise(marks) if ": export " in la)
    post = sum(b - a for (la, a), (_, b) in itertools.pairwise(marks) if ": return and post " in la)
    lines = sum(b.line_count for b in result.batches)
    failed = sum(b.failure_count for b in result.batches)
    return {"seconds": round(total, 2), "payments": lines, "failed_lines": failed,
            "per_second": round(lines / total, 1),
            "load_average_1m_during": {"min": round(min(loads), 2), "max": round(max(loads), 2),
                                       "mean": round(sum(loads) / len(loads), 2)},
            "steps_seconds": {"build (dues, holds, lines COPY)": round(build, 2),
                              "export + simulated bank (write file, judge, return file)": round(export, 2),
                              "return import + ledger post_many": round(post, 2)},
            "batches": [b.model_dump(mode="json") for b in result.batches]}


def check(db: Database, month: dict[str, Any]) -> dict[str, Any]:
    with db.unit_of_work() as s:
        zero = ledger.check_zero_sum(s)
        cleared = sum(ledger.balance(s, chart.BankClearing(b).code).credits_posted for b in BANKS)
    failures = reissue.failures(db, SYSTEM_ACTOR, limit=10_000_000)
    ok_amount = sum(b["success_amount"] for b in month["batches"])
    return {"ledger_zero_sum": zero.ok, "ledger_cleared_fen": cleared, "batches_success_fen": ok_amount,
            "reissue_queue": len(failures), "headers_balanced": all(
                b["success_count"] + b["failure_count"] == b["line_count"] for b in month["batches"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    n = args.payments
    with scratch_database(server_url(args.url), prefix="sscard_bench_disb") as url:
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        t0 = time.perf_counter()
        load(db, n)
        load_seconds = time.perf_counter() - t0
        load_avg = os.getloadavg()[0]
        month = run_month(db)
        copy_seconds = copy_ceiling(db, n)
        checks = check(db, month)
        db.dispose()
    result = {
        "when": now_iso(), "machine": machine(), "payments": n, "load_seconds": round(load_seconds, 1),
        "load_average_1m_before_run": round(load_avg, 2), "month": month, "checks": checks,
        "copy_ceiling": {"rows": n, "seconds": round(copy_seconds, 2)},
        "targets": {"seconds_for_1m": TARGET_SECONDS},
        "summary": [
            {"what": f"{n:,} pension payments end to end (build, export, simulated bank, return import, ledger "
                     "post), PostgreSQL",
             "figure": f"**{month['seconds']} s** ({month['per_second']:,.0f} payments/s; "
                       f"{month['failed_lines']:,} failed lines queued for re-issue; load {load_avg:.1f} before, "
                       f"{month['load_average_1m_during']['max']:.1f} at most during)",
             "ceiling": f"PostgreSQL COPY of {n:,} rows with a primary key: {copy_seconds:.2f} s; target ≤ 60 s "
                        "for 1,000,000"},
            *({"what": f"  {step}", "figure": f"{seconds} s", "ceiling": ""}
              for step, seconds in month["steps_seconds"].items()),
        ],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("summary", "checks")}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
