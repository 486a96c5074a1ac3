"""灵活就业人员 online with the card as login: 参保登记 (pension and employee medical insurance as a flexible
worker) and 缴费申报 (the contribution base, as a share of the average wage within the policy's bounds).

The record is the contributions package's enrolment, written through its public functions (``enrol_in``,
``change_choice_in``) in this package's transaction, so the month's withholding assesses it like any other;
the bounds and the base come from the dated ``contrib.*`` policy there. Withholding itself needs the 代扣协议
signed at the bank or the counter (contributions' ``sign_authorisation``).
"""

from __future__ import annotations

from sscard import clock
from sscard.access import Actor, Permission, Role
from sscard.audit import service as audit
from sscard.db import Database
from sscard.employment.errors import FlexibleInvalid
from sscard.employment.schemas import DeclarationIn, FlexibleIn, FlexibleOut
from sscard.employment.service import period_of
from sscard.funds import parse_period
from sscard.funds.contributions import assessment
from sscard.funds.contributions import service as contributions
from sscard.funds.contributions.terms import ContribScheme
from sscard.registry import service as registry
from sscard.registry.models import Person

SCHEMES = (ContribScheme.FLEX_PENSION, ContribScheme.EMPLOYEE_MEDICAL)


def _cardholder(actor: Actor) -> int:
    actor.require(Permission.PORTAL_SELF)
    if actor.role is not Role.CARDHOLDER or actor.person_id is None:
        raise FlexibleInvalid("online registration and declaration are the cardholder's own")
    return actor.person_id


def _first_period(raw: str | None) -> str:
    current = period_of(clock.local_date())
    period = parse_period(raw) if raw else current
    if period < current:
        raise FlexibleInvalid(f"{period} is before the current month {current}", period=period)
    return period


def _base(rates: assessment.Rates, ratio_bp: int) -> int:
    return assessment.base_from_ratio(rates.avg_wage_fen, ratio_bp, rates.floor_fen, rates.ceiling_fen)


def register_flexible(db: Database, actor: Actor, data: FlexibleIn) -> FlexibleOut:
    """参保登记: the cardholder joins the chosen schemes from ``start_period`` at ``base_ratio_bp``."""
    person_id = _cardholder(actor)
    chosen = [s for s, wanted in zip(SCHEMES, (data.pension, data.medical), strict=True) if wanted]
    if not chosen:
        raise FlexibleInvalid("choose pension, medical or both")
    period = _first_period(data.start_period)
    with db.unit_of_work() as session:
        person: Person = registry.find_by_person_id(session, person_id)
        actor.require_own(person.id)
        for scheme in chosen:
            contributions.enrol_in(session, actor, person, scheme, period, base_ratio_bp=data.base_ratio_bp)
        out = FlexibleOut(person_id=person.id, schemes=[s.value for s in chosen], base_ratio_bp=data.base_ratio_bp,
                          base_fen=_base(assessment.load_rates(session, period), data.base_ratio_bp),
                          from_period=period)
        audit.record(session, actor, "employment.flexible_register", "person", person.id, None, out.model_dump())
        return out


def declare_base(db: Database, actor: Actor, data: DeclarationIn) -> FlexibleOut:
    """缴费申报: a new base from ``from_period`` (the current month or later) for every flexible scheme the
    cardholder is enrolled in then."""
    person_id = _cardholder(actor)
    period = _first_period(data.from_period)
    with db.unit_of_work() as session:
        person = registry.find_by_person_id(session, person_id)
        actor.require_own(person.id)
        enrolled = [s for s in contributions.schemes_in_force(session, person.id, period) if s in SCHEMES]
        if not enrolled:
            raise FlexibleInvalid(f"not registered as a flexible worker in {period}", period=period)
        for scheme in enrolled:
            contributions.change_choice_in(session, actor, person, scheme, period, base_ratio_bp=data.base_ratio_bp)
        out = FlexibleOut(person_id=person.id, schemes=[s.value for s in enrolled], base_ratio_bp=data.base_ratio_bp,
                          base_fen=_base(assessment.load_rates(session, period), data.base_ratio_bp),
                          from_period=period)
        audit.record(session, actor, "employment.flexible_declare", "person", person.id, None, out.model_dump())
        return out
