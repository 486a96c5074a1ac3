"""The month's bank withholding (代扣), resumable: assess → build debit files → submit → import returns.

``run_withholding_month(db, actor, period)`` runs whatever steps of the month are still to do; each step is
its own transaction and leaves ``contrib_runs.status`` saying what comes next, so a crash at any point is
resumed by running the month again and nothing is collected or posted twice:

- assessing: one assessment per active enrolment of an active, living insured person (unique per period);
- batching: every unpaid assessment (this month's and earlier failed months': the retry of a failed month rides
  with the next month's run) of a person whose collection is not suspended goes into one debit file per bank,
  ordered person by person, oldest month first and, within a month, pension → medical → unemployment, so a
  short balance pays the earlier lines (the bank applies lines in file order). Without an active
  authorisation the assessment fails here with AUTHORISATION_MISSING / AUTHORISATION_LAPSED;
- at_bank: each stored file is submitted (the bank recognises a resubmitted file and returns the same handle)
  and its return imported in one transaction with the ledger postings and the arrears count. A tampered return
  is refused whole (``BankFileRejected``) and nothing of it is applied; the run stays at_bank.

Bank calls happen between transactions, never inside one (the embedded simulated bank shares the database).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import bulksql as bulk
from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks import files
from sscard.banks.gateway import BankGateway, gateway_for
from sscard.db import Database
from sscard.funds import first_day, parse_period
from sscard.funds.contributions import arrears, assessment, government, postings
from sscard.funds.contributions.errors import PeriodClosed, RunInProgress
from sscard.funds.contributions.models import (
    ContribAssessment,
    ContribEnrolment,
    ContribInsured,
    ContribRun,
    WithholdingAuthorisation,
    WithholdingBatch,
    WithholdingLine,
)
from sscard.funds.contributions.schemas import BatchOut, ProgressFn, RunResult
from sscard.funds.contributions.terms import (
    AUTHORISATION_LAPSED,
    AUTHORISATION_MISSING,
    LAPSING_REASONS,
    WITHHOLDING_RANK,
    AssessmentStatus,
    AuthorisationStatus,
    BatchStatus,
    ContribScheme,
    InsuranceType,
    InsuredStatus,
    RunStatus,
)
from sscard.registry.models import Person
from sscard.registry.schemas import LivingStatus

GatewayFor = Callable[[str], BankGateway]
UNPAID = (AssessmentStatus.DUE.value, AssessmentStatus.FAILED.value)
_NO_SYNC = {"synchronize_session": False}  # set-based updates of rows this session has not loaded


def run_withholding_month(db: Database, actor: Actor, period: str, progress: ProgressFn | None = None, *,
                          gateways: GatewayFor | None = None) -> RunResult:
    """Run (or resume) the month's withholding; returns where it stands. A finished month returns its result
    again (``replayed``) and changes nothing. ``gateways`` picks the bank gateway per bank code (default: the
    configured ``sscard.banks.gateway.gateway_for``)."""
    actor.require(Permission.FUNDS_RUN)
    period = parse_period(period)
    report = progress or _quiet
    pick = gateways or (lambda code: gateway_for(code, db=db))
    status = _start(db, actor, period)
    if status == RunStatus.DONE:
        return result(db, period, replayed=True)
    if status == RunStatus.ASSESSING:
        _assess(db, period, report)
    if status in (RunStatus.ASSESSING, RunStatus.BATCHING):
        _build_batches(db, actor, period, report)
    _exchange(db, actor, period, pick, report)
    _finish(db, actor, period)
    return result(db, period)


def _quiet(step: str, done: int, total: int) -> None:
    return None


def _start(db: Database, actor: Actor, period: str) -> str:
    with db.unit_of_work() as session:
        run = session.get(ContribRun, period)
        if run is not None:
            return run.status
        # The same month is excluded: a twin call may have committed it since the get above (READ COMMITTED
        # takes a new snapshot per statement); the insert below then fails on the key and joins that run.
        other = session.execute(select(ContribRun.period).where(ContribRun.status != RunStatus.DONE.value,
                                                                ContribRun.period != period)
                                .limit(1)).scalar_one_or_none()
        if other is not None:
            raise RunInProgress(f"{other} is not finished", period=other)
        latest = session.execute(select(func.max(ContribRun.period))).scalar_one_or_none()
        if latest is not None and latest > period:
            raise PeriodClosed(f"{latest} has already been run", period=latest)
        try:
            with session.begin_nested():
                session.add(ContribRun(period=period, status=RunStatus.ASSESSING.value, assessed=0,
                                       not_authorised=0, not_authorised_fen=0, started_by=actor.username))
        except IntegrityError:  # a concurrent caller started the same month first: join it
            return str(session.execute(select(ContribRun.status).where(ContribRun.period == period)).scalar_one())
        audit.record(session, actor, "contrib.run.start", "contrib_run", period, None, {"period": period})
        return RunStatus.ASSESSING.value


def _lock_run(session: Session, period: str, expected: RunStatus) -> ContribRun | None:
    run = session.execute(select(ContribRun).where(ContribRun.period == period).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one()
    return run if run.status == expected.value else None


# ---------------------------------------------------------------------------------------------------- assessing


def _assess(db: Database, period: str, report: ProgressFn) -> None:
    with db.unit_of_work() as session:
        run = _lock_run(session, period, RunStatus.ASSESSING)
        if run is None:
            return
        rates = assessment.load_rates(session, period)
        already = exists().where(ContribAssessment.enrolment_id == ContribEnrolment.id,
                                 ContribAssessment.period == period)
        rows = session.execute(
            select(ContribEnrolment.id, ContribEnrolment.person_id, ContribEnrolment.scheme,
                   ContribEnrolment.insurance_type, ContribEnrolment.base_ratio_bp, ContribEnrolment.level)
            .join(ContribInsured, ContribInsured.person_id == ContribEnrolment.person_id)
            .join(Person, Person.id == ContribEnrolment.person_id)
            .where(ContribInsured.status == InsuredStatus.ACTIVE.value,
                   Person.living_status == LivingStatus.ALIVE.value,
                   ContribEnrolment.start_period <= period,
                   or_(ContribEnrolment.end_period.is_(None), ContribEnrolment.end_period >= period), ~already)
            .order_by(ContribEnrolment.id)
        ).all()
        new: list[dict[str, Any]] = []
        for enrolment_id, person_id, scheme, insurance_type, ratio, level in rows:
            split = assessment.assess(rates, ContribScheme(scheme), ratio, level)
            if split.amount_fen <= 0:  # a level or flat amount set to 0 by policy: nothing is owed
                continue
            new.append({"person_id": person_id, "enrolment_id": enrolment_id, "period": period, "scheme": scheme,
                        "insurance_type": insurance_type, "rank": WITHHOLDING_RANK[InsuranceType(insurance_type)],
                        "base_fen": split.base_fen, "rate_bp": split.rate_bp, "level": split.level,
                        "amount_fen": split.amount_fen, "pool_fen": split.pool_fen,
                        "personal_fen": split.personal_fen, "status": AssessmentStatus.DUE.value, "attempts": 0,
                        "created_at": clock.now()})
        columns = list(new[0]) if new else []
        for start in range(0, len(new), 20_000):
            chunk = [tuple(r.values()) for r in new[start:start + 20_000]]
            _insert_rows(session, "contrib_assessments", columns, chunk)
            report("contributions: assess", min(start + 20_000, len(new)), len(new))
        run.assessed, run.status = len(new), RunStatus.BATCHING.value


# ---------------------------------------------------------------------------------------------------- batching


def _build_batches(db: Database, actor: Actor, period: str, report: ProgressFn) -> None:
    with db.unit_of_work() as session:
        run = _lock_run(session, period, RunStatus.BATCHING)
        if run is None:
            return
        by_government = government.pay_listed_in(session, period)  # 政府代缴: never sent to a bank
        unpaid = session.execute(
            select(ContribAssessment.id, ContribAssessment.person_id, ContribAssessment.amount_fen,
                   ContribAssessment.attempts, Person.id_number)
            .join(ContribInsured, ContribInsured.person_id == ContribAssessment.person_id)
            .join(Person, Person.id == ContribAssessment.person_id)
            .where(ContribInsured.status == InsuredStatus.ACTIVE.value, ContribAssessment.status.in_(UNPAID),
                   ContribAssessment.period <= period)
            .order_by(ContribAssessment.person_id, ContribAssessment.period, ContribAssessment.rank)
        ).all()
        auths = _usable_authorisations(session, period, {row.person_id for row in unpaid})
        by_bank: dict[str, list[files.BatchLine]] = defaultdict(list)
        line_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        refused: list[dict[str, Any]] = []
        refused_fen = 0
        for a_id, person_id, amount, attempts, id_number in unpaid:
            auth = auths.get(person_id)
            if not isinstance(auth, WithholdingAuthorisation):
                refused.append({"id": a_id, "status": AssessmentStatus.FAILED.value, "attempts": attempts + 1,
                                "last_reason": auth or AUTHORISATION_MISSING})
                refused_fen += amount
                continue
            lines = by_bank[auth.bank_code]
            lines.append(files.BatchLine(len(lines) + 1, f"A{a_id}", auth.account_no, auth.holder_name, id_number,
                                         amount))
            line_rows[auth.bank_code].append({"line_no": len(lines), "assessment_id": a_id, "person_id": person_id,
                                              "account_no": auth.account_no, "amount_fen": amount,
                                              "status": "sent"})
        if refused:
            session.execute(update(ContribAssessment), refused)
        done = 0
        for bank_code in sorted(by_bank):
            _store_batch(session, period, bank_code, by_bank[bank_code], line_rows[bank_code])
            done += len(by_bank[bank_code])
            report("contributions: build debit files", done, len(unpaid) - len(refused))
        run.not_authorised, run.not_authorised_fen = len(refused), refused_fen
        run.status = RunStatus.AT_BANK.value
        if refused:
            rates = assessment.load_rates(session, period)
            arrears.recount(session, {a.person_id for a in unpaid if not isinstance(auths.get(a.person_id),
                                                                                    WithholdingAuthorisation)},
                            period, rates.arrears_suspend_months)
        audit.record(session, actor, "contrib.run.batches", "contrib_run", period, None,
                     {"banks": sorted(by_bank), "lines": done, "not_authorised": len(refused),
                      "government_paid": list(by_government)})


def _usable_authorisations(session: Session, period: str,
                           person_ids: set[int]) -> dict[int, WithholdingAuthorisation | str]:
    """Per person: the active authorisation valid in ``period``, or the reason there is none. Authorisations
    past ``valid_until`` lapse here."""
    as_of = first_day(period)
    found: dict[int, WithholdingAuthorisation | str] = {}
    ids = sorted(person_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        for auth in session.execute(select(WithholdingAuthorisation).where(
                WithholdingAuthorisation.person_id.in_(chunk))).scalars():
            if auth.status == AuthorisationStatus.ACTIVE.value and auth.valid_until is not None \
                    and auth.valid_until < as_of:
                auth.status, auth.lapsed_reason, auth.lapsed_at = (AuthorisationStatus.LAPSED.value, "EXPIRED",
                                                                   clock.now())
            if auth.status == AuthorisationStatus.ACTIVE.value:
                found[auth.person_id] = auth
            elif auth.status == AuthorisationStatus.LAPSED.value and auth.person_id not in found:
                found[auth.person_id] = AUTHORISATION_LAPSED
    return found


def _store_batch(session: Session, period: str, bank_code: str, lines: list[files.BatchLine],
                 rows: list[dict[str, Any]]) -> None:
    batch_no = f"WH-{period}-{bank_code}"
    header = files.new_header(bank_code, files.Kind.DEBIT, batch_no, period, lines)
    data = files.write_batch(header, lines)
    checksum = files.parse_batch(data).checksum
    batch = WithholdingBatch(batch_no=batch_no, period=period, bank_code=bank_code,
                             status=BatchStatus.BUILT.value, file_sha256=checksum, file=data,
                             line_count=header.count, total_fen=header.total, ok_count=0, ok_fen=0,
                             failed_count=0, failed_fen=0)
    session.add(batch)
    session.flush()
    columns = ["batch_id", *rows[0]]
    _insert_rows(session, "contrib_batch_lines", columns, [(batch.id, *r.values()) for r in rows])
    session.execute(update(ContribAssessment).where(ContribAssessment.id.in_(
        select(WithholdingLine.assessment_id).where(WithholdingLine.batch_id == batch.id)))
        .values(status=AssessmentStatus.SENT.value), execution_options=_NO_SYNC)


def _insert_rows(session: Session, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Many rows in one go: COPY on PostgreSQL, one prepared statement on SQLite."""
    if not rows:
        return
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        bulk.copy_rows(session, table, columns, rows)
    else:
        bulk.executemany(session, f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                  f"({', '.join('?' * len(columns))})", rows)


