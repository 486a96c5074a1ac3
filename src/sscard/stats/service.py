"""Counting persons and cards by division and status."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from sscard.cards.models import Card
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
