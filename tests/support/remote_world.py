"""Three real processes for cross-region settlement (docs/cross-region.md): 清远 441800 on PostgreSQL and 韶关
440200 on SQLite, each an ``sscard serve`` with its own database, and the provincial hub (``sscard hub serve``,
its own SQLite database), plus a loopback bank (``sscard bank serve``) the monthly clearing pays through. Keys:
the hop keys' demo versions (dev mode). Used by tests/remote and bench/remote.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.medical import config, institutions
from sscard.medical import service as medical
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY, _example_text
from sscard.medical.models import Accumulator
from sscard.registry import service as registry
from sscard.registry.models import Person
from sscard.registry.schemas import PersonIn
from support.city import PASSWORD, City, build_city
from support.factories import next_id_number
from support.loopback import free_port

SSCARD = str(Path(sys.executable).parent / "sscard")
QY, SG = "441800", "440200"
NAMES = {QY: "清远市", SG: "韶关市"}
BANK = "ICBC"
ATTEMPT_SECONDS, DEADLINE_SECONDS = 1.5, 4.0  # the centres' bound (docs/cross-region.md "Time bound")
FORWARD_SECONDS = 1.0


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", trust_env=False, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start: {log.read_text()[-2000:]}")


def launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The process started, not yet waited for (``_wait``): the world starts its processes side by side."""
    out = log.open("ab")
    return subprocess.Popen([SSCARD, *args], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def start(args: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    proc = launch(args, env, log)
    _wait(url, proc, log)
    return proc


@dataclass
class Insured:
    person_id: int
    id_number: str
    card_no: str


@dataclass
class Centre:
    region: str
    world: City
    url: str
    hospital: str = ""
    hospital_key: str = ""
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=30))

    @property
    def db(self) -> Database:
        return self.world.db

    def token(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.client.post(f"{self.url}/api/v1/auth/token",
                                      json={"username": username, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def api(self, method: str, path: str, user: str = "t-admin", **kwargs: Any) -> httpx.Response:
        return self.client.request(method, f"{self.url}/api/v1{path}", headers=self.token(user), **kwargs)

    def hospital_post(self, path: str, body: dict[str, Any], timeout: float = 30) -> httpx.Response:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.client.post(f"{self.url}/api/v1/medical/{path}", content=raw, timeout=timeout,
                                headers={"X-Institution-Key": self.hospital_key, "Content-Type": "application/json"})

    def faults(self, **values: int) -> None:
        answer = self.client.post(f"{self.url}/partner/remote/v1/test/faults", json=values)
        assert answer.status_code == 200, answer.text

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``sscard …`` against this centre's database and settings, as its operator would run it."""
        return subprocess.run([SSCARD, *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=120, check=False)

    def balance(self, code: str) -> int:
        """The account's net credit balance (0 if it was never opened)."""
        with self.db.unit_of_work() as session:
            try:
                return ledger.balance(session, code).credit_balance
            except LedgerAccountNotFound:
                return 0

    def zero_sum(self) -> bool:
        with self.db.unit_of_work() as session:
            return ledger.check_zero_sum(session).ok and not ledger.accounts_not_matching_journal(session)

    def accumulators(self, person_id: int) -> dict[str, int]:
        with self.db.unit_of_work() as session:
            acc = session.get(Accumulator, (person_id, clock.local_date().year))
            return {k: getattr(acc, k) if acc else 0 for k in ("fund_paid_fen", "account_spent_fen", "settlements")}

    def count(self, sql: str, **params: Any) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())

    def rows(self, table: str, where: str = "") -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            result = conn.exec_driver_sql(f"SELECT * FROM {table} {where}")
            return [dict(r._mapping) for r in result]

    def insured(self, balance_fen: int = 0, scheme: str = "employee", person_type: str = "in_service") -> Insured:
        """A person of this city with a card in normal state, enrolled, the personal account funded."""
        city, number = self.world, next_id_number()
        registry.register(city.db, city.counter, PersonIn(id_number=number, name="异地测试",
                                                          region_code="441802"))
        card_no = cards.apply_new(city.db, city.counter, number).card.card_no
        for step in ("10", "20", "30", "60"):
            cards.advance_production(city.db, city.admin, card_no, ProductionStatus(step),
                                     outlet_code="T01" if step == "60" else None)
        cards.pick_up(city.db, city.counter, card_no)
        cards.activate(city.db, city.counter, card_no, "408213")
        medical.enrol(city.db, city.admin, number, scheme, person_type)
        if balance_fen:
            medical.credit_personal_account(city.db, city.admin, number, balance_fen, f"fund:{uuid.uuid4().hex}")
        with city.db.unit_of_work() as s:
            person_id = s.execute(select(Person.id).where(Person.id_number == number)).scalar_one()
        return Insured(person_id, number, card_no)

    def register(self, who: Insured, kind: str, to: str, days: int = 180) -> dict[str, Any]:
        today = clock.local_date()
        answer = self.api("POST", "/remote/registrations", user="t-counter", json={
            "person_id": who.person_id, "kind": kind, "treating_region": to, "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=days)).isoformat(), "documents": ["参保地转诊证明"]})
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data


@dataclass
class Hub:
    url: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=60))

    @property
    def admin(self) -> dict[str, str]:
        """The headers of the hub's administration routes (clearing, reconciliation queue)."""
        return {"Authorization": f"Bearer {self.env['SSCARD_HUB_ADMIN_TOKEN']}"}

    def start(self, wait: bool = True) -> None:
        self.proc = launch(["hub", "serve", "--port", self.url.rsplit(":", 1)[1]], self.env, self.log)
        if wait:
            _wait(self.url, self.proc, self.log)

    def kill(self) -> None:
        """SIGKILL (the hub dies mid-request: nothing of it runs on)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)

    def message(self, msg_id: str) -> dict[str, Any]:
        answer = self.client.get(f"{self.url}/hub/v1/messages/{msg_id}")
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def faults(self, **values: int) -> None:
        assert self.client.post(f"{self.url}/hub/v1/test/faults", json=values).status_code == 200


@dataclass
class World:
    qy: Centre
    sg: Centre
    hub: Hub
    bank_url: str
    bank_db: Database
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def centre(self, region: str) -> Centre:
        return self.qy if region == QY else self.sg

    def bank_balance(self, account_no: str) -> int:
        from sscard.banks.simulated import SimulatedBank

        return SimulatedBank(self.bank_db).balance(BANK, account_no)

    def stop(self) -> None:
        for proc in [*self.procs, *([self.hub.proc] if self.hub.proc else [])]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.procs, *([self.hub.proc] if self.hub.proc else [])]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.bank_db.dispose()


def _medical_config(db: Database) -> None:
    config.load_initial(db, SYSTEM_ACTOR, _example_text(EXAMPLE_POLICY), _example_text(EXAMPLE_CATALOGUE),
                        EXAMPLE_POLICY, EXAMPLE_CATALOGUE)


def start_world(qy_db: Database, sg_db: Database, tmp: Path, extra_env: dict[str, str] | None = None,
                hub_db_url: str | None = None, bank_db_url: str | None = None, workers: int = 1) -> World:
    """The three processes (and the bank) up, each centre with its hospital; stop with ``World.stop``. The hub's
    database: a SQLite file in ``tmp`` unless ``hub_db_url`` names another (the bench gives PostgreSQL); the
    bank's: a SQLite file migrated here unless ``bank_db_url`` names an already migrated one. ``workers``: each
    centre's ``sscard serve --workers`` (the bench; the tests' loss injection is per process and wants one)."""
    qy_url, sg_url, hub_url, bank_url = (f"http://127.0.0.1:{free_port()}" for _ in range(4))
    qy, sg = Centre(QY, build_city(qy_db), qy_url), Centre(SG, build_city(sg_db), sg_url)
    if bank_db_url is None:
        bank_db_url = f"sqlite:///{tmp / 'bank.db'}"
        migrate.upgrade(bank_db_url)
    hub = Hub(hub_url, {"SSCARD_HUB_DATABASE_URL": hub_db_url or f"sqlite:///{tmp / 'hub.db'}",
                        "SSCARD_HUB_FORWARD_SECONDS": str(FORWARD_SECONDS),
                        "SSCARD_HUB_ADMIN_TOKEN": uuid.uuid4().hex,
                        "SSCARD_PARTNER_KEYSTORE": str(tmp / "partner-keys-hub.json"),
                        "SSCARD_HUB_CENTRES": json.dumps({
                            c.region: {"name": NAMES[c.region], "url": c.url, "bank_code": BANK,
                                       "account_no": f"SIF{c.region}", "account_name": f"{NAMES[c.region]}医疗保险基金"}
                            for c in (qy, sg)}, ensure_ascii=False)}, tmp / "hub.log")
    world = World(qy, sg, hub, bank_url, Database(bank_db_url))
    try:
        # the four processes start side by side and first (each takes seconds to import); the centres'
        # databases are configured meanwhile (nothing reads them before the first request); then all are waited for
        bank = launch(["bank", "serve", "--port", bank_url.rsplit(":", 1)[1]], {"SSCARD_DATABASE_URL": bank_db_url},
                      tmp / "bank.log")
        world.procs.append(bank)
        hub.start(wait=False)
        for centre in (qy, sg):
            centre.env = {"SSCARD_DATABASE_URL": centre.db.url, "SSCARD_REMOTE_REGION": centre.region,
                          "SSCARD_REMOTE_REGION_NAME": NAMES[centre.region], "SSCARD_REMOTE_HUB_URL": hub_url,
                          "SSCARD_REMOTE_ATTEMPT_SECONDS": str(ATTEMPT_SECONDS),
                          "SSCARD_REMOTE_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
                          "SSCARD_REMOTE_BANK_CODE": BANK, "SSCARD_REMOTE_ACCOUNT_NO": f"SIF{centre.region}",
                          "SSCARD_BANK_MODE": "http", "SSCARD_BANK_URL": bank_url,
                          "SSCARD_PARTNER_KEYSTORE": str(tmp / f"partner-keys-{centre.region}.json"),
                          **(extra_env or {})}
            centre.proc = launch(["serve", "--port", centre.url.rsplit(":", 1)[1], "--workers", str(workers)],
                                 centre.env,
                                 tmp / f"centre-{centre.region}.log")
            world.procs.append(centre.proc)
        for centre in (qy, sg):
            _medical_config(centre.db)
            code = f"H{centre.region}{uuid.uuid4().hex[:6].upper()}"
            issued = institutions.create_institution(
                centre.db, centre.world.admin, code, f"{NAMES[centre.region]}测试医院", "hospital", "3",
                ["outpatient", "inpatient", "reconcile"])
            centre.hospital, centre.hospital_key = code, issued.api_key
        _wait(bank_url, bank, tmp / "bank.log")
        for centre in (qy, sg):
            answer = httpx.post(f"{bank_url}/banks/{BANK}/accounts", trust_env=False, timeout=30,
                                json={"account_no": f"SIF{centre.region}",
                                      "holder_name": f"{NAMES[centre.region]}医疗保险基金"})
            assert answer.status_code == 201, answer.text
        for centre in (qy, sg):
            assert centre.proc is not None
            _wait(centre.url, centre.proc, tmp / f"centre-{centre.region}.log")
        assert hub.proc is not None
        _wait(hub.url, hub.proc, hub.log)
    except BaseException:
        world.stop()
        raise
    return world


def settle_body(who: Insured, home: str, msg_id: str | None = None, lines: list[dict[str, Any]] | None = None,
                visit_type: str = "inpatient") -> dict[str, Any]:
    """A 2207 body for ``who``'s card, as the terminal read it (its region from the card's 卡识别码)."""
    return {"msg_id": msg_id or uuid.uuid4().hex, "card_no": who.card_no, "insuplc_admdvs": home,
            "bill": {"date": clock.local_date().isoformat(), "visit_type": visit_type,
                     "lines": lines or worked_lines()}}


def worked_lines() -> list[dict[str, Any]]:
    """domain_rules.md §3.4's bill (甲 12,000, 乙 5,000, 丙 3,000 yuan) over the example catalogue."""
    return [
        {"code": "EX-D-A001", "quantity": 100, "unit_price_fen": 2000},
        {"code": "EX-S-A001", "quantity": 20, "unit_price_fen": 5000},
        {"code": "EX-S-A002", "quantity": 1, "unit_price_fen": 600000},
        {"code": "EX-S-A003", "quantity": 1, "unit_price_fen": 300000},
        {"code": "EX-D-B001", "quantity": 50, "unit_price_fen": 10000},
        {"code": "EX-M-C001", "quantity": 1, "unit_price_fen": 300000},
    ]
