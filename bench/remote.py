"""Benchmark: cross-region settlements per second through the provincial hub, beside local settlement in the
same run (docs/cross-region.md "Performance").

Three processes on loopback as in tests/remote (tests/support/remote_world.py) — 清远 441800 and 韶关 440200
(both on PostgreSQL here, scratch databases, one ``sscard serve`` worker each) and the hub (``sscard hub serve``,
its own PostgreSQL scratch database here) — and, in the same run:

  1. local: 2207 at the 清远 hospital for 清远 insured (by ID number: persons without a card, no proof of card
     presence — the remote path does not check one either, see the docs), closed loop, --clients concurrent;
  2. remote: 2207 at the 清远 hospital for 韶关 cardholders with 备案 — 清远 classifies, the hub relays, 韶关
     splits and books, 清远 books — closed loop, --clients concurrent;
  3. remote at a fixed arrival rate (--rate, default 50/s): p99 from each request's scheduled start.

``remote_share_of_local`` = remote/s ÷ local/s (target ≥ 0.40); ``p99_ms_at_50`` (target ≤ 50).

Beside each closed-loop run: the CPU each process spent per settlement (the two centres, the hub and all of
PostgreSQL's processes, from /proc), to say where a remote settlement's milliseconds go.

``--workers`` (default 2): each centre's ``sscard serve --workers``, as bench/settlement.py serves local
2207 — with one, local 2207 is held to one server process while the remote path runs on three (two centres
and the hub), which flatters the share; ``--also-workers 1`` repeats the runs with one worker per centre
(``other_workers`` in the JSON). ``setup.workers_choice`` says why.

    python bench/remote.py [--quick] [--seconds 10] [--clients 16] [--rate 50] [--workers 2] [--also-workers 1]
Writes bench/results/remote.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx
import sqlalchemy as sa
from common import latency_summary, machine, now_iso, scratch_database, server_url, url_string

from sscard import clock, migrate
from sscard.db import Database
from sscard.medical import service as medical
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.factories import next_id_number
from support.remote_world import Centre, World, start_world

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "remote.json"
LINES = [{"code": "EX-D-A001", "quantity": 3, "unit_price_fen": 2000},
         {"code": "EX-D-B001", "quantity": 1, "unit_price_fen": 9000}]


WORKERS_CHOICE = {
    1: "one worker per centre: local 2207 then runs on one server process and its figure is that process's "
       "ceiling, while remote 2207 runs on three (two centres and the hub) — the share looks better than it is",
    2: "two workers per centre (the committed run's choice), as bench/settlement.py serves local 2207: the "
       "fair comparison — local is not held to one process while remote spreads over three; five server "
       "processes then share the two cores with PostgreSQL",
}


def _local_people(centre: Centre, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        number = next_id_number()
        registry.register(centre.db, centre.world.counter, PersonIn(id_number=number, name="本地测试",
                                                                    region_code="441802"))
        medical.enrol(centre.db, centre.world.admin, number, "employee", "in_service")
        medical.credit_personal_account(centre.db, centre.world.admin, number, 10_000_000, f"b:{uuid.uuid4().hex}")
        numbers.append(number)
    return numbers


def _bodies(world: World, count: int) -> tuple[list[str], list[str]]:
    qy, sg = world.qy, world.sg
    locals_ = _local_people(qy, count)
    remotes = []
    for _ in range(count):
        who = sg.insured(balance_fen=10_000_000)
        sg.register(who, "long_term_resident", qy.region)
        remotes.append(who.card_no)
    return locals_, remotes


def _body(local: str | None, card: str | None) -> bytes:
    ident: dict[str, Any] = {"id_number": local} if local else {"card_no": card, "insuplc_admdvs": "440200"}
    return json.dumps({"msg_id": uuid.uuid4().hex, **ident, "bill": {
        "date": clock.local_date().isoformat(), "visit_type": "outpatient", "lines": LINES}}).encode()


async def _closed(url: str, key: str, make: Any, seconds: float, clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    stop = time.monotonic() + seconds
    headers = {"X-Institution-Key": key, "Content-Type": "application/json"}

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            i = n
            while time.monotonic() < stop:
                started = time.monotonic()
                answer = await client.post(url, content=make(i), headers=headers)
                if answer.status_code == 200:
                    latencies.append(time.monotonic() - started)
                else:
                    errors[answer.status_code] = errors.get(answer.status_code, 0) + 1
                i += clients

    begun = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    return {**latency_summary(latencies, time.monotonic() - begun), "errors": errors}


async def _rate(url: str, key: str, make: Any, seconds: float, rate: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    headers = {"X-Institution-Key": key, "Content-Type": "application/json"}
    count = int(seconds * rate)
    begun = time.monotonic()
    async with httpx.AsyncClient(trust_env=False, timeout=30,
                                 limits=httpx.Limits(max_connections=200)) as client:
        async def one(i: int) -> None:
            scheduled = begun + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            answer = await client.post(url, content=make(i), headers=headers)
            if answer.status_code == 200:
                latencies.append(time.monotonic() - scheduled)  # from the scheduled start
            else:
                errors[answer.status_code] = errors.get(answer.status_code, 0) + 1

        await asyncio.gather(*(one(i) for i in range(count)))
    return {**latency_summary(latencies, time.monotonic() - begun), "errors": errors, "rate": rate}


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_by_pid(pid: int) -> dict[int, float]:
    """CPU seconds (utime + stime) so far of ``pid`` and of each of its direct children (uvicorn's workers),
    by pid; empty where /proc is not there."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings, per process (one started meanwhile counts from its start)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def _backend_cpu(engine: sa.Engine, databases: list[str]) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``databases`` (by pid, from /proc)."""
    with engine.connect() as conn:
        pids = [int(p) for (p,) in conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = ANY(:d)"),
                                               {"d": databases})]
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _measured(run: Any, pids: dict[str, int], backends: Any) -> dict[str, Any]:
    """``run()``'s result with the CPU milliseconds per settlement of each process (PostgreSQL: the backends
    of the run's three databases, each counted from its own start if it connected during the run)."""
    before = {name: _cpu_by_pid(pid) for name, pid in pids.items()}
    pg_before = backends()
    result: dict[str, Any] = run()
    count = max(1, result["count"])
    cpu = {name: round(_spent(before[name], _cpu_by_pid(pid)) * 1000 / count, 2) for name, pid in pids.items()}
    cpu["postgresql"] = round(_spent(pg_before, backends()) * 1000 / count, 2)
    cpu["total"] = round(sum(cpu.values()), 2)
    return {**result, "cpu_ms_per_settlement": cpu}


