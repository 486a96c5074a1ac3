"""Hospitals under load against a real sscard server, as the fault tests and bench/failover.py drive it.

Each hospital thread sends 2207 settlements (and now and then a 2208 reversal of one it settled) and keeps
retrying a message with the *same* msg_id until it gets a definitive answer, as the interface asks of every
institution: a 503 ``DATABASE_UNAVAILABLE`` (or a connection that broke) means "not done, retry". What the
client saw acknowledged is recorded, to be compared with the database afterwards."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from sscard.dr.local import LocalCluster, free_port
from support.city import City


@dataclass
class HA:
    cluster: LocalCluster
    url: str
    city: City
    hospital_code: str
    hospital_key: str
    persons: list[Any]
    base_url: str
    root: Path

    @property
    def id_numbers(self) -> list[str]:
        return [p.id_number for p in self.persons]

    def node_url(self, node_name: str | None = None) -> str:
        node = self.cluster.node(node_name) if node_name else self.cluster.leader()
        return self.cluster.node_url(node, "sscard")


SMALL_BILL = [{"code": "EX-D-A001", "quantity": 3, "unit_price_fen": 2000},
              {"code": "EX-D-B001", "quantity": 1, "unit_price_fen": 9000}]


@dataclass
class Attempt:
    at: float
    status: int  # 0: the connection broke or timed out
    code: str | None
    elapsed: float


@dataclass
class Load:
    base_url: str
    key: str
    id_numbers: list[str]
    threads: int = 6
    reverse_share: float = 0.2
    rate: float | None = None  # total messages per second across threads; None: as fast as answered
    timeout: float = 30.0
    settled: dict[str, str] = field(default_factory=dict)  # acknowledged 2207: msg_id → setl_id
    reversed: dict[str, str] = field(default_factory=dict)  # acknowledged 2208: msg_id → setl_id
    replayed: set[str] = field(default_factory=set)  # msg_ids answered "replayed": true on a retry
    retried: set[str] = field(default_factory=set)  # msg_ids sent more than once
    attempts: list[Attempt] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # definitive answers other than 200 (must stay empty)
    first_ack: list[tuple[float, float]] = field(default_factory=list)  # (acknowledged at, first sent at) per msg

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._next_slot = time.monotonic()

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self, timeout: float = 90) -> None:
        """Stop sending new messages; every message in flight is retried until answered (bounded)."""
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout)
        assert not any(w.is_alive() for w in self._workers), "a hospital thread did not finish its message"

    def run_for(self, seconds: float) -> None:
        self.start()
        time.sleep(seconds)
        self.stop()

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.attempts)

    def codes(self, status: int) -> Counter[str | None]:
        return Counter(a.code for a in self.attempts if a.status == status)

    def acknowledged_after(self, t: float) -> list[float]:
        return sorted(at for at, _ in self.first_ack if at > t)

    def recovery_seconds(self, fault_at: float) -> float:
        """From the fault to the first answer to a message first sent after it: the recovery time a hospital
        sees (answers still in flight at the fault do not count)."""
        return min(at for at, sent in self.first_ack if sent > fault_at) - fault_at

    # ------------------------------------------------------------------------------------------ a hospital

    def _pace(self) -> None:
        if self.rate is None:
            return
        with self._lock:
            slot = max(self._next_slot, time.monotonic())
            self._next_slot = slot + 1 / self.rate
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _run(self, index: int) -> None:
        rng = random.Random(index)
        headers = {"X-Institution-Key": self.key}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            while not self._stop.is_set():
                self._pace()
                msg_id = uuid.uuid4().hex
                body = {"msg_id": msg_id, "id_number": rng.choice(self.id_numbers),
                        "bill": {"date": time.strftime("%Y-%m-%d"), "visit_type": "outpatient",
                                 "bill_no": f"B{msg_id[:12]}", "lines": SMALL_BILL}}
                answer = self._until_answered(client, "/api/v1/medical/settlements", body)
                if answer is None:
                    continue
                with self._lock:
                    self.settled[msg_id] = answer["setl_id"]
                if rng.random() < self.reverse_share:
                    rev_id = uuid.uuid4().hex
                    done = self._until_answered(client, "/api/v1/medical/reversals",
                                                {"msg_id": rev_id, "setl_id": answer["setl_id"]})
                    if done is not None:
                        with self._lock:
                            self.reversed[rev_id] = done["setl_id"]

    def _until_answered(self, client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """POST until a definitive answer, re-sending the same message (same msg_id) after a 503 or a broken
        connection; the pause follows Retry-After, shortened so the recovery time is measured finely."""
        msg_id = body["msg_id"]
        first = time.monotonic()
        for attempt in range(10_000):
            if attempt:
                with self._lock:
                    self.retried.add(msg_id)
            started = time.monotonic()
            try:
                response = client.post(path, json=body)
            except httpx.TransportError:
                self._note(started, 0, None)
                time.sleep(0.2)
                continue
            code = None
            if response.status_code != 200:
                try:
                    code = response.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = None
            self._note(started, response.status_code, code)
            if response.status_code == 503:
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 0.3))
                continue
            if response.status_code != 200:
                with self._lock:
                    self.refused.append(f"{path} {response.status_code} {response.text[:200]}")
                return None
            data: dict[str, Any] = response.json()
            with self._lock:
                self.first_ack.append((time.monotonic(), first))
                if data.get("replayed"):
                    self.replayed.add(msg_id)
            return data
        raise AssertionError(f"{msg_id} never answered")

    def _note(self, started: float, status: int, code: str | None) -> None:
        with self._lock:
            self.attempts.append(Attempt(started, status, code, time.monotonic() - started))


def wait_for(ok: object, timeout: float, what: str) -> None:
    """Until ``ok()`` is true, polled every 0.2 s; an AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def check_against_database(load: Load, url: str, institution: str) -> dict[str, Any]:
    """What the database holds for the client's acknowledged messages: each present once, with its effect."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inst = conn.execute(sa.text("SELECT id FROM medical_institutions WHERE code = :c"),
                                {"c": institution}).scalar_one()
            stored = dict(conn.execute(sa.text("SELECT msg_id, setl_id FROM medical_settlements "
                                               "WHERE institution_id = :i"), {"i": inst}).all())
            journal = Counter(m for (m,) in conn.execute(sa.text(
                "SELECT msg_id FROM medical_messages WHERE institution_id = :i"), {"i": inst}))
            reversed_rows = dict(conn.execute(sa.text(
                "SELECT reversal_msg_id, setl_id FROM medical_settlements WHERE institution_id = :i "
                "AND status = 'reversed'"), {"i": inst}).all())
            per_msg = conn.execute(sa.text("SELECT max(n) FROM (SELECT count(*) AS n FROM medical_settlements "
                                           "WHERE institution_id = :i GROUP BY msg_id) t"), {"i": inst}).scalar()
    finally:
        engine.dispose()
    lost = [m for m, s in load.settled.items() if stored.get(m) != s]
    lost_reversals = [m for m, s in load.reversed.items() if reversed_rows.get(m) != s]
    return {"acknowledged": len(load.settled) + len(load.reversed), "lost": lost,
            "lost_reversals": lost_reversals, "double_paid": max((per_msg or 1) - 1, 0),
            "journal_duplicates": [m for m, n in journal.items() if n > 1], "stored": len(stored)}


def start_server(url: str, log: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """``sscard serve`` as the hospitals see it: a uvicorn process on a loopback port, on the cluster's URL."""
    port = free_port()
    env = {**os.environ, "SSCARD_DATABASE_URL": url, "SSCARD_MODE": "dev"}
    out = log.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "sscard.api.app:create_app", "--factory",
                             "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning", "--no-access-log"], env=env, stdout=out,
                            stderr=subprocess.STDOUT)
    out.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- a disbursement

