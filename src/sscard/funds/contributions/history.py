"""Reading contributions: a person's history for the cardholder portal and the counter, batches and failures
for operators."""

from __future__ import annotations

from sqlalchemy import select

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.funds import parse_period, period_index
from sscard.funds.contributions import carried
from sscard.funds.contributions.models import (
    ContribAssessment,
    ContribEnrolment,
    ContribInsured,
    EmployerFile,
    EmployerLine,
    WithholdingBatch,
    WithholdingLine,
)
from sscard.funds.contributions.schemas import BatchOut, ContributionRecord, FailureOut, InsuranceStanding
from sscard.funds.contributions.terms import ADVICE, AssessmentStatus, InsuredStatus


def _require_reader(actor: Actor, person_id: int) -> None:
    actor.require_own_or(Permission.FUNDS_READ, person_id)


def contribution_history(db: Database, actor: Actor, person_id: int) -> list[ContributionRecord]:
    """缴费记录: every assessed month (withholding) and every employer-paid month, newest first, with what to do
    about an unpaid one. A cardholder sees only their own."""
    _require_reader(actor, person_id)
    with db.unit_of_work() as session:
        records: list[ContributionRecord] = []
        for a in session.execute(select(ContribAssessment).where(ContribAssessment.person_id == person_id)).scalars():
            advice = ADVICE.get(a.last_reason or "") if a.status == AssessmentStatus.FAILED.value else None
            records.append(ContributionRecord(
                period=a.period, scheme=a.scheme, insurance_type=a.insurance_type, source="withholding",
                base_fen=a.base_fen, amount_fen=a.amount_fen, personal_fen=a.personal_fen, status=a.status,
                paid_at=a.paid_at, attempts=a.attempts, last_reason=a.last_reason,
                advice_zh=advice[0] if advice else None, advice_en=advice[1] if advice else None,
                employer_fen=0, employee_fen=a.amount_fen))
        for line, file in session.execute(select(EmployerLine, EmployerFile).join(
                EmployerFile, EmployerFile.id == EmployerLine.file_id).where(EmployerLine.person_id == person_id)):
            personal = line.employee_fen if line.insurance_type != "unemployment" else 0
            records.append(ContributionRecord(
                period=file.period, scheme=f"employee_{line.insurance_type}", insurance_type=line.insurance_type,
                source="employer", base_fen=line.base_fen, amount_fen=line.employer_fen + line.employee_fen,
                personal_fen=personal, status=AssessmentStatus.PAID.value, paid_at=file.imported_at, attempts=1,
                last_reason=None, advice_zh=None, advice_en=None, employer_fen=line.employer_fen,
                employee_fen=line.employee_fen))
        for row in carried.carried_in(session, person_id):  # months carried in from another city (docs/transfer.md)
            records.append(ContributionRecord(
                period=row.period, scheme=f"transfer_{row.insurance_type}", insurance_type=row.insurance_type,
                source="transfer", base_fen=row.base_fen, amount_fen=row.amount_fen, personal_fen=row.personal_fen,
                status=AssessmentStatus.PAID.value, paid_at=row.created_at, attempts=1, last_reason=None,
                advice_zh=None, advice_en=None, from_city=row.city))
        records.sort(key=lambda r: (r.period, r.insurance_type, r.scheme), reverse=True)
        audit.record_read(session, actor, "contrib.history", "person", person_id, "contribution history of a person",
                          records=len(records))
        return records


# The insurance types a standing is given for, in the order 参保证明 lists them.
STANDING_TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")
EMPLOYER_CURRENT_MONTHS = 3  # an employer's file within this many months: still paying through the employer


