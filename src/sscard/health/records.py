"""Shared look-ups of the health index inside a caller's transaction: the card's holder, the pseudonymous
patient, the sensitive categories in effect and the ones a holder keeps hidden."""

from __future__ import annotations

import datetime as dt
import json
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard.cards.errors import CardNotFound
from sscard.cards.records import find_card
from sscard.cards.states import AppStatus
from sscard.health.errors import CardNotUsableForIndex, PatientUnknown
from sscard.health.icd import SensitiveCategory
from sscard.health.models import HealthOptIn, HealthPatient, HealthSensitivePolicy
from sscard.registry.service import find_by_person_id


def holder_of(session: Session, card_no: str) -> tuple[int, str, str]:
    """A card in normal use → (person id, ID number, region code) of its holder; HEALTH_CARD_NOT_USABLE else."""
    try:
        card = find_card(session, card_no, lock=False)
    except CardNotFound:
        raise CardNotUsableForIndex(card_no=card_no) from None
    if card.app_status != AppStatus.NORMAL.value:
        raise CardNotUsableForIndex(card_no=card_no)
    person = find_by_person_id(session, card.person_id)
    return person.id, person.id_number, person.region_code


def patient_for(session: Session, person_id: int, division: str) -> HealthPatient:
    """The person's pseudonymous patient, made on first use. Two first uses at once: the unique person_id lets
    one insert win; the other's savepoint rolls back and it reads the winner's row."""
    query = select(HealthPatient).where(HealthPatient.person_id == person_id)
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        try:
            with session.begin_nested():
                session.add(HealthPatient(person_id=person_id, pseudonym=secrets.token_hex(16), division=division))
        except IntegrityError:
            pass
        found = session.execute(query).scalar_one()
    return found


def patient_by_pseudonym(session: Session, pseudonym: str) -> HealthPatient:
    found = session.execute(select(HealthPatient).where(HealthPatient.pseudonym == pseudonym)).scalar_one_or_none()
    if found is None:
        raise PatientUnknown(pseudonym=pseudonym[:40])
    return found


def categories_on(session: Session, day: dt.date) -> list[SensitiveCategory]:
    """The sensitive categories in effect on ``day`` (the latest version of the latest date on or before it)."""
    text = session.execute(
        select(HealthSensitivePolicy.categories).where(HealthSensitivePolicy.effective_from <= day)
        .order_by(HealthSensitivePolicy.effective_from.desc(), HealthSensitivePolicy.version.desc()).limit(1)
    ).scalar_one_or_none()
    return decode_categories(text) if text else []


def decode_categories(text: str) -> list[SensitiveCategory]:
    return [SensitiveCategory(c["name"], c["label_zh"], c["label_en"], tuple((r[0], r[1]) for r in c["ranges"]))
            for c in json.loads(text)]


def opted_in(session: Session, person_id: int) -> set[str]:
    return set(session.execute(select(HealthOptIn.category).where(HealthOptIn.person_id == person_id)).scalars())


def hidden_categories(session: Session, person_id: int, day: dt.date) -> list[SensitiveCategory]:
    """The sensitive categories whose entries stay hidden for this holder: all those in effect but the ones
    they opted in to."""
    chosen = opted_in(session, person_id)
    return [c for c in categories_on(session, day) if c.name not in chosen]
