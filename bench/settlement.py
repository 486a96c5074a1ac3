"""Benchmark: settlements per second through the HTTP API on PostgreSQL, beside two ceilings from the same run.

  1. pgbench TPC-B-like (scale 8, 8 clients) on a scratch database;
  2. a bare FastAPI endpoint (uvicorn, 2 workers) doing one TPC-B-like transaction on pgbench's tables;
  3. sscard (uvicorn, 2 workers): POST /api/v1/medical/settlements (2207), each a real settlement of a small
     outpatient bill for one of --persons employees by card, each request with the card's proof of presence
     (the chip's ARQC over the exact body, ``X-Card-Presence``; precomputed on the cards' chips before the
     runs, so the loader only sends bytes), closed loop with 64 connections;
  4. the same at a fixed arrival rate (--rate, default 200/s): p99 measured from each request's scheduled
     start (so a stall is not hidden by the loader waiting for it).
Loader: a small asyncio HTTP/1.1 client on 127.0.0.1 (see ``Connection``), bounded by --seconds and
--max-requests; stops by itself. The closed-loop runs are repeated (--repeat) and the median reported, with
every run in the JSON; each run also records the CPU per request of the server, of PostgreSQL and of the loader.

    python bench/settlement.py [--seconds 15] [--repeat 3] [--rate 200] [--persons 200]
Writes bench/results/settlement.json (with a "summary" list for bench/table.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import latency_summary, machine, now_iso, pgbench_tps, scratch_database, server_url, url_string
from sqlalchemy import select

from sscard import migrate
from sscard.access import SYSTEM_ACTOR
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.cards.personalisation import holder_data
from sscard.cards.states import ProductionStatus
from sscard.chip import VirtualCard
from sscard.chip.personalise import personalise
from sscard.db import Database
from sscard.kms import KeyManager
from sscard.medical import config, institutions, service
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY, _example_text
from sscard.medical.presence import HEADER
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.models import Person
from sscard.registry.regions import CITY_CODE
from sscard.registry.schemas import PersonIn
from sscard.terminal import Terminal, VirtualReader
from sscard.terminal.payment import settlement_cryptogram

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


def start_server(target: str, env: dict[str, str], app_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", "2", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if app_dir is not None:
        args += ["--app-dir", str(app_dir)]
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server {target} did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection on loopback, written on asyncio streams.

    Why not httpx: with 64 concurrent connections its pool costs ~6 ms of loader CPU per request, so on this
    2-core machine the loader, not the server, set the figure (≈150 requests/s even against an endpoint that
    does nothing). This client only speaks what uvicorn answers: status line, headers, Content-Length body."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any] | bytes | None,
                   headers: dict[str, str]) -> tuple[int, bytes]:
        """POST ``body`` to ``path``; a GET when ``body`` is None."""
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is None:
            self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        else:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                              f"Content-Length: {len(data)}\r\n{head}\r\n".encode() + data)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" not in fields:
            raise RuntimeError(f"response without Content-Length: {fields}")
        payload = await self.reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


Make = Callable[[], tuple[str, dict[str, Any] | bytes | None, dict[str, str]]]  # body None: a GET


async def _one(conn: Connection, make: Make, errors: dict[str, int]) -> bool:
    path, body, headers = make()
    try:
        status, payload = await conn.post(path, body, headers)
    except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
        conn.close()
        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        return False
    if 200 <= status < 300:
        return True
    try:
        code = str(json.loads(payload).get("error", {}).get("code", status))
    except ValueError:
        code = str(status)
    errors[code] = errors.get(code, 0) + 1
    return False


async def closed_loop(port: int, make: Make, seconds: float, max_requests: int) -> dict[str, Any]:
    """CONNECTIONS clients, each sending its next request as soon as the previous answer arrives."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = [0]
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        conn = Connection(port)
        while time.monotonic() < stop_at and sent[0] < max_requests:
            sent[0] += 1
            t = time.perf_counter()
            if await _one(conn, make, errors):
                latencies.append(time.perf_counter() - t)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONNECTIONS)))
    return {**latency_summary(latencies, time.perf_counter() - started), "errors": errors}


