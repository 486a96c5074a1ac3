"""Registration use cases: 求职登记 and 失业登记 at the counter, through the API or at the kiosk with the card;
注销 (closed, with a reason code and a date); the unemployment benefit (失业保险金) opened from an open
unemployment registration and stopped when it closes. One use case = one transaction, audited.

The benefit is the benefits package's: it is granted and stopped through its public functions
(``entitlements.grant_in`` / ``stop_after_in``) inside this package's transaction, so a registration never
closes with its benefit still running. Amount and longest duration are the dated policy in force on the
registration day. The benefit is owed for the months from the registration's month through the month it
closes (次月起停发).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission, Role
from sscard.audit import service as audit
from sscard.db import Database
from sscard.employment.errors import (
    AlreadyRegistered,
    IdempotencyMismatch,
    RegistrationInvalid,
    RegistrationNotFound,
    RegistrationState,
)
from sscard.employment.models import Registration
from sscard.employment.schemas import BenefitIn, CloseIn, RegistrationIn, RegistrationOut
from sscard.employment.states import (
    UI_MAX_MONTHS_PARAMETER,
    UI_MONTHLY_PARAMETER,
    RegistrationKind,
    RegistrationOp,
    RegistrationStatus,
    registration_allows,
)
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.models import BenefitKind
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.policy import service as policy
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.models import Person

CHANNELS = ("counter", "kiosk", "api", "portal")


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def out_of(reg: Registration, id_number: str) -> RegistrationOut:
    return RegistrationOut(id=reg.id, person_id=reg.person_id, id_number_masked=idnumber.mask(id_number),
                           kind=reg.kind, status=reg.status, registered_on=reg.registered_on, channel=reg.channel,
                           closed_on=reg.closed_on, close_reason=reg.close_reason, entitlement_id=reg.entitlement_id)


def _snapshot(reg: Registration) -> dict[str, object]:
    return {"kind": reg.kind, "status": reg.status, "registered_on": reg.registered_on.isoformat(),
            "closed_on": reg.closed_on.isoformat() if reg.closed_on else None, "close_reason": reg.close_reason,
            "entitlement_id": reg.entitlement_id, "channel": reg.channel}


def _day(raw: dt.date | None, what: str) -> dt.date:
    today = clock.local_date()
    day = raw or today
    if day > today:
        raise RegistrationInvalid(f"{what} {day.isoformat()} is after today", field=what)
    return day


def register(db: Database, actor: Actor, data: RegistrationIn, *, channel: str = "counter",
             idempotency_key: str | None = None) -> RegistrationOut:
    """求职登记 / 失业登记 of a registered person by staff; a retry with the same key returns the first answer."""
    actor.require(Permission.EMPLOYMENT_REGISTER)
    if channel not in CHANNELS:
        raise RegistrationInvalid(f"channel {channel[:10]!r}", field="channel")
    day = _day(data.registered_on, "registered_on")
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, data.id_number)
        return _register(session, actor, person, data.kind, day, channel, idempotency_key)


def register_own(db: Database, actor: Actor, kind: RegistrationKind | str, *, channel: str = "kiosk",
                 idempotency_key: str | None = None) -> RegistrationOut:
    """The cardholder registers themself (the kiosk with their card and its password, or the portal): today."""
    actor.require(Permission.PORTAL_SELF)
    if actor.role is not Role.CARDHOLDER or actor.person_id is None:
        raise RegistrationInvalid("a self-service registration needs a cardholder")
    if channel not in ("kiosk", "portal"):
        raise RegistrationInvalid(f"channel {channel[:10]!r}", field="channel")
    try:
        chosen = RegistrationKind(kind)
    except ValueError:
        raise RegistrationInvalid(f"kind {str(kind)[:20]!r}", field="kind") from None
    with db.unit_of_work() as session:
        person = registry.find_by_person_id(session, actor.person_id)
        actor.require_own(person.id)
        return _register(session, actor, person, chosen, clock.local_date(), channel, idempotency_key)


def _register(session: Session, actor: Actor, person: Person, kind: RegistrationKind, day: dt.date, channel: str,
              key: str | None) -> RegistrationOut:
    if key is not None:
        earlier = session.execute(select(Registration).where(Registration.idempotency_key == key)).scalar_one_or_none()
        if earlier is not None:
            if (earlier.person_id, earlier.kind) != (person.id, kind.value):
                raise IdempotencyMismatch(key[:40])
            return out_of(earlier, person.id_number)
    if _open(session, person.id, kind) is not None:
        raise AlreadyRegistered(kind.value, kind=kind.value)
    reg = Registration(person_id=person.id, kind=kind.value, status=RegistrationStatus.OPEN.value,
                       registered_on=day, channel=channel, outlet_code=actor.outlet_code, idempotency_key=key,
                       created_by=actor.username, created_at=clock.now())
    session.add(reg)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # another counter opened one at the same moment, or the same key raced
        raise AlreadyRegistered(kind.value, kind=kind.value) from exc
    audit.record(session, actor, "employment.register", "employment_registration", reg.id, None,
                 {**_snapshot(reg), "person_id": person.id})
    return out_of(reg, person.id_number)


def _open(session: Session, person_id: int, kind: RegistrationKind) -> Registration | None:
    return session.execute(select(Registration).where(
        Registration.person_id == person_id, Registration.kind == kind.value,
        Registration.status == RegistrationStatus.OPEN.value)).scalar_one_or_none()


def _get(session: Session, registration_id: int) -> tuple[Registration, Person]:
    reg = session.get(Registration, registration_id, with_for_update=True)
    if reg is None:
        raise RegistrationNotFound(str(registration_id), registration_id=registration_id)
    return reg, registry.find_by_person_id(session, reg.person_id)


def close_registration(db: Database, actor: Actor, registration_id: int, data: CloseIn) -> RegistrationOut:
    """注销: the registration closes on ``closed_on`` for ``reason``; its unemployment benefit, if any, is owed
    through the month of that day and no later (in the same transaction)."""
    actor.require(Permission.EMPLOYMENT_REGISTER)
    day = _day(data.closed_on, "closed_on")
    with db.unit_of_work() as session:
        reg, person = _get(session, registration_id)
        if not registration_allows(reg.status, RegistrationOp.CLOSE):
            raise RegistrationState(f"registration {reg.id} is {reg.status}", status=reg.status)
        if day < reg.registered_on:
            raise RegistrationInvalid(f"closed_on {day.isoformat()} is before the registration", field="closed_on")
        before = _snapshot(reg)
        if reg.entitlement_id is not None:
            entitlements.stop_after_in(session, actor, reg.entitlement_id, period_of(day))
        reg.status, reg.closed_on, reg.close_reason = RegistrationStatus.CLOSED.value, day, data.reason.value
        reg.closed_by = actor.username
        session.flush()
        audit.record(session, actor, "employment.close", "employment_registration", reg.id, before, _snapshot(reg))
        return out_of(reg, person.id_number)


def open_unemployment_benefit(db: Database, actor: Actor, registration_id: int,
                              data: BenefitIn | None = None) -> RegistrationOut:
    """申领失业保险金 against an open unemployment registration (核定: funds staff): the monthly amount and the
    longest duration are the policy in force on the registration day. Asked again, the registration is answered
    as it is: one registration opens one benefit."""
    actor.require(Permission.FUNDS_CORRECT)
    asked = (data or BenefitIn()).months
    with db.unit_of_work() as session:
        reg, person = _get(session, registration_id)
        if reg.kind != RegistrationKind.UNEMPLOYMENT.value:
            raise RegistrationInvalid("unemployment benefit is opened from an unemployment registration",
                                      field="kind")
        if reg.entitlement_id is not None:
            return out_of(reg, person.id_number)
        if not registration_allows(reg.status, RegistrationOp.OPEN_BENEFIT):
            raise RegistrationState(f"registration {reg.id} is {reg.status}", status=reg.status)
        amount = policy.get_int(session, UI_MONTHLY_PARAMETER, reg.registered_on)
        longest = policy.get_int(session, UI_MAX_MONTHS_PARAMETER, reg.registered_on)
        if asked is not None and asked > longest:
            raise RegistrationInvalid(f"{asked} months is more than the {longest} the policy allows",
                                      field="months", longest=longest)
        ent = entitlements.grant_in(session, actor, EntitlementIn(
            person_id=reg.person_id, kind=BenefitKind.UNEMPLOYMENT, amount=amount,
            start_period=period_of(reg.registered_on), months=asked or longest, reference=f"EMP-REG-{reg.id}"))
        before = _snapshot(reg)
        reg.entitlement_id = ent.id
        session.flush()
        audit.record(session, actor, "employment.benefit_open", "employment_registration", reg.id, before,
                     {**_snapshot(reg), "monthly_fen": amount, "months": asked or longest})
        return out_of(reg, person.id_number)


def registrations_of(db: Database, actor: Actor, person_id: int) -> list[RegistrationOut]:
    """A person's registrations, newest first (staff; a cardholder only their own). An audited read."""
    actor.require_own_or(Permission.EMPLOYMENT_READ, person_id)
    with db.unit_of_work() as session:
        person = registry.find_by_person_id(session, person_id)
        rows = session.execute(select(Registration).where(Registration.person_id == person_id)
                               .order_by(Registration.id.desc())).scalars()
        out = [out_of(r, person.id_number) for r in rows]
        audit.record_read(session, actor, "employment.registrations_read", "person", person_id,
                          "employment registrations of a person", rows=len(out))
        return out


def registrations_by_id_number(db: Database, actor: Actor, id_number: str) -> list[RegistrationOut]:
    """The counter's search: a person's registrations by ID number (audited as a read of that person)."""
    actor.require(Permission.EMPLOYMENT_READ)
    with db.unit_of_work() as session:
        person_id = registry.find_by_id_number(session, id_number).id
    return registrations_of(db, actor, person_id)


def registration(db: Database, actor: Actor, registration_id: int) -> RegistrationOut:
    if actor.role is not Role.CARDHOLDER:
        actor.require(Permission.EMPLOYMENT_READ)
    with db.unit_of_work() as session:
        reg = session.get(Registration, registration_id)
        if reg is None:
            raise RegistrationNotFound(str(registration_id), registration_id=registration_id)
        actor.require_own(reg.person_id)
        person = registry.find_by_person_id(session, reg.person_id)
        audit.record_read(session, actor, "employment.registration_read", "employment_registration", reg.id,
                          "one employment registration")
        return out_of(reg, person.id_number)
