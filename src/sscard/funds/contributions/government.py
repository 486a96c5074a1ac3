"""政府代缴: residents' contributions the government pays for persons a department lists (低保 minimum-living
recipients, 特困 persons in extreme poverty, the severely disabled). The list names the person, the category and
the months; the person is enrolled in the residents' schemes if they are not yet (pension at the lowest level,
medical); the month run pays their residents' assessments of those months from
``government:<category>:contribution`` instead of withholding them from the bank (``pay_listed_in``, called by
the withholding run before it builds the debit files), in the same transaction as the assessments' status."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.errors import DomainError
from sscard.funds import parse_period
from sscard.funds.contributions import postings
from sscard.funds.contributions.models import ContribAssessment, ContribEnrolment, GovernmentPayer
from sscard.funds.contributions.terms import AssessmentStatus, ContribScheme
from sscard.ledger import chart
from sscard.ledger.bulk import BulkTransfer
from sscard.registry.models import Person

CATEGORIES = ("dibao", "tekun", "disability")
RESIDENT_SCHEMES = (ContribScheme.RESIDENT_PENSION.value, ContribScheme.RESIDENT_MEDICAL.value)
TRANSFER_CODE = "contrib.government"
_UNPAID = (AssessmentStatus.DUE.value, AssessmentStatus.FAILED.value)


def designate_in(session: Session, actor: Actor, person: Person, category: str, from_period: str,
                 to_period: str | None, source: str) -> list[str]:
    """The government pays ``person``'s residents' contributions from ``from_period`` (to ``to_period``), inside
    the caller's transaction; the same listing again changes nothing. Returns the schemes the person was
    enrolled in now (empty when already enrolled, or when they are insured in another category: an employee's
    or flexible worker's contributions are not the government's to pay)."""
    actor.require(Permission.FUNDS_CORRECT)
    if category not in CATEGORIES:
        raise ValueError(f"category {category!r}")
    start = parse_period(from_period)
    end = parse_period(to_period) if to_period else None
    existing = session.get(GovernmentPayer, (person.id, category, start))
    if existing is None:
        session.add(GovernmentPayer(person_id=person.id, category=category, from_period=start, to_period=end,
                                    source=source[:64]))
    elif existing.to_period != end:
        existing.to_period = end
    from sscard.funds.contributions.service import enrol_in

    enrolled: list[str] = []
    current = set(session.execute(select(ContribEnrolment.scheme).where(
        ContribEnrolment.person_id == person.id, ContribEnrolment.scheme.in_(RESIDENT_SCHEMES),
        or_(ContribEnrolment.end_period.is_(None), ContribEnrolment.end_period >= start))).scalars())
    for scheme, level in ((ContribScheme.RESIDENT_PENSION, 1), (ContribScheme.RESIDENT_MEDICAL, None)):
        if scheme.value in current:
            continue
        try:
            with session.begin_nested():
                enrol_in(session, actor, person, scheme, start, level=level)
            enrolled.append(scheme.value)
        except DomainError:  # another category (CONTRIB_CATEGORY_MISMATCH): not a residents' contribution
            continue
    session.flush()
    audit.record(session, actor, "contrib.government_payer", "person", person.id, None,
                 {"category": category, "from_period": start, "to_period": end, "source": source[:64],
                  "enrolled": enrolled})
    return enrolled


def pay_listed_in(session: Session, period: str) -> tuple[int, int]:
    """Pay every unpaid residents' assessment up to ``period`` of a person listed for its month, from the
    government's account; returns (assessments, fen). Called by the withholding run (whose caller was
    authorised) before the debit files are built, so none of these reaches a bank."""
    a, g = ContribAssessment, GovernmentPayer
    rows = session.execute(
        select(a.id, a.person_id, a.scheme, a.insurance_type, a.pool_fen, a.personal_fen, a.period, g.category)
        .join(g, g.person_id == a.person_id)
        .where(a.status.in_(_UNPAID), a.period <= period, a.scheme.in_(RESIDENT_SCHEMES),
               g.from_period <= a.period, or_(g.to_period.is_(None), g.to_period >= a.period))
        .order_by(a.id, g.category)).all()
    seen: set[int] = set()
    transfers: list[BulkTransfer] = []
    total = 0
    for a_id, person_id, scheme, insurance_type, pool_fen, personal_fen, a_period, category in rows:
        if a_id in seen:  # listed under two categories: paid once
            continue
        seen.add(a_id)
        payer = chart.GovernmentContribution(category).code
        reference = f"{a_period}:{person_id}"
        if pool_fen:
            transfers.append(BulkTransfer(f"contrib:{a_id}:pool", payer, postings.pool_account(scheme), pool_fen,
                                          TRANSFER_CODE, reference))
        personal = postings.personal_account(person_id, insurance_type)
        if personal_fen and personal is not None:
            transfers.append(BulkTransfer(f"contrib:{a_id}:acct", payer, personal, personal_fen, TRANSFER_CODE,
                                          reference))
        total += pool_fen + personal_fen
    if not seen:
        return 0, 0
    postings.post(session, transfers)
    ids = sorted(seen)
    now = clock.now()
    for start in range(0, len(ids), 500):
        session.execute(update(ContribAssessment).where(ContribAssessment.id.in_(ids[start:start + 500]))
                        .values(status=AssessmentStatus.PAID.value, paid_via="government", paid_at=now,
                                last_reason=None), execution_options={"synchronize_session": False})
    return len(ids), total


def payers_of(session: Session, person_id: int) -> list[GovernmentPayer]:
    return list(session.execute(select(GovernmentPayer).where(GovernmentPayer.person_id == person_id)
                                .order_by(GovernmentPayer.from_period)).scalars())
