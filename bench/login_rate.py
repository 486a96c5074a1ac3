"""Benchmark: how many password guesses per second an attacker gets against one operator account.

An unauthenticated attacker hammers ``POST /api/v1/auth/token`` for one user name with wrong passwords from
--connections keep-alive connections, for --seconds (at most 20). The server (uvicorn in this process, on
127.0.0.1, a scratch SQLite database migrated to head, policy as seeded) answers every request with the same
401 ``AUTH_FAILED``; what matters is how many of those requests had their password actually checked — the
guesses that could have succeeded. They are counted from the audit log (one ``operator.login_failed`` per
checked guess), beside the requests answered per second and the locks taken (``auth.lock``). The long-run
bound the policy gives (``auth.max_failed_logins`` guesses per lock, locks doubling up to
``auth.lock_max_seconds``) is reported with them.

    python bench/login_rate.py [--seconds 10] [--connections 4]
Writes bench/results/login_rate.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from common import machine, now_iso
from sqlalchemy import func, select

from sscard import migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.audit.models import AuditRecord
from sscard.auth import service as auth
from sscard.db import Database
from sscard.policy import service as policy

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "login_rate.json"
VICTIM = "bench-admin"
MAX_SECONDS = 20.0


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.02)
    return server, thread, port


def _attacker(port: int, until: float, counts: dict[str, int], lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = 0
    while time.monotonic() < until:
        body = json.dumps({"username": VICTIM, "password": f"guess-{threading.get_ident()}-{n}"})
        conn.request("POST", "/api/v1/auth/token", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        code = json.loads(response.read() or b"{}").get("error", {}).get("code", str(response.status))
        n += 1
        with lock:
            counts[f"{response.status} {code}"] = counts.get(f"{response.status} {code}", 0) + 1
    conn.close()


def _count(db: Database, action: str) -> int:
    with db.unit_of_work() as session:
        return int(session.execute(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.entity_id == VICTIM)).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    with tempfile.TemporaryDirectory(prefix="sscard-login-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        db = Database(url)
        auth.create_operator(db, SYSTEM_ACTOR, VICTIM, "被攻击的管理员", Role.ADMIN, "Bench-secret-2014!")
        with db.unit_of_work() as session:
            today = dt.date.today()
            rules = {name: policy.get_int(session, name, today) for name in (
                "auth.max_failed_logins", "auth.address_max_failed_logins", "auth.lock_seconds",
                "auth.lock_max_seconds")}
        server, thread, port = _serve(create_app(db))
        counts: dict[str, int] = {}
        lock = threading.Lock()
        started = time.monotonic()
        until = started + seconds
        workers = [threading.Thread(target=_attacker, args=(port, until, counts, lock))
                   for _ in range(args.connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        server.should_exit = True
        thread.join(timeout=10)
        checked, locks = _count(db, "operator.login_failed"), _count(db, "auth.lock")
        db.dispose()
    answered = sum(counts.values())
    per_lock = rules["auth.max_failed_logins"]
    # Long run: per_lock guesses per lock; locks of lock_seconds * 2^k up to lock_max_seconds.
    day, lock_s, guesses, k = 86400.0, float(rules["auth.lock_seconds"]), 0, 0
    while day > 0:
        guesses += per_lock
        day -= min(lock_s * 2 ** k, rules["auth.lock_max_seconds"])
        k += 1
    results = {
        "seconds": round(elapsed, 2), "connections": args.connections, "database": "sqlite",
        "requests_answered": answered, "requests_per_second": round(answered / elapsed, 1),
        "answers": counts, "guesses_checked": checked,
        "guesses_checked_per_second": round(checked / elapsed, 3), "locks": locks, "policy": rules,
        "long_run_guesses_per_day_one_account": guesses,
        "long_run_guesses_per_second_one_account": round(guesses / 86400.0, 5),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"name": "login_rate", "results": results, "machine": machine(),
                                   "date": now_iso()}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
