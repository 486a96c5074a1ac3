"""Arrears (欠费): counting unpaid months, suspending collection after too many, and restoring it on payment.

A person's arrears are the number of distinct months with an unpaid (failed) assessment. When they reach
``contrib.arrears_suspend_months`` (default 3) collection is suspended from the next month: no new month is
assessed and nothing is withheld. ``pay_arrears`` collects the unpaid months at once through the bank's
real-time debit (oldest month first, pension → medical → unemployment), posts them, and restores collection
when nothing is owed any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks.gateway import BankGateway, CallResult, gateway_for
from sscard.db import Database
from sscard.funds import add_months
from sscard.funds.contributions import assessment, postings
from sscard.funds.contributions.errors import AuthorisationNotFound, InsuredNotFound, NoArrears, RunInProgress
from sscard.funds.contributions.models import (
    ContribAssessment,
    ContribInsured,
    ContribRun,
    WithholdingAuthorisation,
)
from sscard.funds.contributions.schemas import ArrearsPaymentResult
from sscard.funds.contributions.terms import AssessmentStatus, AuthorisationStatus, InsuredStatus, RunStatus
from sscard.registry import idnumber
from sscard.registry import service as registry

_NO_SYNC = {"synchronize_session": False}


def recount(session: Session, persons: Iterable[int] | Select[Any], period: str, suspend_after: int) -> int:
    """Recount the arrears of ``persons`` (ids, or a SELECT of person ids); suspend those at ``suspend_after``
    months or more and restore those with none. Set-based (a few statements whatever the number of persons).
    Returns how many were newly suspended."""
    if isinstance(persons, Select):
        return _recount_where(session, ContribInsured.person_id.in_(persons), period, suspend_after)
    ids, newly = sorted(set(persons)), 0
    for start in range(0, len(ids), 5000):
        newly += _recount_where(session, ContribInsured.person_id.in_(ids[start:start + 5000]), period,
                                suspend_after)
    return newly


def _recount_where(session: Session, chosen: ColumnElement[bool], period: str, suspend_after: int) -> int:
    failed = ContribAssessment.status == AssessmentStatus.FAILED.value
    counts = (select(ContribAssessment.person_id.label("pid"),
                     func.count(func.distinct(ContribAssessment.period)).label("months"))
              .where(failed, ContribAssessment.person_id.in_(select(ContribInsured.person_id).where(chosen)))
              .group_by(ContribAssessment.person_id).subquery())
    session.execute(update(ContribInsured).where(ContribInsured.person_id == counts.c.pid,
                                                 ContribInsured.arrears_months != counts.c.months)
                    .values(arrears_months=counts.c.months), execution_options=_NO_SYNC)
    owing = select(ContribAssessment.id).where(ContribAssessment.person_id == ContribInsured.person_id, failed)
    session.execute(update(ContribInsured).where(chosen, ContribInsured.arrears_months != 0, ~owing.exists())
                    .values(arrears_months=0), execution_options=_NO_SYNC)
    suspended = session.execute(
        update(ContribInsured).where(chosen, ContribInsured.status == InsuredStatus.ACTIVE.value,
                                     ContribInsured.arrears_months >= suspend_after)
        .values(status=InsuredStatus.SUSPENDED.value, suspended_from=add_months(period, 1)),
        execution_options=_NO_SYNC)
    session.execute(update(ContribInsured).where(chosen, ContribInsured.status == InsuredStatus.SUSPENDED.value,
                                                 ContribInsured.arrears_months == 0)
                    .values(status=InsuredStatus.ACTIVE.value, suspended_from=None), execution_options=_NO_SYNC)
    for row in [o for o in session.identity_map.values() if isinstance(o, ContribInsured)]:
        session.expire(row)  # the rows were changed behind the ORM's back
    return int(getattr(suspended, "rowcount", 0) or 0)


def pay_arrears(db: Database, actor: Actor, id_number: str, *,
                gateways: Callable[[str], BankGateway] | None = None) -> ArrearsPaymentResult:
    """补缴: debit every unpaid month now from the authorised account, in withholding order, stopping at the
    first refusal. Bank refs carry the attempt number, so a retry after a crash replays the bank's first answer
    instead of debiting twice."""
    actor.require(Permission.FUNDS_CORRECT)
    pick = gateways or (lambda code: gateway_for(code, db=db))
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        if session.get(ContribInsured, person.id) is None:
            raise InsuredNotFound(idnumber.mask(person.id_number))
        busy = session.execute(select(ContribRun.period).where(ContribRun.status != RunStatus.DONE.value)
                               .limit(1)).scalar_one_or_none()
        if busy is not None:
            raise RunInProgress(f"the {busy} withholding run is unfinished", period=busy)
        auth = session.execute(select(WithholdingAuthorisation).where(
            WithholdingAuthorisation.person_id == person.id,
            WithholdingAuthorisation.status == AuthorisationStatus.ACTIVE.value)).scalar_one_or_none()
        if auth is None:
            raise AuthorisationNotFound(idnumber.mask(person.id_number))
        owed = session.execute(select(ContribAssessment.id, ContribAssessment.amount_fen, ContribAssessment.attempts)
                               .where(ContribAssessment.person_id == person.id,
                                      ContribAssessment.status == AssessmentStatus.FAILED.value)
                               .order_by(ContribAssessment.period, ContribAssessment.rank)).all()
        if not owed:
            raise NoArrears(idnumber.mask(person.id_number))
        bank_code, account_no, holder = auth.bank_code, auth.account_no, auth.holder_name
    gateway = pick(bank_code)
    answers: dict[int, CallResult] = {}
    for a_id, amount, attempts in owed:  # outside any transaction: the embedded bank shares the database
        answers[a_id] = gateway.debit(account_no, holder, amount, f"ARR-{a_id}-{attempts}")
        if not answers[a_id].ok:
            break
    return _record(db, actor, person.id, bank_code, answers)


def _record(db: Database, actor: Actor, person_id: int, bank_code: str,
            answers: dict[int, CallResult]) -> ArrearsPaymentResult:
    with db.unit_of_work() as session:
        rows = session.execute(select(ContribAssessment).where(ContribAssessment.id.in_(sorted(answers)))
                               .order_by(ContribAssessment.id).with_for_update()).scalars().all()
        now = clock.now()
        payments, paid_fen, reason = [], 0, None
        for row in rows:
            if row.status != AssessmentStatus.FAILED.value:
                continue  # recorded by an earlier attempt of this call
            answer = answers[row.id]
            row.attempts += 1
            if answer.ok:
                row.status, row.last_reason = AssessmentStatus.PAID.value, None
                row.paid_via, row.paid_at = "counter", now
                paid_fen += row.amount_fen
                payments.append(postings.Payment(
                    key=f"contrib:{row.id}", bank_code=bank_code, pool=postings.pool_account(row.scheme),
                    pool_fen=row.pool_fen, personal=postings.personal_account(row.person_id, row.insurance_type)
                    if row.personal_fen else None, personal_fen=row.personal_fen, code="contrib.arrears",
                    reference=f"{row.period}:{row.person_id}"))
            else:
                row.last_reason = answer.reason.value if answer.reason else "REFUSED"
                reason = row.last_reason
        postings.post(session, postings.transfers_for(payments))
        session.flush()
        latest = max((r.period for r in rows), default=None)
        period = latest or clock.local_date().strftime("%Y-%m")
        recount(session, [person_id], period, assessment.load_rates(session, period).arrears_suspend_months)
        insured = session.get(ContribInsured, person_id)
        assert insured is not None
        left = session.execute(select(func.count(), func.coalesce(func.sum(ContribAssessment.amount_fen), 0))
                               .where(ContribAssessment.person_id == person_id,
                                      ContribAssessment.status == AssessmentStatus.FAILED.value)).one()
        audit.record(session, actor, "contrib.arrears.pay", "person", person_id, None,
                     {"paid": len(payments), "paid_fen": paid_fen, "reason": reason, "status": insured.status})
        return ArrearsPaymentResult(person_id=person_id, paid_count=len(payments), paid_fen=paid_fen,
                                    still_owed_count=int(left[0]), still_owed_fen=int(left[1]), reason=reason,
                                    status=insured.status)
