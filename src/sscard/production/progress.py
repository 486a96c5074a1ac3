"""Progress of the card programme against the plan's targets (3 M cards by end 2013, 4 M and ≥95% of residents
by end 2014), by division, by bank and by month; and the overdue-seal job (逾期封存) for cards left unactivated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.models import Card
from sscard.cards.states import AppStatus
from sscard.db import Database
from sscard.policy import service as policy
from sscard.production.models import CooperatingBank, OverdueSeal, PopulationRecord
from sscard.registry.models import Person
from sscard.registry.regions import DIVISIONS
from sscard.registry.schemas import LivingStatus


@dataclass(frozen=True)
class Target:
    due: dt.date
    cards: int | None = None  # cards issued by then
    coverage_pct: int | None = None  # share of living residents holding a valid card


# The 2013 plan (DOMAIN.md): 3,000,000 cards by end 2013; 4,000,000 and ≥95% coverage by end 2014.
TARGETS = (Target(dt.date(2013, 12, 31), cards=3_000_000), Target(dt.date(2014, 12, 31), cards=4_000_000),
           Target(dt.date(2014, 12, 31), coverage_pct=95))


class Count(BaseModel):
    issued: int
    active: int


class TargetOut(BaseModel):
    due: dt.date
    kind: str
    target: int
    actual: float
    achieved_pct: float
    met: bool


class ProgressOut(BaseModel):
    issued: int
    active: int
    valid: int
    residents: int
    coverage_pct: float
    overdue_sealed: int
    by_division: dict[str, Count]
    by_bank: dict[str, Count]
    by_month: dict[str, Count]  # cumulative, YYYY-MM of pickup
    targets: list[TargetOut]


def _month(session: Session) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Card.issued_at), "YYYY-MM")
    return func.strftime("%Y-%m", func.datetime(Card.issued_at, "+8 hours"))


def progress(db: Database, actor: Actor, *, division: str | None = None, bank: str | None = None,
             issued_since: dt.date | None = None) -> ProgressOut:
    """Aggregates only: cards issued (picked up) and active (activated, not cancelled) against the targets.

    Filters (the dashboard's): holders living in one ``division``, cards of one ``bank``, cards issued on or
    after the local day ``issued_since``; the targets and the coverage stay city-wide figures."""
    actor.require(Permission.STATS_READ)
    issued_col = func.count(Card.issued_at)
    active_col = func.count(Card.activated_at).filter(Card.app_status != AppStatus.CANCELLED.value)
    with db.unit_of_work() as session:
        base = select(issued_col, active_col).where(Card.issued_at.is_not(None))
        if division:
            base = base.where(Card.person_id.in_(select(Person.id).where(Person.region_code == division)))
        if bank:
            base = base.where(Card.bank_code == bank)
        if issued_since is not None:
            start = dt.datetime.combine(issued_since, dt.time(), tzinfo=clock.local_zone()).astimezone(dt.UTC)
            base = base.where(Card.issued_at >= start)
        issued, active = session.execute(base).one()
        valid = session.execute(select(func.count()).select_from(Card).where(
            Card.app_status.is_not(None), Card.app_status != AppStatus.CANCELLED.value)).scalar_one()
        alive = LivingStatus.ALIVE.value
        residents = session.execute(select(func.count()).select_from(PopulationRecord)
                                    .where(PopulationRecord.living_status == alive)).scalar_one() or \
            session.execute(select(func.count()).select_from(Person).where(Person.living_status == alive)).scalar_one()
        by_region = {r: Count(issued=i, active=a) for r, i, a in session.execute(
            base.add_columns(Person.region_code).join(Person, Person.id == Card.person_id)
            .group_by(Person.region_code).with_only_columns(Person.region_code, issued_col, active_col))}
        by_bank = {b or "-": Count(issued=i, active=a) for b, i, a in session.execute(
            base.group_by(Card.bank_code).with_only_columns(Card.bank_code, issued_col, active_col))}
        banks = [b for (b,) in session.execute(select(CooperatingBank.code).order_by(CooperatingBank.code))]
        month = _month(session)
        monthly = session.execute(base.group_by(month).order_by(month)
                                  .with_only_columns(month, issued_col, active_col)).all()
        overdue = session.execute(select(func.count()).select_from(OverdueSeal)).scalar_one()
        audit.record(session, actor, "stats.progress", "stats", "progress")
    by_month: dict[str, Count] = {}
    run_i = run_a = 0
    for m, i, a in monthly:
        run_i, run_a = run_i + i, run_a + a
        by_month[str(m)] = Count(issued=run_i, active=run_a)
    coverage = round(100 * valid / residents, 2) if residents else 0.0
    targets = []
    for t in TARGETS:
        if t.cards is not None:
            targets.append(TargetOut(due=t.due, kind="cards", target=t.cards, actual=issued,
                                     achieved_pct=round(100 * issued / t.cards, 2), met=issued >= t.cards))
        elif t.coverage_pct is not None:
            targets.append(TargetOut(due=t.due, kind="coverage_pct", target=t.coverage_pct, actual=coverage,
                                     achieved_pct=round(100 * coverage / t.coverage_pct, 2),
                                     met=coverage >= t.coverage_pct))
    return ProgressOut(
        issued=issued, active=active, valid=valid, residents=residents, coverage_pct=coverage,
        overdue_sealed=overdue,
        by_division={d.code: by_region.get(d.code, Count(issued=0, active=0)) for d in DIVISIONS},
        by_bank={b: by_bank.get(b, Count(issued=0, active=0)) for b in [*banks, *sorted(set(by_bank) - set(banks))]},
        by_month=by_month, targets=targets)


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # day 28 exists in every month


def seal_overdue(db: Database, actor: Actor, now: dt.datetime | None = None, chunk: int = 500) -> int:
    """逾期封存: cards picked up but not activated within ``card.seal_unactivated_months`` (effective-dated)
    are recorded as overdue-sealed, in chunks, each card audited. Idempotent: a card is sealed once."""
    actor.require(Permission.JOBS_RUN)
    now = now or clock.now()
    today = clock.local_date(now)
    sealed = 0
    while True:
        with db.unit_of_work() as session:
            months = policy.get_int(session, "card.seal_unactivated_months", today)
            cutoff = dt.datetime.combine(_months_before(today, months), dt.time(), clock.local_zone())
            due = session.execute(
                select(Card).where(Card.app_status == AppStatus.SEALED.value, Card.activated_at.is_(None),
                                   Card.issued_at <= cutoff, Card.id.not_in(select(OverdueSeal.card_id)))
                .order_by(Card.id).limit(chunk).with_for_update()).scalars().all()
            for card in due:
                assert card.issued_at is not None
                session.add(OverdueSeal(card_id=card.id, card_no=card.card_no, issued_at=card.issued_at,
                                        sealed_at=now, months=months, note="逾期未激活封存"))
                audit.record(session, actor, "card.overdue_sealed", "card", card.card_no, card.snapshot(),
                             {**card.snapshot(), "overdue_sealed": True, "months": months})
        sealed += len(due)
        if len(due) < chunk:
            return sealed