# ---------------------------------------------------------------------------------------------------- at the bank


def _exchange(db: Database, actor: Actor, period: str, pick: GatewayFor, report: ProgressFn) -> None:
    with db.unit_of_work() as session:
        pending = session.execute(
            select(WithholdingBatch.id, WithholdingBatch.bank_code, WithholdingBatch.status, WithholdingBatch.handle)
            .where(WithholdingBatch.period == period, WithholdingBatch.status != BatchStatus.RETURNED.value)
            .order_by(WithholdingBatch.id)).all()
    for index, (batch_id, bank_code, status, handle) in enumerate(pending, start=1):
        gateway = pick(bank_code)
        if status == BatchStatus.BUILT.value:
            handle = _submit(db, batch_id, gateway)
        assert handle is not None
        returned = gateway.fetch_return(handle)
        if returned is not None:
            import_return(db, actor, batch_id, returned)
        report("contributions: bank exchange", index, len(pending))


def _submit(db: Database, batch_id: int, gateway: BankGateway) -> str:
    with db.unit_of_work() as session:
        data = session.execute(select(WithholdingBatch.file).where(WithholdingBatch.id == batch_id)).scalar_one()
    handle = gateway.submit(data)  # outside any transaction: a resubmission after a crash returns this handle
    with db.unit_of_work() as session:
        session.execute(update(WithholdingBatch).where(WithholdingBatch.id == batch_id,
                                                      WithholdingBatch.status == BatchStatus.BUILT.value)
                        .values(handle=handle, status=BatchStatus.SUBMITTED.value))
    return handle


