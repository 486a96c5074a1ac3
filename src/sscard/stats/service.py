"""Counting persons and cards by division and status."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from sscard.access import Actor, Permission
from sscard.cards.models import Card
from sscard.cards.states import AppStatus, ProductionStatus
from sscard.db import Database
from sscard.registry.models import Person
from sscard.registry.regions import DIVISIONS


@dataclass
class Overview:
    persons: int = 0
    cards: int = 0
    by_app_status: dict[str, int] = field(default_factory=dict)
    by_production_status: dict[str, int] = field(default_factory=dict)
    persons_by_division: dict[str, int] = field(default_factory=dict)


def overview(db: Database) -> Overview:
    """Aggregates only (no personal data), so the landing page may show it without a login."""
    with db.unit_of_work() as session:
        out = Overview()
        out.persons = session.execute(select(func.count(Person.id))).scalar_one()
        out.cards = session.execute(select(func.count(Card.id))).scalar_one()
        for status, n in session.execute(select(Card.app_status, func.count()).group_by(Card.app_status)):
            out.by_app_status[status or "-"] = n
        for status, n in session.execute(
                select(Card.production_status, func.count()).group_by(Card.production_status)):
            out.by_production_status[status] = n
        counts = dict(session.execute(select(Person.region_code, func.count()).group_by(Person.region_code)).all())
        out.persons_by_division = {d.name_zh: counts.get(d.code, 0) for d in DIVISIONS}
        return out


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