def _cpu_line(run: dict[str, Any]) -> str:
    cpu = run["cpu_ms_per_settlement"]
    parts = " / ".join(str(cpu[k]) for k in ("treating_centre", "home_centre", "hub", "postgresql"))
    return f"{parts} = {cpu['total']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (< 60 s in all)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--persons", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="each centre's sscard serve --workers")
    parser.add_argument("--also-workers", type=int, default=0,
                        help="then the same runs again with this many workers per centre (other_workers)")
    args = parser.parse_args()
    result = _run(args, args.workers)
    if args.also_workers:
        other = _run(args, args.also_workers)
        result["other_workers"] = {k: other[k] for k in (
            "when", "load_average_1m_before", "load_average_1m_after", "setup", "local", "remote",
            "remote_at_rate", "remote_share_of_local", "p99_ms_at_50", "ledgers_balance", "wall_seconds")}
        o = result["other_workers"]
        result["summary"].append(
            {"what": f"  the same with {args.also_workers} workers per centre (other_workers)",
             "figure": f"remote {o['remote']['per_second']}/s = {o['remote_share_of_local']} of local "
                       f"{o['local']['per_second']}/s; p99 at {args.rate:g}/s {o['p99_ms_at_50']} ms "
                       f"(load {o['load_average_1m_before']} → {o['load_average_1m_after']})",
             "ceiling": "targets ≥ 0.40, ≤ 50 ms"})
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("remote_share_of_local", "p99_ms_at_50", "wall_seconds")}))
    for run in (result, result.get("other_workers")):
        if run:
            print(f"workers {run['setup']['workers_per_centre']}: local {run['local']['per_second']}/s, remote "
                  f"{run['remote']['per_second']}/s, p99 at {args.rate}/s {run['p99_ms_at_50']} ms; "
                  f"load {run['load_average_1m_before']}")


