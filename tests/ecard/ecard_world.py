"""Helpers for the e-card tests: a holder whose card is in use and whose e-card is activated, and a key ring."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from sscard.access import Actor
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.ecard.models import Ecard
from sscard.kms.signing import KEYSTORE_ENV, SigningKeys, default_signing_keys
from sscard.portal import ecards
from sscard.portal import service as portal
from sscard.registry.models import Person
from support.city import City
from web.helpers import person_with_card


@dataclass
class EcardHolder:
    id_number: str
    card_no: str
    person_id: int
    actor: Actor


def process_keys(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> SigningKeys:
    """The process's e-card keys (what the API and settlement use) in a keystore of the test's own."""
    monkeypatch.setenv(KEYSTORE_ENV, str(tmp / "process-ecard-keys.json"))
    keys = default_signing_keys()
    if not keys.entries():
        keys.create()
    return keys


def ring(tmp: Path | None = None) -> SigningKeys:
    """A key ring under a random KEK with its version 1 (in a file when ``tmp`` is given)."""
    keys = SigningKeys(os.urandom(32), tmp / "ecard-keys.json" if tmp else None)
    keys.create()
    return keys


def person_id_of(city: City, id_number: str) -> int:
    with city.db.unit_of_work() as s:
        return s.execute(select(Person.id).where(Person.id_number == id_number)).scalar_one()


def ecard_holder(city: City, activate: bool = True) -> EcardHolder:
    id_number, card_no = person_with_card(city, "normal")
    assert card_no is not None
    person_id = person_id_of(city, id_number)
    holder = EcardHolder(id_number, card_no, person_id, portal.cardholder_actor(person_id))
    if activate:
        ecards.activate_ecard(city.db, holder.actor)
    return holder


def ecard_row(city: City, person_id: int) -> Ecard:
    with city.db.unit_of_work() as s:
        rows = s.execute(select(Ecard).where(Ecard.person_id == person_id).order_by(Ecard.id)).scalars().all()
        assert rows, "no e-card"
        s.expunge_all()
        return rows[-1]


def to_outlet(city: City, card_no: str) -> None:
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(city.db, city.admin, card_no, status)
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
