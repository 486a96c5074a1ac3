"""What every benchmark shares: a scratch PostgreSQL database, pgbench ceilings, latency summaries, machine info."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Benchmarks run on scratch databases with the public demo keys: dev mode (production mode refuses them);
# every server and CLI process a benchmark starts inherits it.
os.environ.setdefault("SSCARD_MODE", "dev")


def server_url(raw: str | None = None) -> sa.URL:
    raw = raw or os.environ.get("SSCARD_BENCH_POSTGRES_URL") or os.environ.get("SSCARD_TEST_POSTGRES_URL") \
        or DEFAULT_URL
    return sa.make_url(raw.replace("postgresql://", "postgresql+psycopg://", 1))


@contextmanager
def scratch_database(admin_url: sa.URL, prefix: str = "sscard_bench") -> Iterator[sa.URL]:
    """A database of the benchmark's own, dropped afterwards whatever happens."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def url_string(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def pgbench_tps(url: sa.URL, clients: int = 1, seconds: int = 10, scale: int = 1) -> float | None:
    """pgbench's TPC-B-like script on the given database: the ceiling for the same server in the same run."""
    if shutil.which("pgbench") is None:
        return None
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *args, str(url.database)], check=True,
                   capture_output=True)
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
                          "-T", str(seconds), *args, str(url.database)], check=True, capture_output=True,
                         text=True).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    return float(match.group(1)) if match else None


def latency_summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"count": len(ordered), "seconds": round(elapsed, 2), "per_second": round(len(ordered) / elapsed, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000, 2)}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
