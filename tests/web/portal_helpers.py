"""Helpers for the portal and kiosk tests: a cardholder with a query password, a settlement, a chip image."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from medical.world import insured_person, new_hospital, settle_body
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.cards.personalisation import personalise_card
from sscard.cards.states import ProductionStatus
from sscard.chip import save
from sscard.kms import KeyManager
from sscard.portal import service as portal
from support.city import City
from support.factories import next_id_number
from web.helpers import csrf_of, person_with_card

QUERY_PASSWORD = "802613"
SMALL_BILL = [{"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]


@dataclass
class Holder:
    id_number: str
    card_no: str
    person_id: int | None = None


def new_id(**kw: str) -> str:
    return next_id_number(region=kw.get("region", "441802"))


def holder(city: City, password: str = QUERY_PASSWORD) -> Holder:
    """A person with a normal card and a query password."""
    id_no, card_no = person_with_card(city, "normal")
    assert card_no is not None
    portal.set_query_password(city.db, city.counter, card_no, password)
    return Holder(id_no, card_no)


def insured_holder(city: City, balance_fen: int = 50_000, settle: bool = True) -> Holder:
    """An employee with a funded personal medical account, a query password and (optionally) a settlement."""
    who = insured_person(city, new_id, balance_fen=balance_fen)
    assert who.card_no is not None
    portal.set_query_password(city.db, city.counter, who.card_no, QUERY_PASSWORD)
    if settle:
        hospital = new_hospital(city, TestClient(create_app(city.db)))
        hospital.settle(settle_body(who, visit_type="outpatient", lines=SMALL_BILL))
    return Holder(who.id_number, who.card_no, who.person_id)


def portal_client(city: City, identifier: str | None = None, password: str = QUERY_PASSWORD) -> tuple[TestClient, str]:
    http = TestClient(create_app(city.db), raise_server_exceptions=False)
    token = csrf_of(http.get("/portal/login").text)
    if identifier:
        r = http.post("/portal/login", data={"csrf_token": token, "identifier": identifier, "password": password})
        assert r.status_code == 200 and str(r.url).endswith("/portal"), r.text
        token = csrf_of(r.text)  # the CSRF token is bound to the session: a new one after login
    return http, token


def kiosk_keys() -> KeyManager:
    import os

    from sscard.registry.regions import CITY_CODE

    keys = KeyManager(os.urandom(32))
    keys.init_ministry()
    keys.provision_city(CITY_CODE)
    return keys


def chip_holder(city: City, keys: KeyManager, image: Path, password: str = QUERY_PASSWORD) -> Holder:
    """A person whose card was personalised with ``keys`` (its chip image saved at ``image``), then
    handed over and activated with a query password: the card a kiosk reads."""
    id_no, _ = person_with_card(city, "none")
    card_no = cards.apply_new(city.db, city.counter, id_no).card.card_no
    for step in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED):
        cards.advance_production(city.db, city.admin, card_no, step)
    save(personalise_card(city.db, city.admin, card_no, keys), image)
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.CARD_MADE)
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
    cards.pick_up(city.db, city.counter, card_no)
    cards.activate(city.db, city.counter, card_no, "246810")
    portal.set_query_password(city.db, city.counter, card_no, password)
    return Holder(id_no, card_no)


def unique() -> str:
    return uuid.uuid4().hex[:8]


_months = itertools.count()


def pension_month(city: City, who: Holder, paid: bool = True, amount_fen: int = 180_000) -> str:
    """The funds: a pension granted to ``who`` and one month's disbursement run through the simulated
    bank, which knows the account (paid) or not (a failed payment with what to do). Each call runs a month
    of its own (a month is disbursed once)."""
    from sscard.banks import service as banks
    from sscard.banks.simulated import SimulatedBank
    from sscard.funds.benefits import entitlements
    from sscard.funds.benefits import service as benefits
    from sscard.funds.benefits.schemas import EntitlementIn

    assert who.person_id is not None
    n = next(_months)
    period = f"{2020 + n // 12}-{n % 12 + 1:02d}"
    account = f"62220{uuid.uuid4().int % 10**11:011d}"
    banks.register_payment_account(city.db, city.admin, who.person_id, "other", "ICBC", account, "医保测试")
    if paid:
        SimulatedBank(city.db).open_account("ICBC", account, "医保测试", who.id_number)
    entitlements.grant_entitlement(city.db, city.admin, EntitlementIn(person_id=who.person_id, kind="pension",
                                                                        amount=amount_fen, start_period=period,
                                                                        months=None))
    benefits.run_disbursement_month(city.db, city.admin, period)
    return period
