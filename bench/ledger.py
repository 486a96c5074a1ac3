"""Benchmark: ledger transfers per second on PostgreSQL, each in its own transaction through the service.

Scenarios (each runs for --seconds):
  1. single thread, hot accounts: person account (never negative) ↔ fund pool ↔ hospital;
  2. 8 threads, the same three hot accounts (every transfer waits for the row locks of the one before);
  3. 8 threads, spread: each thread moves between its own accounts (no shared rows).
Ceilings in the same run on the same database: pgbench TPC-B-like with 1 and with 8 clients.

    python bench/ledger.py [--seconds 10] [--pgbench-seconds 10] [--url postgresql://postgres@127.0.0.1:5432/test]
Writes bench/results/ledger.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from pathlib import Path

from common import machine, now_iso, pgbench_tps, scratch_database, server_url, url_string

from sscard import migrate
from sscard.db import Database
from sscard.errors import DomainError
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferIn

RESULTS = Path(__file__).resolve().parent / "results" / "ledger.json"


def open_accounts(db: Database, prefix: str, funded: int) -> tuple[str, str, str]:
    pool, person, hospital = f"{prefix}:pool", f"{prefix}:person", f"{prefix}:hospital"
    with db.unit_of_work() as s:
        ledger.create_account(s, pool, "liability")
        ledger.create_account(s, person, "medical_personal", debits_must_not_exceed_credits=True)
        ledger.create_account(s, hospital, "payable")
        ledger.transfer(s, TransferIn(id=f"{prefix}:seed", debit_account=pool, credit_account=person, amount=funded))
    return pool, person, hospital


def run(db: Database, threads: int, seconds: float, accounts: list[tuple[str, str, str]]) -> dict[str, float]:
    """Each thread alternates a top-up (pool → person) and a spend (person → hospital) on its accounts."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    refused = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(t: int) -> None:
        pool, person, hospital = accounts[t % len(accounts)]
        run_id = uuid.uuid4().hex[:8]
        barrier.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            debit, credit = (pool, person) if n % 2 == 0 else (person, hospital)
            item = TransferIn(id=f"{run_id}:{t}:{n}", debit_account=debit, credit_account=credit, amount=100 + n % 7,
                              code="bench")
            t0 = time.perf_counter()
            try:
                with db.unit_of_work() as s:
                    ledger.transfer(s, item)
            except DomainError:
                refused[t] += 1
            latencies[t].append(time.perf_counter() - t0)
            n += 1

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    return {"threads": threads, "transfers": len(flat), "refused": sum(refused), "seconds": round(elapsed, 2),
            "per_second": round(len(flat) / elapsed, 1), "p50_ms": round(statistics.median(flat) * 1000, 2),
            "p99_ms": round(flat[int(len(flat) * 0.99) - 1] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="server URL (default: SSCARD_BENCH_POSTGRES_URL or local)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-scale", type=int, default=8)
    args = parser.parse_args()

    with scratch_database(server_url(args.url)) as url:
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        hot = [open_accounts(db, "hot", 10**12)]
        spread = [open_accounts(db, f"spread{t}", 10**12) for t in range(8)]
        scenarios = {}
        for label, threads, accounts in (("single_thread_hot", 1, hot), ("8_threads_hot", 8, hot),
                                         ("8_threads_spread", 8, spread)):
            scenarios[label] = run(db, threads, args.seconds, accounts)
            print(label, scenarios[label], flush=True)
        with db.unit_of_work() as s:
            zero_ok = ledger.check_zero_sum(s).ok
            drift = ledger.accounts_not_matching_journal(s)
        ceilings = {f"pgbench_tpcb_{c}_client_tps": pgbench_tps(url, c, args.pgbench_seconds, args.pgbench_scale)
                    for c in (1, 8)}
        print(ceilings, flush=True)
        result = {
            "name": "ledger",
            "date": now_iso(),
            "machine": machine(),
            "database": "postgresql",
            "server_version": db.engine.dialect.server_version_info,
            "seconds_per_scenario": args.seconds,
            "scenarios": scenarios,
            "zero_sum_ok": zero_ok,
            "accounts_not_matching_journal": drift,
            "ceilings": ceilings | {"pgbench_scale": args.pgbench_scale, "pgbench_seconds": args.pgbench_seconds},
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False))
        db.dispose()


if __name__ == "__main__":
    main()