def insurance_standing(db: Database, actor: Actor, person_id: int) -> list[InsuranceStanding]:
    """参保状态 per insurance type and 缴费年限 (distinct months paid), from the enrolments, the collected assessments
    and the employers' files. A cardholder sees only their own."""
    _require_reader(actor, person_id)
    now = period_index(clock.local_date().strftime("%Y-%m"))
    with db.unit_of_work() as session:
        paid: dict[str, set[str]] = {t: set() for t in STANDING_TYPES}
        employer_last: dict[str, str] = {}
        for a in session.execute(select(ContribAssessment).where(
                ContribAssessment.person_id == person_id,
                ContribAssessment.status == AssessmentStatus.PAID.value)).scalars():
            paid.setdefault(a.insurance_type, set()).add(a.period)
        for itype, period in session.execute(select(EmployerLine.insurance_type, EmployerFile.period).join(
                EmployerFile, EmployerFile.id == EmployerLine.file_id).where(EmployerLine.person_id == person_id)):
            paid.setdefault(itype, set()).add(period)
            employer_last[itype] = max(period, employer_last.get(itype, period))
        open_types = {e.insurance_type for e in session.execute(select(ContribEnrolment).where(
            ContribEnrolment.person_id == person_id, ContribEnrolment.end_period.is_(None))).scalars()}
        insured = session.get(ContribInsured, person_id)
        suspended = insured is not None and insured.status == InsuredStatus.SUSPENDED.value
        out = []
        for itype in (*STANDING_TYPES, *sorted(set(paid) - set(STANDING_TYPES))):
            months = sorted(paid[itype])
            by_employer = itype in employer_last and now - period_index(employer_last[itype]) < EMPLOYER_CURRENT_MONTHS
            if by_employer:
                status, payer = "paying", "employer"
            elif itype in open_types:
                status, payer = ("suspended" if suspended else "paying"), "self"
            else:
                status, payer = ("stopped" if months else "none"), None
            out.append(InsuranceStanding(insurance_type=itype, status=status,
                                         first_period=months[0] if months else None,
                                         last_paid_period=months[-1] if months else None, months_paid=len(months),
                                         payer=payer))
        audit.record_read(session, actor, "contrib.standing", "person", person_id,
                          "insurance standing of a person", records=len(out))
        return out


def batches(db: Database, actor: Actor, period: str) -> list[BatchOut]:
    """The month's debit batches with their success and failure totals."""
    actor.require(Permission.FUNDS_READ)
    period = parse_period(period)
    with db.unit_of_work() as session:
        return [BatchOut.model_validate(b) for b in session.execute(
            select(WithholdingBatch).where(WithholdingBatch.period == period)
            .order_by(WithholdingBatch.bank_code)).scalars()]


def failures(db: Database, actor: Actor, period: str) -> list[FailureOut]:
    """Every line of the month's batches the bank refused, and every assessment that went unsent because no
    authorisation was active, with the reason and the advice."""
    actor.require(Permission.FUNDS_READ)
    period = parse_period(period)
    out: list[FailureOut] = []
    with db.unit_of_work() as session:
        for batch_no, line, a in session.execute(
                select(WithholdingBatch.batch_no, WithholdingLine, ContribAssessment)
                .join(WithholdingLine, WithholdingLine.batch_id == WithholdingBatch.id)
                .join(ContribAssessment, ContribAssessment.id == WithholdingLine.assessment_id)
                .where(WithholdingBatch.period == period, WithholdingLine.status == "failed")
                .order_by(WithholdingBatch.batch_no, WithholdingLine.line_no)):
            out.append(_failure(batch_no, line.line_no, a, line.reason or ""))
        sent = select(WithholdingLine.assessment_id).join(
            WithholdingBatch, WithholdingBatch.id == WithholdingLine.batch_id).where(WithholdingBatch.period == period)
        for a in session.execute(select(ContribAssessment).where(
                ContribAssessment.status == AssessmentStatus.FAILED.value, ContribAssessment.period <= period,
                ContribAssessment.last_reason.like("AUTHORISATION_%"), ContribAssessment.id.not_in(sent))
                .order_by(ContribAssessment.person_id, ContribAssessment.period)).scalars():
            out.append(_failure(None, None, a, a.last_reason or ""))
        audit.record_read(session, actor, "contrib.failures_read", "contrib_run", period,
                          "the month's refused debits", rows=len(out))
    return out


def _failure(batch_no: str | None, line_no: int | None, a: ContribAssessment, reason: str) -> FailureOut:
    zh, en = ADVICE.get(reason, ("", ""))
    return FailureOut(batch_no=batch_no, line_no=line_no, person_id=a.person_id, assessment_id=a.id, period=a.period,
                      scheme=a.scheme, amount_fen=a.amount_fen, reason=reason, advice_zh=zh, advice_en=en)
