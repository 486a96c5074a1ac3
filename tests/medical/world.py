"""A small medical world for settlement tests, built through the services: the example policy and catalogue,
a hospital with its API key, insured persons with cards in a chosen state and funded personal accounts."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.cards.personalisation import holder_data
from sscard.cards.states import ProductionStatus
from sscard.chip import VirtualCard
from sscard.chip.personalise import personalise
from sscard.db import Database
from sscard.kms import KeyManager, KeyStore
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.medical import config, institutions, presence, service
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY, _example_text
from sscard.medical.models import Accumulator
from sscard.registry import service as registry
from sscard.registry.models import Person
from sscard.registry.regions import CITY_CODE
from sscard.registry.schemas import PersonIn
from sscard.terminal import Terminal, VirtualReader
from sscard.terminal.payment import settlement_cryptogram
from support.city import City

PIN = "408213"
_configured: set[str] = set()
NewId = Callable[..., str]


def ensure_config(db: Database) -> None:
    """The shipped example policy and catalogue, stored once per database."""
    if db.url in _configured:
        return
    config.load_initial(db, SYSTEM_ACTOR, _example_text(EXAMPLE_POLICY), _example_text(EXAMPLE_CATALOGUE),
                        EXAMPLE_POLICY, EXAMPLE_CATALOGUE)
    _configured.add(db.url)


# The test city's keys (in memory): every card insured_person makes is personalised with them into a chip that
# stays "in the reader" here, and the applications the hospitals talk to verify chip cryptograms with them.
KEYS = KeyManager(bytes(32), KeyStore())
KEYS.init_ministry()
KEYS.provision_city(CITY_CODE)
_chips: dict[str, tuple[VirtualCard, threading.Lock]] = {}
_proofs: dict[tuple[str, bytes], str] = {}


def register_chip(db: Database, card_no: str) -> None:
    """Personalise ``card_no``'s chip (from the registry's data) with KEYS and put it in this test reader."""
    with db.unit_of_work() as s:
        card = s.execute(select(Card).where(Card.card_no == card_no)).scalar_one()
        person = s.get_one(Person, card.person_id)
        holder = holder_data(person, card, clock.local_date(), 10)
    _chips[card_no] = (personalise(holder, KEYS.card_keys(holder)), threading.Lock())


def presence_header(card_no: str, raw: bytes, bill_date: dt.date) -> str:
    """What the counter's terminal sends with a settlement by card: the chip's ARQC over the body (made once
    per body, so that a retry re-sends the same proof)."""
    found = _proofs.get((card_no, raw))
    if found is not None:
        return found
    chip, lock = _chips[card_no]
    with lock:  # one card, one terminal at a time
        terminal = Terminal(VirtualReader(chip), VirtualReader(KEYS.issue_psam(CITY_CODE), name="PSAM"))
        terminal.read_holder()
        header = settlement_cryptogram(terminal, raw, bill_date).header
    _proofs[(card_no, raw)] = header
    return header


def use_test_keys(client: TestClient | httpx.Client) -> None:
    """The in-process application behind ``client`` verifies cryptograms with KEYS."""
    app = getattr(client, "app", None)
    if app is not None and hasattr(app, "state"):
        app.state.key_manager = KEYS
        app.state.presence_verifier = None


@dataclass
class Hospital:
    code: str
    key: str
    client: TestClient | httpx.Client

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Institution-Key": self.key}

    def post(self, path: str, body: dict[str, Any], prove: bool = True) -> httpx.Response:
        """POST ``body``; a settlement by a card of this test reader carries its proof of presence."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**self.headers, "Content-Type": "application/json"}
        card_no = body.get("card_no")
        if prove and path in ("settlements", "pre-settlements") and isinstance(card_no, str) and card_no in _chips:
            try:
                bill_date = dt.date.fromisoformat(body["bill"]["date"])
            except (KeyError, TypeError, ValueError):
                bill_date = clock.local_date()
            headers[presence.HEADER] = presence_header(card_no, raw, bill_date)
        return self.client.post(f"/api/v1/medical/{path}", content=raw, headers=headers)

    def settle(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post("settlements", body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def new_hospital(city: City, client: TestClient | httpx.Client, level: str | None = "3", kind: str = "hospital",
                 services: tuple[str, ...] = ("outpatient", "inpatient", "reconcile")) -> Hospital:
    ensure_config(city.db)
    use_test_keys(client)
    code = ("H" if kind == "hospital" else "P") + uuid.uuid4().hex[:10].upper()
    issued = institutions.create_institution(city.db, city.admin, code, f"测试{code}", kind, level, list(services))
    return Hospital(code, issued.api_key, client)


@dataclass
class Insured:
    id_number: str
    card_no: str | None
    person_id: int


def insured_person(city: City, new_id: NewId, card: str = "normal", scheme: str = "employee",
                   person_type: str = "in_service", balance_fen: int = 0) -> Insured:
    """A registered, enrolled person whose card is ``normal``, ``formal_loss``, ``temp_loss``, ``sealed``,
    ``not_made`` (applied, in production) or ``none`` (never applied)."""
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="医保测试", region_code="441802"))
    card_no = None
    if card != "none":
        card_no = cards.apply_new(city.db, city.counter, number).card.card_no
        if card != "not_made":
            for step in ("10", "20", "30", "60"):
                cards.advance_production(city.db, city.admin, card_no, ProductionStatus(step),
                                         outlet_code="T01" if step == "60" else None)
            cards.pick_up(city.db, city.counter, card_no)
            register_chip(city.db, card_no)
            if card != "sealed":
                cards.activate(city.db, city.counter, card_no, PIN)
            if card == "formal_loss":
                cards.report_formal_loss(city.db, city.counter, card_no)
            elif card == "temp_loss":
                cards.report_temporary_loss(city.db, city.counter, card_no)
    service.enrol(city.db, city.admin, number, scheme, person_type)
    if balance_fen:
        service.credit_personal_account(city.db, city.admin, number, balance_fen, f"fund:{uuid.uuid4().hex}")
    with city.db.unit_of_work() as s:
        person_id = s.execute(select(Person.id).where(Person.id_number == number)).scalar_one()
    return Insured(number, card_no, person_id)