PENSION_PERIOD = "2014-07"
PENSION_BANKS = ("ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB")


def pension_amount(i: int) -> int:
    return 180_000 + (i % 97) * 100


def load_pensioners(url: str, n: int) -> dict[str, int]:
    """``n`` pensioners paid by the month's disbursement, each with an account at one of six simulated banks, loaded
    with COPY (as bench/disbursement.py does) after whatever the database holds. Returns account number → the
    pension it must be credited exactly once."""
    import datetime as dt

    from sscard.bulksql import copy_rows
    from sscard.db import Database

    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    try:
        with db.unit_of_work() as s:
            base = max(int(s.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one())
                       for t in ("persons", "benefit_entitlements", "benefit_certifications")) + 1
            ids = range(base, base + n)
            copy_rows(s, "persons", ("id", "id_number", "name", "sex", "birth_date", "ethnicity", "region_code",
                                     "living_status", "created_at", "updated_at", "version"),
                      ((i, f"449{i:015d}", f"退休{i}", "1", dt.date(1950, 1, 1), "01", "441802", "1", now, now, 1)
                       for i in ids))
            copy_rows(s, "payment_accounts", ("person_id", "method", "bank_code", "account_no", "holder_name",
                                              "registered_by", "updated_at"),
                      ((i, "other", PENSION_BANKS[i % 6], f"63{i:014d}", f"退休{i}", "drtest", now) for i in ids))
            copy_rows(s, "simbank_accounts", ("bank_code", "account_no", "holder_name", "id_number", "state",
                                              "financial_activated", "balance"),
                      ((PENSION_BANKS[i % 6], f"63{i:014d}", f"退休{i}", f"449{i:015d}", "normal", True, 0)
                       for i in ids))
            copy_rows(s, "benefit_entitlements", ("id", "person_id", "kind", "fund", "start_period", "status",
                                                  "created_by", "created_at"),
                      ((i, i, "pension", "pension", "2014-01", "active", "drtest", now) for i in ids))
            copy_rows(s, "benefit_amounts", ("entitlement_id", "from_period", "amount", "created_by", "created_at"),
                      ((i, "2014-01", pension_amount(i), "drtest", now) for i in ids))
            copy_rows(s, "benefit_certifications", ("id", "person_id", "certified_on", "method", "created_by",
                                                    "created_at"),
                      ((i, i, dt.date(2014, 3, 1), "card", "drtest", now) for i in ids))
            for table in ("persons", "benefit_entitlements", "benefit_certifications"):
                s.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {base + n})"))
    finally:
        db.dispose()
    return {f"63{i:014d}": pension_amount(i) for i in ids}


