"""Two real centres for the transfer tests: city A (清远 441800) on PostgreSQL and city B (广州 440100) on SQLite,
each an ``sscard serve`` process on loopback with its own database, and one simulated bank (``sscard bank
serve``, its own SQLite database) that both pay through; the message keys are the city pair's demo key (dev mode,
docs/transfer.md)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from stdnum.cn import uscc as stdnum_uscc

from sscard import migrate
from sscard.db import Database
from sscard.funds.contributions import assessment, employer, employer_file
from sscard.kms.partners import PartnerKeys
from sscard.ledger import service as ledger
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transfer import messages
from support.city import PASSWORD, Backend, City, build_city
from support.factories import next_id_number
from support.loopback import free_port

SSCARD = str(Path(sys.executable).parent / "sscard")
A_CITY, B_CITY = "441800", "440100"
BANK = "ICBC"
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class Centre:
    city: str
    account_no: str
    world: City
    url: str
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # what its server runs with (the CLI too)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.world.db

    def token(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = httpx.post(f"{self.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                                trust_env=False, timeout=30)
            assert answer.status_code == 200, answer.text
            self.tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def api(self, method: str, path: str, user: str = "t-super", headers: dict[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api/v1{path}", headers={**self.token(user), **(headers or {})},
                             trust_env=False, timeout=60, **kwargs)

    def post_message(self, raw: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/partner/transfer/v1/messages", content=raw,
                          headers={"Content-Type": "application/json"}, trust_env=False, timeout=60)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``sscard …`` against this centre's database and settings, as an operator at its host would run it."""
        return subprocess.run([SSCARD, *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=120, check=False)

    def balance(self, code: str) -> int:
        with self.db.unit_of_work() as session:
            try:
                return ledger.balance(session, code).credit_balance
            except Exception:
                return 0

    def zero_sum(self) -> bool:
        with self.db.unit_of_work() as session:
            return ledger.check_zero_sum(session).ok and not ledger.accounts_not_matching_journal(session)

    def count(self, table: str) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


@dataclass
class World:
    a: Centre
    b: Centre
    bank_url: str
    bank_db: Database

    def centre(self, city: str) -> Centre:
        return self.a if city == self.a.city else self.b

    def bank_balance(self, account_no: str) -> int:
        from sscard.banks.simulated import SimulatedBank

        return SimulatedBank(self.bank_db).balance(BANK, account_no)


def ring() -> PartnerKeys:
    """The test's own copy of the pair key (the demo key both centres use in dev mode): to forge messages that
    are correctly signed but wrong in content."""
    return PartnerKeys.demo_ring()


def seal(kind: str, msg_id: str, from_city: str, to_city: str, body: dict[str, Any]) -> bytes:
    return messages.seal(ring(), kind, msg_id, from_city, to_city, body).raw


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", trust_env=False, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not start: {log.read_text()[-2000:]}")


def _start(args: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen([SSCARD, *args], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    _wait(url, proc, log)
    return proc


@dataclass
class Processes:
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in self.procs:  # only the processes this fixture started, by their handle
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_world(pg: Backend, lite: Backend, tmp: Path) -> Iterator[World]:
    a_url, b_url, bank_url = (f"http://127.0.0.1:{free_port()}" for _ in range(3))
    a = Centre(A_CITY, f"SIF{A_CITY}", build_city(pg.new_database()), a_url)
    b = Centre(B_CITY, f"SIF{B_CITY}", build_city(lite.new_database()), b_url)
    bank_db_url = f"sqlite:///{tmp / 'bank.db'}"
    migrate.upgrade(bank_db_url)
    bank_db = Database(bank_db_url)
    running = Processes()
    try:
        running.procs.append(_start(["bank", "serve", "--port", bank_url.rsplit(":", 1)[1]],
                                    {"SSCARD_DATABASE_URL": bank_db_url}, bank_url, tmp / "bank.log"))
        for centre in (a, b):
            answer = httpx.post(f"{bank_url}/banks/{BANK}/accounts", trust_env=False, timeout=30,
                                json={"account_no": centre.account_no, "holder_name": f"{centre.city}社会保险基金"})
            assert answer.status_code == 201, answer.text
        for centre, other in ((a, b), (b, a)):
            env = {"SSCARD_DATABASE_URL": centre.db.url, "SSCARD_TRANSFER_CITY": centre.city,
                   "SSCARD_TRANSFER_PARTNERS": json.dumps({other.city: other.url}),
                   "SSCARD_TRANSFER_BANK_CODE": BANK, "SSCARD_TRANSFER_ACCOUNT_NO": centre.account_no,
                   "SSCARD_TRANSFER_ACCOUNT_NAME": f"{centre.city}社会保险基金",
                   "SSCARD_BANK_MODE": "http", "SSCARD_BANK_URL": bank_url,
                   "SSCARD_PARTNER_KEYSTORE": str(tmp / f"partner-keys-{centre.city}.json")}
            centre.env = env
            centre.proc = _start(["serve", "--port", centre.url.rsplit(":", 1)[1]], env, centre.url,
                                 tmp / f"centre-{centre.city}.log")
            running.procs.append(centre.proc)
        yield World(a, b, bank_url, bank_db)
    finally:
        running.stop()
        bank_db.dispose()


# ------------------------------------------------------------------------------------------------ the record


def person(centre: Centre, name: str, number: str | None = None) -> tuple[int, str]:
    number = number or next_id_number()
    found = registry.register(centre.db, centre.world.admin, PersonIn(id_number=number, name=name,
                                                                      region_code="441802"))
    return found.id, number


def _uscc() -> str:
    body = "91441802" + "".join(secrets.choice(_ALPHABET) for _ in range(9))
    return body + stdnum_uscc.calc_check_digit(body)


def employer_months(centre: Centre, people: list[tuple[str, str]], periods: list[str], base_fen: int) -> int:
    """Employer files paying pension and medical for ``people`` (ID number, name) in each period, through the
    embedded bank of the centre's database (the import's own path); returns the personal pension part."""
    uscc, personal = _uscc(), 0
    for period in periods:
        with centre.db.unit_of_work() as session:
            rates = assessment.load_rates(session, period)
        lines = []
        for number, name in people:
            for insurance in ("pension", "medical"):
                er = assessment.bp_of(base_fen, rates.employer_bp[insurance])
                ee = assessment.bp_of(base_fen, rates.employee_bp[insurance])
                personal += ee if insurance == "pension" else 0
                lines.append(employer_file.EmployerLine(len(lines) + 1, number, name, insurance, base_fen, er, ee))
        header = employer_file.EmployerHeader(uscc, "清远市测试有限公司", BANK, period, len(lines),
                                              sum(ln.employer_fen + ln.employee_fen for ln in lines),
                                              "20140625093000")
        employer.import_employer_file(centre.db, centre.world.admin, employer_file.write(header, lines))
    return personal
