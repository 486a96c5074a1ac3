"""Shared look-ups of the health index inside a caller's transaction: the card's holder, the pseudonymous
patient, the sensitive categories in effect and the ones a holder keeps hidden.

The two use cases that run hundreds of times a second (publishing an encounter, searching under a grant) read
what they need in one prebuilt query each (``bulksql``), as the settlement identifies its subject: the card,
its holder, their pseudonymous patient, an earlier entry with the same identifier and the institution's name;
or the patient, the grant, the sensitive categories in effect and the holder's opt-ins — with the re-check of
the institution's key in the same statement."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import bulksql
from sscard.cards.errors import CardNotFound
from sscard.cards.models import Card
from sscard.cards.records import find_card
from sscard.cards.states import AppStatus
from sscard.health.errors import CardNotUsableForIndex, PatientUnknown
from sscard.health.icd import SensitiveCategory
from sscard.health.models import HealthEncounter, HealthGrant, HealthOptIn, HealthPatient, HealthSensitivePolicy
from sscard.medical.institutions import KEY_VALID, InstitutionPrincipal, check_key, key_valid
from sscard.medical.models import Institution
from sscard.registry.models import Person
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
    return hidden_of(categories_on(session, day), opted_in(session, person_id))


def hidden_of(in_effect: list[SensitiveCategory], chosen: set[str]) -> list[SensitiveCategory]:
    return [c for c in in_effect if c.name not in chosen]


# ------------------------------------------------------------------------------ one query per hot use case


def _checked(query: Select[Any]) -> dict[bool, Select[Any]]:
    """The query, and the same with the institution's key re-checked as its last column (``KEY_VALID``)."""
    return {False: query, True: query.add_columns(KEY_VALID)}


def _run(session: Session, queries: dict[bool, Select[Any]], principal: InstitutionPrincipal,
         params: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
    """Rows of the query; none if the key is no longer valid (then ``check_key`` raises)."""
    valid = key_valid(principal)
    rows = bulksql.execute(session, queries[valid is not None], {**params, **(valid[1] if valid else {})})
    if valid is not None and rows and not rows[0][-1]:
        check_key(session, principal)  # INSTITUTION_AUTH_FAILED, and the key out of the cache
    return rows


class PublishContext(NamedTuple):
    person_id: int
    id_number: str
    division: str
    patient_id: int | None  # None: the person has no pseudonymous patient yet
    pseudonym: str | None
    existing_sha256: str | None  # an entry of this institution with the same identifier: its content hash …
    existing_resource: str | None  # … and the resource as served
    institution_name: str


_EARLIER = HealthEncounter.__table__.alias("earlier")
_PUBLISH = _checked(
    select(Card.app_status, Person.id, Person.id_number, Person.region_code, HealthPatient.id, HealthPatient.pseudonym,
           _EARLIER.c.content_sha256, _EARLIER.c.resource, Institution.name)
    .select_from(Card).join(Person, Person.id == Card.person_id)
    .join(Institution, Institution.id == bindparam("institution_id"))
    .outerjoin(HealthPatient, HealthPatient.person_id == Person.id)
    .outerjoin(_EARLIER, (_EARLIER.c.institution_code == Institution.code)
               & (_EARLIER.c.source_system == bindparam("source_system"))
               & (_EARLIER.c.source_value == bindparam("source_value")))
    .where(Card.card_no == bindparam("card_no")))


def publish_context(session: Session, principal: InstitutionPrincipal, card_no: str, source_system: str,
                    source_value: str) -> PublishContext:
    """Everything publishing an encounter reads, in one statement: the card must be in normal use
    (HEALTH_CARD_NOT_USABLE), the institution's key still valid (INSTITUTION_AUTH_FAILED, checked first)."""
    rows = _run(session, _PUBLISH, principal, {"card_no": card_no.strip().upper(), "institution_id": principal.id,
                                               "source_system": source_system, "source_value": source_value})
    if not rows:
        check_key(session, principal)
        raise CardNotUsableForIndex(card_no=card_no)
    app_status, *rest = rows[0][:9]
    if app_status != AppStatus.NORMAL.value:
        raise CardNotUsableForIndex(card_no=card_no)
    return PublishContext(*rest)


class ReadContext(NamedTuple):
    patient_id: int
    person_id: int
    grant_id: int | None  # None: no grant with the id given
    grant_institution: str | None
    grant_patient_id: int | None
    grant_revoked: bool | None
    grant_expired: bool | None
    purpose: str | None
    method: str | None
    hidden: list[SensitiveCategory]  # the sensitive categories in effect the holder has not opted in to


_IN_EFFECT = (select(HealthSensitivePolicy.categories).where(HealthSensitivePolicy.effective_from <= bindparam("day"))
              .order_by(HealthSensitivePolicy.effective_from.desc(), HealthSensitivePolicy.version.desc()).limit(1)
              .scalar_subquery())
_READ = _checked(
    select(HealthPatient.id, HealthPatient.person_id, HealthGrant.id, HealthGrant.institution_code,
           HealthGrant.patient_id, HealthGrant.revoked_at.is_not(None), HealthGrant.expires_at <= bindparam("now"),
           HealthGrant.purpose, HealthGrant.method, _IN_EFFECT, HealthOptIn.category)
    .select_from(HealthPatient)
    .outerjoin(HealthGrant, HealthGrant.grant_id == bindparam("grant_id"))
    .outerjoin(HealthOptIn, HealthOptIn.person_id == HealthPatient.person_id)  # one row per opt-in
    .where(HealthPatient.pseudonym == bindparam("pseudonym")))


def read_context(session: Session, principal: InstitutionPrincipal, pseudonym: str, grant_id: str,
                 day: dt.date, now: dt.datetime) -> ReadContext:
    """Everything a search under a grant reads before the entries, in one statement: the patient
    (HEALTH_PATIENT_UNKNOWN), the grant named (its checks are the caller's) and the categories hidden on ``day``;
    the institution's key still valid (INSTITUTION_AUTH_FAILED, checked first)."""
    rows = _run(session, _READ, principal, {"pseudonym": pseudonym, "grant_id": grant_id, "day": day, "now": now})
    if not rows:
        check_key(session, principal)
        raise PatientUnknown(pseudonym=pseudonym[:40])
    first = rows[0]
    in_effect = decode_categories(first[9]) if first[9] else []
    hidden = hidden_of(in_effect, {row[10] for row in rows if row[10] is not None})
    return ReadContext(first[0], first[1], first[2], first[3], first[4], first[5], first[6], first[7], first[8],
                       hidden)


_ENCOUNTERS = (select(HealthEncounter.resource_id, HealthEncounter.resource, HealthEncounter.diagnosis_code)
               .where(HealthEncounter.patient_id == bindparam("patient_id"))
               .order_by(HealthEncounter.encounter_date.desc(), HealthEncounter.id.desc()))


def encounter_rows(session: Session, patient_id: int) -> Sequence[tuple[Any, ...]]:
    """The patient's encounter entries, newest first: (resource id, resource, diagnosis code)."""
    return bulksql.execute(session, _ENCOUNTERS, {"patient_id": patient_id})