@dataclass
class Disbursement:
    """``sscard funds run`` of the pension month in a subprocess, run again after every failure until it finishes,
    as an operator (or the systemd unit's ``Restart=on-failure``) does: each run resumes where the last stopped."""

    url: str
    log: Path
    period: str = PENSION_PERIOD
    runs: list[int] = field(default_factory=list)  # exit status of each run
    done_at: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        env = {**os.environ, "SSCARD_DATABASE_URL": self.url, "SSCARD_LOG_JSON": "false"}
        sscard = str(Path(sys.executable).parent / "sscard")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with self.log.open("ab") as out:
                code = subprocess.run([sscard, "funds", "run", self.period, "--benefits-only", "--json"], env=env,
                                      stdout=out, stderr=subprocess.STDOUT, timeout=180, check=False).returncode
            self.runs.append(code)
            if code == 0:
                self.done_at = time.monotonic()
                return
            time.sleep(1)

    def wait(self, timeout: float = 240) -> None:
        self._thread.join(timeout)
        assert self.done_at is not None, f"the disbursement never finished: runs {self.runs}"


def check_disbursement(url: str, period: str, owed: dict[str, int]) -> dict[str, Any]:
    """What the simulated bank credited and the month's lines: each pensioner paid once, with the right amount."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            balances = dict(conn.execute(sa.text("SELECT account_no, balance FROM simbank_accounts "
                                                 "WHERE account_no = ANY(:a)"), {"a": list(owed)}).all())
            states = Counter(s for (s,) in conn.execute(sa.text(
                "SELECT state FROM disbursement_batches WHERE period = :p"), {"p": period}))
            per_due = conn.execute(sa.text(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM disbursement_lines l "
                "JOIN disbursement_batches b ON b.id = l.batch_id WHERE b.period = :p "
                "GROUP BY l.entitlement_id, l.period_due) t"), {"p": period}).scalar()
            payouts = conn.execute(sa.text("SELECT count(*), coalesce(sum(amount), 0) FROM ledger_transfers "
                                           "WHERE code = 'benefit.payout'")).one()
    finally:
        engine.dispose()
    wrong = {a: (balances.get(a), want) for a, want in owed.items() if balances.get(a) != want}
    return {"pensioners": len(owed), "wrongly_paid": wrong, "batch_states": dict(states),
            "lines_per_month_due": per_due, "payout_transfers": int(payouts[0]), "payout_fen": int(payouts[1])}
