"""Benchmark: settlements per second through the HTTP API on PostgreSQL, beside two ceilings from the same run.

  1. pgbench TPC-B-like (scale 8, 8 clients) on a scratch database;
  2. a bare FastAPI endpoint (uvicorn, 2 workers) doing one TPC-B-like transaction on pgbench's tables;
  3. sscard (uvicorn, 2 workers): POST /api/v1/medical/settlements (2207), each a real settlement of a small
     outpatient bill for one of --persons employees (by ID number), closed loop with 64 connections;
  4. the same at a fixed arrival rate (--rate, default 200/s): p99 measured from each request's scheduled
     start (so a stall is not hidden by the loader waiting for it).
Loader: httpx async on 127.0.0.1, bounded by --seconds and --max-requests; stops by itself.

    python bench/settlement.py [--seconds 15] [--rate 200] [--persons 200]
Writes bench/results/settlement.json (with a "summary" list for bench/table.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from common import latency_summary, machine, now_iso, pgbench_tps, scratch_database, server_url, url_string

from sscard import migrate
from sscard.auth.roles import SYSTEM_ACTOR
from sscard.db import Database
from sscard.medical import config, institutions, service
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY, _example_text
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.schemas import PersonIn

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "settlement.json"
CONNECTIONS = 64
LINES = [{"code": "EX-D-A001", "quantity": 3, "unit_price_fen": 2000},
         {"code": "EX-D-B001", "quantity": 1, "unit_price_fen": 9000}]


# ------------------------------------------------------------------------------------------ the bare endpoint


def bare_app() -> Any:
    """uvicorn factory: one TPC-B-like transaction per POST /tpcb (the ceiling for "FastAPI + one transaction")."""
    import sqlalchemy as sa
    from fastapi import FastAPI

    engine = sa.create_engine(os.environ["BENCH_BARE_URL"], pool_size=10, max_overflow=10)
    scale = int(os.environ.get("BENCH_BARE_SCALE", "8"))
    app = FastAPI()

    @app.post("/tpcb")
    def tpcb() -> dict[str, int]:
        aid, bid, tid = random.randint(1, 100_000 * scale), random.randint(1, scale), random.randint(1, 10 * scale)
        delta = random.randint(-5000, 5000)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE pgbench_accounts SET abalance = abalance + :d WHERE aid = :a"),
                         {"d": delta, "a": aid})
            balance = conn.execute(sa.text("SELECT abalance FROM pgbench_accounts WHERE aid = :a"),
                                   {"a": aid}).scalar_one()
            conn.execute(sa.text("UPDATE pgbench_tellers SET tbalance = tbalance + :d WHERE tid = :t"),
                         {"d": delta, "t": tid})
            conn.execute(sa.text("UPDATE pgbench_branches SET bbalance = bbalance + :d WHERE bid = :b"),
                         {"d": delta, "b": bid})
            conn.execute(sa.text("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                                 "VALUES (:t, :b, :a, :d, CURRENT_TIMESTAMP)"),
                         {"t": tid, "b": bid, "a": aid, "d": delta})
        return {"balance": int(balance)}

    return app


# ------------------------------------------------------------------------------------------ servers and loader


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(target: str, env: dict[str, str], app_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", "2", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if app_dir is not None:
        args += ["--app-dir", str(app_dir)]
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server {target} did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


Make = Any  # () -> (path, json body, headers)


async def closed_loop(base: str, make: Make, seconds: float, max_requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = [0]
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        stop_at = time.monotonic() + seconds

        async def one_connection() -> None:
            while time.monotonic() < stop_at and sent[0] < max_requests:
                sent[0] += 1
                path, body, headers = make()
                t = time.perf_counter()
                try:
                    r = await client.post(path, json=body, headers=headers)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t)
                else:
                    code = r.json().get("error", {}).get("code", str(r.status_code))
                    errors[code] = errors.get(code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    return {**latency_summary(latencies, elapsed), "errors": errors}


async def fixed_rate(base: str, make: Make, rate: float, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(30, pool=60)) as client:
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            path, body, headers = make()
            try:
                r = await client.post(path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            if r.status_code == 200:
                latencies.append(time.perf_counter() - scheduled)
            else:
                code = r.json().get("error", {}).get("code", str(r.status_code))
                errors[code] = errors.get(code, 0) + 1

        await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
        elapsed = time.perf_counter() - start
    return {**latency_summary(latencies, elapsed), "rate_offered": rate, "errors": errors}


# ------------------------------------------------------------------------------------------ setup


def seed(db: Database, persons: int) -> tuple[str, list[str]]:
    config.import_policy_file(db, SYSTEM_ACTOR, _example_text(EXAMPLE_POLICY), EXAMPLE_POLICY)
    config.import_catalogue_csv(db, SYSTEM_ACTOR, _example_text(EXAMPLE_CATALOGUE), EXAMPLE_CATALOGUE)
    key = institutions.create_institution(db, SYSTEM_ACTOR, "HBENCH01", "压测医院", "hospital", "3",
                                          ["outpatient", "inpatient"]).api_key
    numbers = []
    for n in range(persons):
        body = f"441802{1960 + n // 300:04d}0101{n % 300:03d}"
        number = body + check_digit(body)
        registry.register(db, SYSTEM_ACTOR, PersonIn(id_number=number, name="压测", region_code="441802"))
        service.enrol(db, SYSTEM_ACTOR, number, "employee", "in_service")
        service.credit_personal_account(db, SYSTEM_ACTOR, number, 10_000_000, f"bench:fund:{n}")
        numbers.append(number)
    return key, numbers


def settlement_maker(key: str, numbers: list[str]) -> Make:
    today = time.strftime("%Y-%m-%d")
    headers = {"X-Institution-Key": key}

    def make() -> tuple[str, dict[str, Any], dict[str, str]]:
        return ("/api/v1/medical/settlements",
                {"msg_id": uuid.uuid4().hex, "id_number": random.choice(numbers),
                 "bill": {"date": today, "visit_type": "outpatient", "lines": LINES}}, headers)

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-seconds", type=float, default=10)
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()

    admin_url = server_url(args.url)
    with scratch_database(admin_url, "sscard_bench_settle") as url:
        pgbench = pgbench_tps(url, clients=8, seconds=args.pgbench_seconds, scale=8)
        bare_proc, bare_base = start_server("settlement:bare_app", {"BENCH_BARE_URL": url_string(url)}, HERE)
        try:
            bare = asyncio.run(closed_loop(bare_base, lambda: ("/tpcb", {}, {}), args.seconds, args.max_requests))
        finally:
            stop_server(bare_proc)
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        t = time.perf_counter()
        key, numbers = seed(db, args.persons)
        seed_seconds = time.perf_counter() - t
        db.dispose()
        proc, base = start_server("sscard.api.app:create_app", {"SSCARD_DATABASE_URL": url_string(url),
                                                                "SSCARD_DEMO": "0"})
        try:
            make = settlement_maker(key, numbers)
            asyncio.run(closed_loop(base, make, 2, 500))  # warm-up: caches, connection pools
            closed = asyncio.run(closed_loop(base, make, args.seconds, args.max_requests))
            paced = asyncio.run(fixed_rate(base, make, args.rate, args.rate_seconds))
        finally:
            stop_server(proc)

    share = round(100 * closed["per_second"] / bare["per_second"], 1) if bare["per_second"] else None
    result = {
        "when": now_iso(), "machine": machine(), "connections": CONNECTIONS, "uvicorn_workers": 2,
        "persons": args.persons, "seed_seconds": round(seed_seconds, 1),
        "ceiling_pgbench_tpcb_8_clients_tps": pgbench, "ceiling_bare_fastapi_tpcb": bare,
        "settlements_closed_loop": closed, "settlements_fixed_rate": paced,
        "settlements_share_of_bare_percent": share,
        "targets": {"settlements_per_second": 500, "share_of_bare_percent": 40, "p99_ms_at_200_per_second": 25},
        "summary": [
            {"what": f"`bench/settlement.py` settlements (2207) via HTTP, uvicorn 2 workers, {CONNECTIONS} conns",
             "figure": f"**{closed['per_second']}/s**, p50 {closed['p50_ms']} ms, p99 {closed['p99_ms']} ms "
                       f"({share} % of bare endpoint)",
             "ceiling": f"bare FastAPI TPC-B endpoint {bare['per_second']}/s; pgbench TPC-B 8 clients {pgbench} tps"},
            {"what": f"  settlements at a fixed {args.rate:.0f}/s",
             "figure": f"p50 {paced['p50_ms']} ms, p99 {paced['p99_ms']} ms (achieved {paced['per_second']}/s)",
             "ceiling": "target p99 ≤ 25 ms"},
        ],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