async def fixed_rate(port: int, make: Make, rate: float, seconds: float) -> dict[str, Any]:
    """Requests scheduled at a fixed rate over at most CONNECTIONS connections; latency counts from the
    scheduled start, so time spent waiting for a free connection (a stalled server) is included."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        idle.put_nowait(Connection(port))
    start = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        conn = await idle.get()
        try:
            if await _one(conn, make, errors):
                latencies.append(time.perf_counter() - scheduled)
        finally:
            idle.put_nowait(conn)

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return {**latency_summary(latencies, elapsed), "rate_offered": rate, "errors": errors}


# ------------------------------------------------------------------------------------------ setup


def seed(db: Database, persons: int, keys: KeyManager) -> tuple[str, dict[str, VirtualCard]]:
    """The example policy and catalogue, a hospital, and ``persons`` funded employees each with an activated
    card whose chip is personalised with ``keys`` (the chip, in memory, is the card at the bench's counter)."""
    config.load_initial(db, SYSTEM_ACTOR, _example_text(EXAMPLE_POLICY), _example_text(EXAMPLE_CATALOGUE),
                        EXAMPLE_POLICY, EXAMPLE_CATALOGUE)
    key = institutions.create_institution(db, SYSTEM_ACTOR, "HBENCH01", "压测医院", "hospital", "3",
                                          ["outpatient", "inpatient"]).api_key
    auth.create_outlet(db, SYSTEM_ACTOR, "B01", "压测网点", "441802", "hrss")
    chips = {}
    for n in range(persons):
        body = f"441802{1960 + n // 300:04d}0101{n % 300:03d}"
        number = body + check_digit(body)
        registry.register(db, SYSTEM_ACTOR, PersonIn(id_number=number, name="压测", region_code="441802"))
        card_no = cards.apply_new(db, SYSTEM_ACTOR, number).card.card_no
        for step in ("10", "20", "30", "60"):
            cards.advance_production(db, SYSTEM_ACTOR, card_no, ProductionStatus(step),
                                     outlet_code="B01" if step == "60" else None)
        cards.pick_up(db, cards.at_outlet_of(db, SYSTEM_ACTOR, card_no), card_no)
        cards.activate(db, SYSTEM_ACTOR, card_no, "408213")
        with db.unit_of_work() as session:
            card = session.execute(select(Card).where(Card.card_no == card_no)).scalar_one()
            holder = holder_data(session.get_one(Person, card.person_id), card, datetime.date.today(), 10)
        chips[card_no] = personalise(holder, keys.card_keys(holder))
        service.enrol(db, SYSTEM_ACTOR, number, "employee", "in_service")
        service.credit_personal_account(db, SYSTEM_ACTOR, number, 10_000_000, f"bench:fund:{n}")
    return key, chips


def settlement_requests(chips: dict[str, VirtualCard], count: int) -> list[tuple[bytes, str]]:
    """``count`` 2207 bodies (exact bytes) for random cards, each with its card's proof of presence: the
    chip's ARQC over those bytes (select the debit application, GPO, GENERATE AC; what the counter's terminal
    does after reading the card through its PSAM)."""
    today = datetime.date.today()
    numbers = list(chips)
    out = []
    for _ in range(count):
        card_no = random.choice(numbers)
        raw = json.dumps({"msg_id": uuid.uuid4().hex, "card_no": card_no,
                          "bill": {"date": today.isoformat(), "visit_type": "outpatient", "lines": LINES}},
                         separators=(",", ":")).encode()
        terminal = Terminal(VirtualReader(chips[card_no]), VirtualReader(chips[card_no]))
        terminal.select_ssse()  # the card's algorithm (the PSAM reading is the terminal's side, not timed here)
        out.append((raw, settlement_cryptogram(terminal, raw, today).header))
    return out


def settlement_maker(key: str, requests: list[tuple[bytes, str]]) -> Make:
    """Sends the precomputed requests in order, each once (a second use would be a replayed message)."""
    pending = iter(requests)

    def make() -> tuple[str, bytes, dict[str, str]]:
        try:
            raw, proof = next(pending)
        except StopIteration:
            raise RuntimeError("out of precomputed settlement requests: raise their count") from None
        return "/api/v1/medical/settlements", raw, {"X-Institution-Key": key, HEADER: proof}

    return make


def _cpu_seconds(pids: list[str]) -> float:
    """CPU time (user + system) these processes have used so far; a process gone meanwhile counts nothing."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _pgrep(*args: str) -> list[str]:
    return subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()


def _server_cpu_seconds(pid: int) -> float:
    """The uvicorn workers' CPU: the server's cost per request, a figure the other load on a shared machine
    disturbs much less than requests per second."""
    return _cpu_seconds([str(pid), *_pgrep("-P", str(pid))])


def _postgres_cpu_seconds() -> float:
    """CPU time of every process named postgres on this machine (the server and its backends)."""
    return _cpu_seconds(_pgrep("-x", "postgres"))


def backend_cpu(db: Database, name: str) -> dict[int, int]:
    """CPU ticks (user + system) used so far by each PostgreSQL backend connected to database ``name``."""
    with db.engine.connect() as conn:
        pids = [int(r[0]) for r in conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))]
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = int(fields[11]) + int(fields[12])
    return out


OwnDb = tuple[Database, str]  # the benchmark's own database (an engine to ask, its name)


def measured(proc: subprocess.Popen[bytes], run: Callable[[], dict[str, Any]],
             own_db: OwnDb | None = None) -> dict[str, Any]:
    """``run`` with the 1-minute load average before it and the CPU milliseconds per request spent by the server,
    by PostgreSQL and by the loader (this process), so the three shares of the two cores can be told apart.
    ``postgres_cpu_ms_per_request`` is every postgres process on the machine (other work included, and a backend
    that exits during the run takes its CPU with it: it can even come out negative); with ``own_db``,
    ``postgres_own_db_cpu_ms_per_request`` is only the backends connected to the benchmark's database (the
    server's pools keep theirs for the whole run; one that appears during the run counts in full)."""
    load, cpu, pg, own = os.getloadavg()[0], _server_cpu_seconds(proc.pid), _postgres_cpu_seconds(), os.times()
    ticks = backend_cpu(*own_db) if own_db else {}
    result = run()
    after, pg_after, own_after = _server_cpu_seconds(proc.pid), _postgres_cpu_seconds(), os.times()
    count = result["count"]

    def per(seconds: float | None) -> float | None:
        return None if seconds is None or not count else round(1000 * seconds / count, 2)

    extra: dict[str, Any] = {}
    if own_db:
        used = sum(t - ticks.get(pid, 0) for pid, t in backend_cpu(*own_db).items())
        extra["postgres_own_db_cpu_ms_per_request"] = per(used / os.sysconf("SC_CLK_TCK"))
    return {**result, "server_cpu_ms_per_request": per(after - cpu),
            "postgres_cpu_ms_per_request": per(pg_after - pg), **extra,
            "loader_cpu_ms_per_request": per(own_after.user + own_after.system - own.user - own.system),
            "load_average_1m": round(load, 2)}


def repeated(proc: subprocess.Popen[bytes], run: Callable[[], dict[str, Any]], times: int,
             own_db: OwnDb | None = None) -> dict[str, Any]:
    """``measured`` ``times`` times: the run with the median rate, and every run's rate and CPU figures (a
    single run on this shared 2-core machine varied by about ±8 %)."""
    runs = [measured(proc, run, own_db) for _ in range(max(1, times))]
    median = sorted(runs, key=lambda r: r["per_second"])[len(runs) // 2]
    keys = ("per_second", "p99_ms", "server_cpu_ms_per_request", "postgres_cpu_ms_per_request",
            "postgres_own_db_cpu_ms_per_request", "load_average_1m")
    return {**median, "runs": [{k: r[k] for k in keys if k in r} for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--repeat", type=int, default=3,
                        help="closed-loop runs of the bare endpoint and of sscard; the median is reported")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-seconds", type=float, default=10)
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--url", default=None)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON (default: %(default)s)")
    args = parser.parse_args()

    admin_url = server_url(args.url)
    with scratch_database(admin_url, "sscard_bench_settle") as url:
        pgbench_load = os.getloadavg()[0]
        tps = pgbench_tps(url, clients=8, seconds=args.pgbench_seconds, scale=8)
        pgbench = None if tps is None else round(tps, 1)
        bare_proc, bare_port = start_server("settlement:bare_app", {"BENCH_BARE_URL": url_string(url)}, HERE)
        try:
            asyncio.run(closed_loop(bare_port, lambda: ("/tpcb", {}, {}), 2, 500))  # warm-up, as below
            bare = repeated(bare_proc, lambda: asyncio.run(
                closed_loop(bare_port, lambda: ("/tpcb", {}, {}), args.seconds, args.max_requests)), args.repeat)
        finally:
            stop_server(bare_proc)
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        t = time.perf_counter()
        keystore = Path(tempfile.mkdtemp(prefix="sscard-bench-keys-")) / "keystore.json"  # throw-away keys
        keys = KeyManager.provisioned(keystore, CITY_CODE)  # the server verifies with the same keystore
        key, chips = seed(db, args.persons, keys)
        seed_seconds = time.perf_counter() - t
        # Every request of the runs below, with its proof: warm-up, the closed-loop runs (bounded by
        # --max-requests and by what 2 cores could answer in --seconds), the fixed-rate run.
        per_run = min(args.max_requests, int(args.seconds * 1500))
        requests = settlement_requests(chips, 500 + args.repeat * per_run + int(args.rate * args.rate_seconds * 1.2))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # statistics, as a database in service has them
        db.dispose()
        proc, port = start_server("sscard.api.app:create_app", {"SSCARD_DATABASE_URL": url_string(url),
                                                                "SSCARD_DEMO": "0", "SSCARD_KEYSTORE": str(keystore)})
        try:
            make = settlement_maker(key, requests)
            asyncio.run(closed_loop(port, make, 2, 500))  # warm-up: caches, connection pools
            closed = repeated(proc, lambda: asyncio.run(closed_loop(port, make, args.seconds, args.max_requests)),
                              args.repeat)
            paced = measured(proc, lambda: asyncio.run(fixed_rate(port, make, args.rate, args.rate_seconds)))
        finally:
            stop_server(proc)

    share = round(100 * closed["per_second"] / bare["per_second"], 1) if bare["per_second"] else None

    def spread(m: dict[str, Any]) -> str:
        return " / ".join(f"{r['per_second']:,}" for r in m["runs"])

    result = {
        "when": now_iso(), "machine": machine(), "connections": CONNECTIONS, "uvicorn_workers": 2,
        "persons": args.persons, "seed_seconds": round(seed_seconds, 1),
        "ceiling_pgbench_tpcb_8_clients_tps": pgbench, "ceiling_pgbench_load_average_1m": round(pgbench_load, 2),
        "ceiling_bare_fastapi_tpcb": bare,
        "settlements_closed_loop": closed, "settlements_fixed_rate": paced,
        "settlements_share_of_bare_percent": share,
        "targets": {"settlements_per_second": 500, "share_of_bare_percent": 40, "p99_ms_at_200_per_second": 25},
        "summary": [
            {"what": f"settlements (2207) through the HTTP API, PostgreSQL, uvicorn 2 workers, {CONNECTIONS} "
                     "connections",
             "figure": f"**{closed['per_second']:,}/s** (median of {spread(closed)}), p50 {closed['p50_ms']} ms, "
                       f"p99 {closed['p99_ms']} ms ({share} % of the bare endpoint; CPU per settlement: server "
                       f"{closed['server_cpu_ms_per_request']} ms, PostgreSQL {closed['postgres_cpu_ms_per_request']}"
                       f" ms; load {closed['load_average_1m']})",
             "ceiling": f"bare FastAPI endpoint, one TPC-B-like transaction: {bare['per_second']:,}/s (median of "
                        f"{spread(bare)}; server CPU {bare['server_cpu_ms_per_request']} ms per request); pgbench "
                        f"TPC-B, 8 clients: {pgbench} tps; target ≥ 500/s and ≥ 40 %"},
            {"what": f"  settlements at a fixed {args.rate:.0f}/s",
             "figure": f"p50 {paced['p50_ms']} ms, p99 {paced['p99_ms']} ms (achieved {paced['per_second']}/s; "
                       f"load {paced['load_average_1m']})",
             "ceiling": "target p99 ≤ 25 ms"},
        ],
    }
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