def import_return(db: Database, actor: Actor, batch_id: int, data: bytes) -> BatchOut:
    """回盘: apply a bank's return file to its batch in one transaction — line results, assessments, the ledger
    postings of what was collected, lapsed authorisations, arrears. Refused whole on any defect; importing the
    same batch's return again changes nothing."""
    actor.require(Permission.FUNDS_RUN)
    with db.unit_of_work() as session:
        batch = session.execute(select(WithholdingBatch).where(WithholdingBatch.id == batch_id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
        if batch.status == BatchStatus.RETURNED.value:
            return BatchOut.model_validate(batch)
        answer = files.parse_return(data, files.parse_batch(batch.file))  # BankFileRejected: nothing applied
        sent = session.execute(
            select(WithholdingLine.id, WithholdingLine.line_no, WithholdingLine.person_id, ContribAssessment.id,
                   WithholdingLine.account_no,
                   ContribAssessment.scheme, ContribAssessment.insurance_type, ContribAssessment.pool_fen,
                   ContribAssessment.personal_fen, ContribAssessment.period)
            .join(ContribAssessment, ContribAssessment.id == WithholdingLine.assessment_id)
            .where(WithholdingLine.batch_id == batch.id)).all()
        by_no = {row.line_no: row for row in sent}
        now = clock.now()
        failed_lines, payments, lapse = [], [], set()
        for r in answer.lines:
            row = by_no[r.line_no]
            if r.ok:
                payments.append(_payment(batch.bank_code, row[3], row.person_id, row.scheme, row.insurance_type,
                                         row.pool_fen, row.personal_fen, row.period))
            else:
                failed_lines.append((r.reason, row[0]))
                if r.reason in LAPSING_REASONS:
                    lapse.add((row.person_id, row.account_no, r.reason))
        _apply_results(session, batch.id, failed_lines, now)
        posted = postings.post(session, postings.transfers_for(payments))
        for person_id, account_no, reason in sorted(lapse):
            session.execute(update(WithholdingAuthorisation).where(
                WithholdingAuthorisation.person_id == person_id,
                WithholdingAuthorisation.status == AuthorisationStatus.ACTIVE.value,
                WithholdingAuthorisation.bank_code == batch.bank_code,
                WithholdingAuthorisation.account_no == account_no)
                .values(status=AuthorisationStatus.LAPSED.value, lapsed_reason=reason, lapsed_at=now))
        batch.ok_count, batch.ok_fen = answer.ok_count, answer.ok_amount
        batch.failed_count, batch.failed_fen = answer.failed_count, answer.failed_amount
        batch.status, batch.returned_at = BatchStatus.RETURNED.value, now
        rates = assessment.load_rates(session, batch.period)
        suspended = arrears.recount(session, select(WithholdingLine.person_id).where(
            WithholdingLine.batch_id == batch.id), batch.period, rates.arrears_suspend_months)
        audit.record(session, actor, "contrib.batch.return", "contrib_batch", batch.batch_no, None,
                     {"ok": answer.ok_count, "ok_fen": answer.ok_amount, "failed": answer.failed_count,
                      "failed_fen": answer.failed_amount, "transfers": posted, "suspended": suspended,
                      "lapsed_authorisations": len(lapse)})
        session.flush()
        return BatchOut.model_validate(batch)


def _apply_results(session: Session, batch_id: int, failed_lines: list[tuple[str | None, int]],
                   now: dt.datetime) -> None:
    """Lines and their assessments from the bank's answer, set-based: every line ok, then the failures."""
    session.execute(update(WithholdingLine).where(WithholdingLine.batch_id == batch_id)
                    .values(status="ok", reason=None), execution_options=_NO_SYNC)
    if failed_lines:
        session.flush()
        bulk.executemany(session, "UPDATE contrib_batch_lines SET status = 'failed', reason = ? WHERE id = ?",
                         failed_lines)
    # UPDATE … FROM (a join both databases plan well) rather than correlated sub-selects per row.
    line = WithholdingLine
    for status, values in (
            ("ok", {"status": AssessmentStatus.PAID.value, "last_reason": None, "paid_via": "withholding",
                    "paid_at": now, "paid_batch_line_id": line.id}),
            ("failed", {"status": AssessmentStatus.FAILED.value, "last_reason": line.reason})):
        session.execute(update(ContribAssessment).where(
            ContribAssessment.id == line.assessment_id, line.batch_id == batch_id, line.status == status)
            .values(attempts=ContribAssessment.attempts + 1, **values), execution_options=_NO_SYNC)


def _payment(bank_code: str, assessment_id: int, person_id: int, scheme: str, insurance_type: str, pool_fen: int,
             personal_fen: int, period: str) -> postings.Payment:
    return postings.Payment(key=f"contrib:{assessment_id}", bank_code=bank_code,
                            pool=postings.pool_account(scheme), pool_fen=pool_fen,
                            personal=postings.personal_account(person_id, insurance_type) if personal_fen else None,
                            personal_fen=personal_fen, code="contrib.withholding", reference=f"{period}:{person_id}")


def _finish(db: Database, actor: Actor, period: str) -> None:
    with db.unit_of_work() as session:
        run = _lock_run(session, period, RunStatus.AT_BANK)
        if run is None:
            return
        waiting = session.execute(select(func.count()).select_from(WithholdingBatch).where(
            WithholdingBatch.period == period, WithholdingBatch.status != BatchStatus.RETURNED.value)).scalar_one()
        if waiting:
            return
        run.status, run.finished_at = RunStatus.DONE.value, clock.now()
        audit.record(session, actor, "contrib.run.done", "contrib_run", period, None, {"period": period})


# ---------------------------------------------------------------------------------------------------- reading


def result(db: Database, period: str, replayed: bool = False) -> RunResult:
    with db.unit_of_work() as session:
        run = session.get(ContribRun, period)
        assert run is not None
        batches = [BatchOut.model_validate(b) for b in session.execute(
            select(WithholdingBatch).where(WithholdingBatch.period == period)
            .order_by(WithholdingBatch.bank_code)).scalars()]
        suspended = session.execute(select(func.count()).select_from(ContribInsured).where(
            ContribInsured.status == InsuredStatus.SUSPENDED.value)).scalar_one()
        return RunResult(period=period, status=run.status, assessed=run.assessed, batches=batches,
                         lines=sum(b.line_count for b in batches), withheld_count=sum(b.ok_count for b in batches),
                         withheld_fen=sum(b.ok_fen for b in batches),
                         failed_count=sum(b.failed_count for b in batches) + run.not_authorised,
                         failed_fen=sum(b.failed_fen for b in batches) + run.not_authorised_fen,
                         not_authorised=run.not_authorised, suspended_persons=suspended, replayed=replayed)
