"""Benefit use cases: run a month's disbursement (resumable), list batches, payments of a person.

``run_disbursement_month`` is a process of several transactions, each recorded on the month run and on the
batches (built → exported → returned → posted): running it again continues where it stopped and never pays a
line twice (see ``batches``). Everything else is one function = one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks import service as banks
from sscard.banks.gateway import BankGateway, gateway_for
from sscard.banks.schemas import PaymentAccount
from sscard.bulksql import no_gc
from sscard.db import Database
from sscard.funds import add_months, parse_period
from sscard.funds.benefits import batches as steps
from sscard.funds.benefits.batches import GatewayFor, crash_point
from sscard.funds.benefits.dues import PERSON, owed_for_month
from sscard.funds.benefits.errors import BatchNotFound, MonthOutOfOrder, MonthRunBusy
from sscard.funds.benefits.models import DisbursementBatch, MonthRun
from sscard.funds.benefits.schemas import BatchOut, MonthOut

# (what is happening, steps done, steps in all): the CLI draws it as a Rich progress bar.
Progress = Callable[[str, int, int], None]


def default_gateways(db: Database) -> GatewayFor:
    @cache
    def get(bank_code: str) -> BankGateway:
        return gateway_for(bank_code, db=db)

    return get


def payment_accounts(session: Session, person_ids: Iterable[int]) -> dict[int, PaymentAccount]:
    """Where each person is paid (the banks package decides: card account or an account registered at the agency)."""
    return banks.payment_accounts(session, person_ids)


def run_disbursement_month(db: Database, actor: Actor, period: str, progress: Progress | None = None,
                           gateways: GatewayFor | None = None) -> MonthOut:
    """代发 of one month: build the batches (once), then export, fetch the return and post each batch."""
    actor.require(Permission.FUNDS_RUN)
    period = parse_period(period)
    report = progress or (lambda _label, _done, _total: None)
    report(f"benefits {period}: building batches", 0, 1)
    # A month holds millions of small tuples and strings at once (owed months, lines, file columns), none in
    # a reference cycle: the cyclic collector's full scans of them took about a tenth of a million-line run.
    with no_gc():
        resumed = _build_once(db, actor, period)
        crash_point("after_build")
        with db.unit_of_work() as session:
            batch_ids = list(session.execute(
                select(DisbursementBatch.id).where(DisbursementBatch.period == period,
                                                   DisbursementBatch.kind == "regular")
                .order_by(DisbursementBatch.id)).scalars())
        drive_batches(db, actor, batch_ids, gateways or default_gateways(db), report, f"benefits {period}")
    with db.unit_of_work() as session:
        run = session.get(MonthRun, period, with_for_update=True)
        assert run is not None
        if run.state != "done":
            run.state, run.finished_at = "done", clock.now()
            audit.record(session, actor, "benefit.month_done", "benefit_month", period, None,
                         {"batches": len(batch_ids)})
        counts = run.payments, run.held, run.released, run.no_account
        outs = batch_outs(session, batch_ids)
    return MonthOut(period=period, owed=counts[0], held=counts[1], released=counts[2], no_account=counts[3],
                    batches=outs, resumed=resumed)


def _build_once(db: Database, actor: Actor, period: str) -> bool:
    """Build the month's payments and batches in one transaction; True when they were built before."""
    try:
        with db.unit_of_work() as session:
            if session.get(MonthRun, period) is not None:
                return True
            last = session.execute(select(MonthRun).order_by(MonthRun.period.desc()).limit(1)).scalar_one_or_none()
            if last is not None and period > add_months(last.period, 1):
                raise MonthOutOfOrder(f"last month run {last.period}, asked for {period}", last=last.period)
            if last is not None and period > last.period and last.state != "done":
                raise MonthOutOfOrder(f"{last.period} is not finished: run it again first", last=last.period)
            steps.no_jit(session)
            dues = owed_for_month(session, period)
            persons = {o[PERSON] for o in dues.owed} | {h.owed.person_id for h in dues.holds if h.now is None}
            built = steps.write_month(session, actor.username, period, dues, payment_accounts(session, persons))
            session.add(MonthRun(period=period, state="built", payments=built.lines, held=built.held,
                                 released=built.released, no_account=built.no_account, created_by=actor.username,
                                 created_at=clock.now()))
            session.flush()
            audit.record(session, actor, "benefit.month_built", "benefit_month", period, None,
                         {"lines": built.lines, "released": built.released, "held": built.held,
                          "no_account": built.no_account, "batches": built.batches})
    except IntegrityError as exc:  # another process built the same month at the same time
        raise MonthRunBusy(period, period=period) from exc
    return False


def drive_batches(db: Database, actor: Actor, batch_ids: list[int], gateways: GatewayFor, report: Progress,
                  label: str) -> None:
    """Take every batch to ``posted``, step by step (each step skips itself when already done)."""
    total = 1 + 2 * len(batch_ids)
    done = 1
    for batch_id in batch_ids:
        with db.unit_of_work() as session:
            batch = session.get(DisbursementBatch, batch_id)
            assert batch is not None
            batch_no = batch.batch_no
        report(f"{label}: export {batch_no}", done, total)
        steps.export(db, batch_id, gateways)
        done += 1
        report(f"{label}: return and post {batch_no}", done, total)
        steps.fetch_and_post(db, actor, batch_id, gateways)
        done += 1
    report(f"{label}: done", total, total)


def batch_outs(session: Session, batch_ids: list[int]) -> list[BatchOut]:
    """The batches ``batch_ids`` as the API shows them, in id order (for a run's answer)."""
    if not batch_ids:
        return []
    rows = session.execute(select(DisbursementBatch).where(DisbursementBatch.id.in_(batch_ids))
                           .order_by(DisbursementBatch.id)).scalars()
    return [BatchOut.model_validate(b) for b in rows]


def list_batches(db: Database, actor: Actor, period: str | None = None, kind: str | None = None) -> list[BatchOut]:
    actor.require(Permission.FUNDS_READ)
    with db.unit_of_work() as session:
        query = select(DisbursementBatch).order_by(DisbursementBatch.id)
        if period:
            query = query.where(DisbursementBatch.period == parse_period(period))
        if kind:
            query = query.where(DisbursementBatch.kind == kind)
        return [BatchOut.model_validate(b) for b in session.execute(query).scalars()]


def get_batch(db: Database, actor: Actor, batch_no: str) -> BatchOut:
    actor.require(Permission.FUNDS_READ)
    with db.unit_of_work() as session:
        batch = session.execute(select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no)
                                ).scalar_one_or_none()
        if batch is None:
            raise BatchNotFound(batch_no, batch_no=batch_no)
        return BatchOut.model_validate(batch)
