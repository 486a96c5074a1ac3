"""Reads the pages need that no service offers yet (candidates to move into ``stats``, ``audit`` and ``fees``).

Each checks the actor's permission like a service would, and a read of personal data is audited (invariant 6).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from sscard.audit import service as audit
from sscard.audit.models import AuditRecord
from sscard.auth.roles import Actor, Permission
from sscard.cards.errors import ApplicationNotFound
from sscard.cards.models import Application, Card
from sscard.cards.states import AppStatus, ProductionStatus
from sscard.db import Database
from sscard.fees.models import FeeCharge
from sscard.registry import idnumber
from sscard.registry.models import Person
from sscard.registry.regions import DIVISIONS


def own_last_audit_seq(db: Database, actor: Actor, entity_type: str, entity_id: str | int) -> int | None:
    """The audit reference of what this operator just did to the entity (their own latest record of it)."""
    with db.unit_of_work() as session:
        seq: int | None = session.execute(
            select(func.max(AuditRecord.seq)).where(AuditRecord.operator == actor.username,
                                                    AuditRecord.entity_type == entity_type,
                                                    AuditRecord.entity_id == str(entity_id))).scalar_one()
        return seq


@dataclass(frozen=True)
class Receipt:
    receipt_no: str
    application_id: int
    business: str
    reason: str
    amount_fen: int
    charged_at: dt.datetime
    operator: str
    outlet: str | None
    card_no: str
    person_name: str
    id_number_masked: str
    audit_seq: int | None


def receipt(db: Database, actor: Actor, application_id: int) -> Receipt:
    """A fee receipt (收费凭证) for printing; the ID number stays masked on paper too."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        row = session.execute(
            select(FeeCharge, Application, Card, Person)
            .join(Application, Application.id == FeeCharge.application_id)
            .join(Card, Card.application_id == Application.id)
            .join(Person, Person.id == Application.person_id)
            .where(FeeCharge.application_id == application_id)).first()
        if row is None:
            raise ApplicationNotFound(str(application_id))
        fee, application, card, person = row
        seq = session.execute(
            select(func.max(AuditRecord.seq)).where(AuditRecord.entity_type == "application",
                                                    AuditRecord.entity_id == str(application.id))).scalar_one()
        audit.record(session, actor, "fee.receipt_read", "application", application.id)
        return Receipt(fee.receipt_no, application.id, fee.business, fee.reason, fee.amount_fen, fee.charged_at,
                       fee.operator, fee.outlet, card.card_no, person.name, idnumber.mask(person.id_number), seq)


@dataclass(frozen=True)
class DivisionCounts:
    code: str
    persons: int
    cards_issued: int
    cards_in_production: int


def counts_by_division(db: Database, actor: Actor) -> list[DivisionCounts]:
    """Persons, issued cards (not cancelled) and cards in production per county-level division."""
    actor.require(Permission.STATS_READ)
    with db.unit_of_work() as session:
        persons = dict(session.execute(
            select(Person.region_code, func.count()).group_by(Person.region_code)).all())
        issued = dict(session.execute(
            select(Person.region_code, func.count()).join(Card, Card.person_id == Person.id)
            .where(Card.app_status.is_not(None), Card.app_status != AppStatus.CANCELLED.value)
            .group_by(Person.region_code)).all())
        producing = dict(session.execute(
            select(Person.region_code, func.count()).join(Card, Card.person_id == Person.id)
            .where(Card.app_status.is_(None), Card.production_status != ProductionStatus.VOIDED.value)
            .group_by(Person.region_code)).all())
        return [DivisionCounts(d.code, persons.get(d.code, 0), issued.get(d.code, 0), producing.get(d.code, 0))
                for d in DIVISIONS]
