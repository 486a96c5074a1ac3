"""A person's record carried between cities (社会保险关系转移接续): which paid months count here now, and the
months carried out to or in from another city. The transfer package (``sscard.transfer``) calls these inside
its own transaction (``_in``); only this module writes ``contrib_carried``.

A month counts here when it was paid here (a paid withholding assessment or an employer-file line) or carried
in, and has not been carried out since: per period, the entries paid or carried in less those carried out. So a
person who leaves and comes back has each month once, and every carried month is shown in the contribution
history with the city it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sscard.access import Actor
from sscard.audit import service as audit
from sscard.funds.contributions.errors import CarriedMonthsInvalid
from sscard.funds.contributions.models import ContribAssessment, ContribCarried, EmployerFile, EmployerLine
from sscard.funds.contributions.terms import AssessmentStatus, InsuranceType

CARRIED_TYPES = (InsuranceType.PENSION.value, InsuranceType.MEDICAL.value)


@dataclass(frozen=True, slots=True)
class CarriedMonth:
    """One month of the record: its base, what was paid in all and of it to the personal account (fen)."""

    period: str
    base_fen: int
    amount_fen: int
    personal_fen: int


def _entries(session: Session, person_id: int, insurance_type: str) -> dict[str, list[CarriedMonth]]:
    found: dict[str, list[CarriedMonth]] = {}

    def add(month: CarriedMonth) -> None:
        found.setdefault(month.period, []).append(month)

    for a in session.execute(select(ContribAssessment).where(
            ContribAssessment.person_id == person_id, ContribAssessment.insurance_type == insurance_type,
            ContribAssessment.status == AssessmentStatus.PAID.value)).scalars():
        add(CarriedMonth(a.period, a.base_fen or 0, a.amount_fen, a.personal_fen))
    for line, period in session.execute(select(EmployerLine, EmployerFile.period).join(
            EmployerFile, EmployerFile.id == EmployerLine.file_id).where(
            EmployerLine.person_id == person_id, EmployerLine.insurance_type == insurance_type)):
        add(CarriedMonth(period, line.base_fen, line.employer_fen + line.employee_fen, line.employee_fen))
    carried = session.execute(select(ContribCarried).where(
        ContribCarried.person_id == person_id, ContribCarried.insurance_type == insurance_type)
        .order_by(ContribCarried.id)).scalars().all()
    for row in carried:
        if row.direction == "in":
            add(CarriedMonth(row.period, row.base_fen, row.amount_fen, row.personal_fen))
    for row in carried:
        if row.direction == "out" and found.get(row.period):
            found[row.period].pop(0)
    return {period: months for period, months in found.items() if months}


def record_months(session: Session, person_id: int, insurance_type: str) -> list[CarriedMonth]:
    """The months that count here now for ``insurance_type`` (pension or medical), oldest first; two entries of
    one month (e.g. two employers) are one month with their amounts added and the larger base."""
    _check_type(insurance_type)
    out = []
    for period, months in sorted(_entries(session, person_id, insurance_type).items()):
        out.append(CarriedMonth(period, max(m.base_fen for m in months), sum(m.amount_fen for m in months),
                                sum(m.personal_fen for m in months)))
    return out


def carry_out_in(session: Session, actor: Actor, person_id: int, insurance_type: str,
                 months: Sequence[CarriedMonth], city: str, case_ref: str) -> int:
    """Mark ``months`` as carried out to ``city`` (they stop counting here), in the caller's transaction. Every
    month must count here now (``CONTRIB_CARRIED_INVALID`` otherwise). A retry of the same case writes nothing
    and returns 0."""
    _check_type(insurance_type)
    if _already(session, case_ref, "out", insurance_type):
        return 0
    counted = {m.period for m in record_months(session, person_id, insurance_type)}
    missing = sorted({m.period for m in months} - counted)
    if missing:
        raise CarriedMonthsInvalid(f"{len(missing)} months do not count here, e.g. {missing[0]}", period=missing[0])
    return _write(session, actor, person_id, insurance_type, months, "out", city, case_ref)


def carry_in_in(session: Session, actor: Actor, person_id: int, insurance_type: str,
                months: Sequence[CarriedMonth], city: str, case_ref: str) -> int:
    """Record ``months`` carried in from ``city`` (they count here as paid from now on and show in the history),
    in the caller's transaction; a retry of the same case writes nothing and returns 0."""
    _check_type(insurance_type)
    if _already(session, case_ref, "in", insurance_type):
        return 0
    return _write(session, actor, person_id, insurance_type, months, "in", city, case_ref)


def carried_in(session: Session, person_id: int) -> list[ContribCarried]:
    """The months carried in to this person (for the history), oldest first."""
    return list(session.execute(select(ContribCarried).where(
        ContribCarried.person_id == person_id, ContribCarried.direction == "in")
        .order_by(ContribCarried.period, ContribCarried.id)).scalars())


def _already(session: Session, case_ref: str, direction: str, insurance_type: str) -> bool:
    return session.execute(select(ContribCarried.id).where(
        ContribCarried.case_ref == case_ref, ContribCarried.direction == direction,
        ContribCarried.insurance_type == insurance_type).limit(1)).first() is not None


def _check_type(insurance_type: str) -> None:
    if insurance_type not in CARRIED_TYPES:
        raise CarriedMonthsInvalid(f"only {', '.join(CARRIED_TYPES)} records are carried", type=insurance_type[:15])


def _write(session: Session, actor: Actor, person_id: int, insurance_type: str, months: Sequence[CarriedMonth],
           direction: str, city: str, case_ref: str) -> int:
    periods = [m.period for m in months]
    if len(set(periods)) != len(periods):
        raise CarriedMonthsInvalid("a month twice in one record", period=periods[0])
    if not months:
        return 0
    session.execute(insert(ContribCarried), [
        {"person_id": person_id, "insurance_type": insurance_type, "period": m.period, "direction": direction,
         "base_fen": m.base_fen, "amount_fen": m.amount_fen, "personal_fen": m.personal_fen, "city": city,
         "case_ref": case_ref, "created_by": actor.username} for m in months])
    audit.record(session, actor, f"contrib.carried_{direction}", "person", person_id, None,
                 {"insurance_type": insurance_type, "months": len(months), "city": city, "case": case_ref,
                  "first": min(periods), "last": max(periods)})
    return len(months)