def _run(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """One world with ``workers`` per centre, the three runs, the result (with its summary rows)."""
    seconds, persons = (3.0, 8) if args.quick else (args.seconds, args.persons)
    began = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str, since: float) -> float:
        now = time.monotonic()
        phases[name] = round(now - since, 1)
        return now
    admin = server_url()
    with scratch_database(admin, "sscard_bench_qy") as qy_url, scratch_database(admin, "sscard_bench_hub") as hub_url, \
            tempfile.TemporaryDirectory() as tmp:
        mark = time.monotonic()
        migrate.upgrade(url_string(qy_url))
        sg_url = qy_url.set(database=f"{qy_url.database}_sg")  # 韶关: a copy of the migrated schema
        bank_url = qy_url.set(database=f"{qy_url.database}_bank")  # the loopback bank: another copy
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for copy in (sg_url, bank_url):
                conn.exec_driver_sql(f'CREATE DATABASE "{copy.database}" TEMPLATE "{qy_url.database}"')
        world = start_world(Database(url_string(qy_url)), Database(url_string(sg_url)), Path(tmp),
                            {"SSCARD_LOG_JSON": "false"}, hub_db_url=url_string(hub_url),
                            bank_db_url=url_string(bank_url), workers=workers)
        mark = phase("databases_and_processes", mark)
        try:
            locals_, remotes = _bodies(world, persons)
            mark = phase("persons", mark)
            settle_url = f"{world.qy.url}/api/v1/medical/settlements"
            key = world.qy.hospital_key

            def local(i: int) -> bytes:
                return _body(locals_[i % len(locals_)], None)

            def remote(i: int) -> bytes:
                return _body(None, remotes[i % len(remotes)])

            asyncio.run(_closed(settle_url, key, remote, 0.5, 4))  # warm both paths
            asyncio.run(_closed(settle_url, key, local, 0.5, 4))
            load = os.getloadavg()[0]
            assert world.qy.proc and world.sg.proc and world.hub.proc
            pids = {"treating_centre": world.qy.proc.pid, "home_centre": world.sg.proc.pid,
                    "hub": world.hub.proc.pid}
            databases = [str(u.database) for u in (qy_url, sg_url, hub_url)]

            def backends() -> dict[int, float]:
                return _backend_cpu(engine, databases)
            local_run = _measured(lambda: asyncio.run(_closed(settle_url, key, local, seconds, args.clients)), pids,
                                  backends)
            remote_run = _measured(lambda: asyncio.run(_closed(settle_url, key, remote, seconds, args.clients)),
                                   pids, backends)
            at_rate = asyncio.run(_rate(settle_url, key, remote, seconds, args.rate))
            mark = phase("runs", mark)
            zero = world.qy.zero_sum() and world.sg.zero_sum()
        finally:
            world.stop()
            for db in (world.qy.db, world.sg.db):
                db.dispose()
            with engine.connect() as conn:
                for copy in (sg_url, bank_url):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)')
    share = round(remote_run["per_second"] / local_run["per_second"], 3) if local_run["per_second"] else 0.0
    result = {
        "bench": "remote", "when": now_iso(), "machine": machine(), "quick": args.quick,
        "load_average_1m_before": round(load, 2), "load_average_1m_after": round(os.getloadavg()[0], 2),
        "setup": {"clients": args.clients, "seconds": seconds, "persons": persons,
                  "centres": f"2 × sscard serve ({workers} worker{'s' if workers > 1 else ''} each) and "
                             "the hub, each on its own PostgreSQL database, loopback", "bill": LINES,
                  "workers_per_centre": workers, "workers_choice": WORKERS_CHOICE.get(workers, "")},
        "local": local_run, "remote": remote_run, "remote_at_rate": at_rate,
        "remote_share_of_local": share, "remote_share_target": 0.40,
        "p99_ms_at_50": at_rate["p99_ms"], "p99_target_ms": 50, "ledgers_balance": zero,
        "wall_seconds": round(time.monotonic() - began, 1), "phases_seconds": phases,
    }
    load_note = f"load {result['load_average_1m_before']} → {result['load_average_1m_after']}"
    result["summary"] = [
        {"what": f"remote 2207 through the hub ({args.clients} clients, 3 processes + PostgreSQL, {workers} "
                 f"worker{'s' if workers > 1 else ''} per centre)",
         "figure": f"**{remote_run['per_second']}/s** = {share} of local {local_run['per_second']}/s; "
                   f"p50 {remote_run['p50_ms']} ms ({load_note})",
         "ceiling": "target share ≥ 0.40 (local 2207 in the same run)"},
        {"what": "CPU per settlement, ms (treating centre / home centre / hub / PostgreSQL)",
         "figure": f"remote {_cpu_line(remote_run)}", "ceiling": f"local {_cpu_line(local_run)}"},
        {"what": f"remote 2207 at a fixed {args.rate:g}/s, p99 from the scheduled start",
         "figure": f"**{at_rate['p99_ms']} ms** (served {at_rate['per_second']}/s, errors {at_rate['errors']})",
         "ceiling": "target ≤ 50 ms"},
    ]
    return result


if __name__ == "__main__":
    main()