def worked_lines() -> list[dict[str, Any]]:
    """domain_rules.md §3.4: 甲类 12,000, 乙类 5,000 (10 % first self-pay), 丙类 3,000."""
    return [
        {"code": "EX-D-A001", "quantity": 100, "unit_price_fen": 2000},
        {"code": "EX-S-A001", "quantity": 20, "unit_price_fen": 5000},
        {"code": "EX-S-A002", "quantity": 1, "unit_price_fen": 600000},
        {"code": "EX-S-A003", "quantity": 1, "unit_price_fen": 300000},
        {"code": "EX-D-B001", "quantity": 50, "unit_price_fen": 10000},
        {"code": "EX-M-C001", "quantity": 1, "unit_price_fen": 300000},
    ]


def settle_body(who: Insured, msg_id: str | None = None, by: str = "card", lines: list[dict[str, Any]] | None = None,
                visit_type: str = "inpatient", day: dt.date | None = None, **bill: Any) -> dict[str, Any]:
    ident = {"card_no": who.card_no} if by == "card" else {"id_number": who.id_number}
    return {"msg_id": msg_id or uuid.uuid4().hex, **ident,
            "bill": {"date": (day or clock.local_date()).isoformat(), "visit_type": visit_type,
                     "lines": lines or worked_lines(), **bill}}


def position(db: Database, who: Insured, hospital_code: str, year: int | None = None) -> dict[str, Any]:
    """Every number a settlement may move: accumulators, the person's account, the pool, the payable, zero sum."""
    year = year or clock.local_date().year
    with db.unit_of_work() as s:
        acc = s.get(Accumulator, (who.person_id, year))
        accs = {k: getattr(acc, k) if acc else 0 for k in ("fund_paid_fen", "deductible_paid_fen", "in_scope_fen",
                                                           "account_spent_fen", "admissions", "settlements")}
        balances = {}
        for code in (f"person:{who.person_id}:medical", f"institution:{hospital_code}:payable"):
            try:
                b = ledger.balance(s, code)
                balances[code] = (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending)
            except LedgerAccountNotFound:
                balances[code] = None
        return {"accumulators": accs, "balances": balances, "zero_sum": ledger.check_zero_sum(s).ok}


def balance_of(db: Database, code: str) -> int:
    with db.unit_of_work() as s:
        return ledger.balance(s, code).credit_balance
