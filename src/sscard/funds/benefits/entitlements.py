"""Entitlement use cases: grant (核定), adjust the amount from a month on (调待), certify survival (资格认证), end.

Each is one transaction with its audit record. A grant whose start month lies before a month already run is
owed those months as holds, released (back-paid) in the next run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.funds import FUNDS, add_months, parse_period, period_index
from sscard.funds.benefits.dues import CERTIFICATION_MONTHS
from sscard.funds.benefits.errors import (
    AmountMonthRun,
    BenefitPersonNotFound,
    CertificationInvalid,
    CertificationNotNeeded,
    EntitlementInvalid,
    EntitlementNotFound,
)
from sscard.funds.benefits.models import (
    CERTIFIED_KINDS,
    DEFAULT_FUND,
    ONE_OFF_KINDS,
    BenefitKind,
    Certification,
    DisbursementLine,
    Entitlement,
    EntitlementAmount,
    Hold,
    MonthRun,
)
from sscard.funds.benefits.schemas import CertificationStanding, EntitlementIn, EntitlementOut
from sscard.policy import service as policy
from sscard.registry.models import Person

CERTIFICATION_METHODS = ("award", "counter", "kiosk", "card", "video", "home_visit")


def grant_entitlement(db: Database, actor: Actor, data: EntitlementIn) -> EntitlementOut:
    actor.require(Permission.FUNDS_CORRECT)
    with db.unit_of_work() as session:
        return grant_in(session, actor, data)


def grant_in(session: Session, actor: Actor, data: EntitlementIn) -> EntitlementOut:
    """核定 inside the caller's transaction, for another package's use case that decides the award itself (an
    unemployment registration, an approved employment subsidy): that use case has authorised ``actor``."""
    start = parse_period(data.start_period)
    kind = BenefitKind(data.kind)
    fund = data.fund or DEFAULT_FUND[kind]
    if fund not in FUNDS:
        raise EntitlementInvalid(f"fund {fund!r} is none of {', '.join(FUNDS)}", fund=fund)
    if kind in ONE_OFF_KINDS and data.months not in (None, 1):
        raise EntitlementInvalid("a one-off is paid once (months = 1)")
    if kind is BenefitKind.UNEMPLOYMENT and data.months is None:
        raise EntitlementInvalid("unemployment benefit runs for a duration: give months")
    months = 1 if kind in ONE_OFF_KINDS else data.months
    end = add_months(start, months - 1) if months is not None else None
    if session.get(Person, data.person_id) is None:
        raise BenefitPersonNotFound(str(data.person_id), person_id=data.person_id)
    ent = Entitlement(person_id=data.person_id, kind=kind.value, fund=fund, start_period=start,
                      end_period=end, status="active", reference=data.reference, created_by=actor.username)
    session.add(ent)
    session.flush()
    session.add(EntitlementAmount(entitlement_id=ent.id, from_period=start, amount=data.amount,
                                  note="核定", created_by=actor.username))
    if kind in CERTIFIED_KINDS:  # the award itself saw the person: the first certification
        session.add(Certification(person_id=data.person_id, certified_on=clock.local_date(), method="award",
                                  created_by=actor.username))
    _owe_past_months(session, ent)
    out = EntitlementOut.model_validate(ent)
    audit.record(session, actor, "benefit.grant", "entitlement", ent.id, None,
                 {**out.model_dump(), "amount": data.amount})
    return out


def _owe_past_months(session: Session, ent: Entitlement) -> None:
    """Months of a late grant that earlier runs could not know about: holds, released by the next run."""
    last_run = session.execute(select(func.max(MonthRun.period))).scalar_one_or_none()
    if last_run is None or ent.start_period > last_run:
        return
    if ent.kind in {k.value for k in ONE_OFF_KINDS}:
        return  # a one-off stays due until paid: the next run finds it
    last = min(last_run, ent.end_period) if ent.end_period else last_run
    now = clock.now()
    session.execute(insert(Hold), [
        {"entitlement_id": ent.id, "period_due": add_months(ent.start_period, i), "person_id": ent.person_id,
         "reason": "LATE_GRANT", "state": "open", "created_at": now}
        for i in range(period_index(last) - period_index(ent.start_period) + 1)])


def adjust_amount(db: Database, actor: Actor, entitlement_id: int, from_period: str, amount: int,
                  note: str | None = None) -> EntitlementOut:
    """A new amount from ``from_period`` on (e.g. the yearly pension increase); earlier months keep theirs.

    Amounts are appended, never rewritten: a second amount for the same month is its next version, the earlier
    one kept. A month some month run already covered (``from_period`` at or before the latest run) is refused
    (``BENEFIT_AMOUNT_MONTH_RUN``): what was paid stays what was paid, and a wrong payment is corrected through
    the re-issue / correction path. A month before today that no run has covered yet is still due and may
    change."""
    actor.require(Permission.FUNDS_CORRECT)
    start = parse_period(from_period)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise EntitlementInvalid("the amount is a positive whole number of fen")
    with db.unit_of_work() as session:
        ent = _get(session, entitlement_id)
        last_run = session.execute(select(func.max(MonthRun.period))).scalar_one_or_none()
        if last_run is not None and start <= last_run:
            raise AmountMonthRun(f"{start} is at or before the last month run ({last_run})", from_period=start,
                                 last_run=last_run)
        row = session.execute(select(EntitlementAmount).where(EntitlementAmount.entitlement_id == entitlement_id,
                                                              EntitlementAmount.from_period == start)
                              .order_by(EntitlementAmount.version.desc()).limit(1)).scalar_one_or_none()
        before = {"amount": row.amount, "version": row.version, "note": row.note} if row else None
        version = row.version + 1 if row else 1
        session.add(EntitlementAmount(entitlement_id=entitlement_id, from_period=start, version=version,
                                      amount=amount, note=note, created_by=actor.username))
        session.flush()
        audit.record(session, actor, "benefit.adjust", "entitlement", entitlement_id, before,
                     {"from_period": start, "amount": amount, "note": note, "version": version})
        return EntitlementOut.model_validate(ent)


def end_entitlement(db: Database, actor: Actor, entitlement_id: int, last_period: str) -> EntitlementOut:
    """No month after ``last_period`` is owed (death confirmed, re-employment, duration cut)."""
    actor.require(Permission.FUNDS_CORRECT)
    last = parse_period(last_period)
    with db.unit_of_work() as session:
        ent = _get(session, entitlement_id)
        if last < add_months(ent.start_period, -1):
            raise EntitlementInvalid("the last month cannot be before the month before the start")
        before = {"end_period": ent.end_period, "status": ent.status}
        ent.end_period, ent.status = last, "ended"
        out = EntitlementOut.model_validate(ent)
        audit.record(session, actor, "benefit.end", "entitlement", entitlement_id, before,
                     {"end_period": last, "status": "ended"})
        return out


def stop_after_in(session: Session, actor: Actor, entitlement_id: int, last_period: str) -> EntitlementOut:
    """No month after ``last_period`` is owed, inside the caller's transaction (the use case that stops it — an
    unemployment registration closed — has authorised ``actor``). An end already earlier stays; a month after
    ``last_period`` already paid out is refused (``BENEFIT_ENTITLEMENT_INVALID``): it is recovered through a
    correction, never silently kept."""
    last = parse_period(last_period)
    ent = _get(session, entitlement_id)
    if ent.end_period is not None and ent.end_period <= last:
        last = ent.end_period
    last = max(last, add_months(ent.start_period, -1))
    paid_after = session.execute(select(DisbursementLine.period_due).where(
        DisbursementLine.entitlement_id == entitlement_id, DisbursementLine.period_due > last).limit(1)).first()
    if paid_after is not None:
        raise EntitlementInvalid(f"{paid_after[0]} is after {last} and already in a disbursement batch",
                                 entitlement_id=entitlement_id)
    before = {"end_period": ent.end_period, "status": ent.status}
    ent.end_period, ent.status = last, "ended"
    out = EntitlementOut.model_validate(ent)
    audit.record(session, actor, "benefit.end", "entitlement", entitlement_id, before,
                 {"end_period": last, "status": "ended"})
    return out


def certify(db: Database, actor: Actor, person_id: int, on: dt.date | None = None, method: str = "counter") -> int:
    """Record a survival certification; months stopped for want of it are back-paid in the next run."""
    actor.require(Permission.FUNDS_CERTIFY)
    day = on or clock.local_date()
    if day > clock.local_date() or method not in CERTIFICATION_METHODS:
        raise CertificationInvalid(f"{day.isoformat()} / {method}", method=method)
    with db.unit_of_work() as session:
        if session.get(Person, person_id) is None:
            raise BenefitPersonNotFound(str(person_id), person_id=person_id)
        row = Certification(person_id=person_id, certified_on=day, method=method, created_by=actor.username)
        session.add(row)
        session.flush()
        audit.record(session, actor, "benefit.certify", "person", person_id, None,
                     {"certified_on": day.isoformat(), "method": method})
        return row.id


def _certified_entitlements(session: Session, person_id: int) -> list[str]:
    kinds = sorted(k.value for k in CERTIFIED_KINDS)
    return sorted({kind for (kind,) in session.execute(select(Entitlement.kind).where(
        Entitlement.person_id == person_id, Entitlement.status == "active", Entitlement.kind.in_(kinds)))})


def certification_standing(db: Database, actor: Actor, person_id: int) -> CertificationStanding:
    """资格认证 as the person sees it: whether a benefit of theirs needs it, the last certification and the day the
    next one is due (policy ``benefits.certification_months`` after the last). A cardholder sees only their own."""
    actor.require_own_or(Permission.FUNDS_READ, person_id)
    with db.unit_of_work() as session:
        kinds = _certified_entitlements(session, person_id)
        last = session.execute(select(func.max(Certification.certified_on))
                               .where(Certification.person_id == person_id)).scalar_one_or_none()
        months = policy.get_int(session, CERTIFICATION_MONTHS, clock.local_date())
        due = _add_months_to_day(last, months) if last is not None else None
        audit.record_read(session, actor, "benefit.certification_read", "person", person_id,
                          "certification standing of a person", kinds=len(kinds))
        return CertificationStanding(needed=bool(kinds), kinds=kinds, last_certified_on=last, due_on=due)


def _add_months_to_day(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last_day in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last_day))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def certify_own_at_kiosk(db: Database, actor: Actor) -> int:
    """资格认证 at a self-service kiosk by the cardholder (their card in the reader and its query password): recorded
    as method ``kiosk`` for today; refused (``BENEFIT_CERTIFICATION_NOT_NEEDED``) without a benefit that needs it."""
    actor.require(Permission.PORTAL_SELF)
    if actor.person_id is None:
        raise CertificationInvalid("a kiosk certification needs a cardholder")
    person_id = actor.person_id
    actor.require_own(person_id)
    with db.unit_of_work() as session:
        if not _certified_entitlements(session, person_id):
            raise CertificationNotNeeded(str(person_id), person_id=person_id)
        day = clock.local_date()
        row = Certification(person_id=person_id, certified_on=day, method="kiosk", created_by=actor.username)
        session.add(row)
        session.flush()
        audit.record(session, actor, "benefit.certify", "person", person_id, None,
                     {"certified_on": day.isoformat(), "method": "kiosk"})
        return row.id


def entitlements_of(db: Database, actor: Actor, person_id: int) -> list[EntitlementOut]:
    with db.unit_of_work() as session:
        return entitlements_of_in(session, actor, person_id)


def entitlements_of_in(session: Session, actor: Actor, person_id: int) -> list[EntitlementOut]:
    """A person's entitlements read (and the read audited) in the caller's transaction — a department's answer
    about pension receipt is read in the same transaction as its access record."""
    actor.require(Permission.FUNDS_READ)
    rows = session.execute(select(Entitlement).where(Entitlement.person_id == person_id)
                           .order_by(Entitlement.id)).scalars()
    out = [EntitlementOut.model_validate(r) for r in rows]
    audit.record_read(session, actor, "benefit.entitlements_read", "person", person_id,
                      "benefit entitlements of a person", rows=len(out))
    return out


def _get(session: Session, entitlement_id: int) -> Entitlement:
    ent = session.get(Entitlement, entitlement_id, with_for_update=True)
    if ent is None:
        raise EntitlementNotFound(str(entitlement_id), entitlement_id=entitlement_id)
    return ent
