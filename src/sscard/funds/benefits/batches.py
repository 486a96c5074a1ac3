"""Disbursement batches (代发) through one bank each: build → export → return → post, each step its own
transaction and its state stored on the batch, so a run killed anywhere resumes without paying twice.

- build: payments and their lines written with COPY (PostgreSQL) in the caller's transaction.
- export: the batch file is written from the stored lines (byte-identical on a retry: the header's ``created``
  is the batch's own timestamp) and submitted; the bank answers the same file with the same handle.
- return: the return file is fetched, checked whole (``parse_return``) and its checksum recorded.
- post: results and ledger transfers (``post_many``) in ONE transaction; the header must equal Σ successes +
  Σ failures or nothing is written; failed lines go to the re-issue queue with the bank's reason.

Crash hook for tests: ``SSCARD_FUNDS_CRASH_AT=<point>[#n]`` ends the process with ``os._exit(70)`` the n-th
time (default 1st) the run reaches ``<point>``: after_build, after_submit, after_export, after_return,
during_posting (inside the posting transaction, after the ledger rows are written, before commit).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.banks import files
from sscard.banks.errors import BankFileUnknownLine
from sscard.banks.gateway import BankGateway
from sscard.banks.schemas import PaymentAccount
from sscard.bulksql import copy_text, fetch_all
from sscard.db import Database
from sscard.funds.benefits import ledger_port
from sscard.funds.benefits.dues import AMOUNT, PERSON, Dues, Owed, OwedRow
from sscard.funds.benefits.errors import BatchNotFound, BatchUnbalanced, ReturnChanged, ReturnPending
from sscard.funds.benefits.models import BatchState, DisbursementBatch, Hold, Reissue

CRASH_ENV = "SSCARD_FUNDS_CRASH_AT"
NO_ACCOUNT = "NO_PAYMENT_ACCOUNT"
_reached: Counter[str] = Counter()
GatewayFor = Callable[[str], BankGateway]


def crash_point(name: str) -> None:
    """The test hook documented above (a no-op unless ``SSCARD_FUNDS_CRASH_AT`` names this point)."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("#")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os._exit(70)


@dataclass(frozen=True, slots=True)
class Built:
    batches: list[int]
    lines: int
    held: int  # months newly held (stopped, or no payment account)
    released: int  # months held earlier and paid now
    no_account: int  # months waiting for a payment account (new and earlier)


_LINE_COLUMNS = ("batch_id", "line_no", "entitlement_id", "period_due", "person_id", "fund", "amount",
                 "account_no", "holder_name", "id_number")


def write_month(session: Session, created_by: str, period: str, dues: Dues,
                accounts: dict[int, PaymentAccount]) -> Built:
    """Holds for the months stopped or without a payment account, releases for held months payable now, and
    one batch per bank of lines for everything payable — all in the caller's transaction."""
    now = clock.now()
    new_holds = [*dues.stopped, *((o, NO_ACCOUNT) for o in dues.owed if o[PERSON] not in accounts)]
    if new_holds:
        session.execute(insert(Hold), [
            {"entitlement_id": ent, "period_due": due, "person_id": pid, "reason": reason, "state": "open",
             "created_at": now} for (ent, due, pid, *_), reason in new_holds])
    released = [h.owed for h in dues.holds if h.now is None and h.owed.person_id in accounts]
    changed = [(h.owed, h.now or NO_ACCOUNT) for h in dues.holds
               if not (h.now is None and h.owed.person_id in accounts) and (h.now or NO_ACCOUNT) != h.reason]
    _update_holds(session, [(o, {"state": "released", "released_at": now}) for o in released])
    _update_holds(session, [(o, {"reason": reason}) for o, reason in changed])
    payable: list[OwedRow] = [o for o in dues.owed if o[PERSON] in accounts]
    payable += released
    bank_of = {pid: a.bank_code for pid, a in accounts.items()}
    by_bank: dict[str, list[OwedRow]] = defaultdict(list)
    for o in payable:
        by_bank[bank_of[o[PERSON]]].append(o)
    made = []
    paid_to = {pid: f"{a.account_no}\t{a.holder_name}" for pid, a in accounts.items()}
    for bank_code in sorted(by_bank):
        items = by_bank[bank_code]
        batch_id = new_batch(session, created_by, "regular", period, bank_code, f"BEN-{period}-{bank_code}",
                             len(items), sum(o[AMOUNT] for o in items)).id
        # COPY text rows formatted in one pass (account and name are checked tab- and newline-free by banks)
        copy_text(session, "disbursement_lines", _LINE_COLUMNS, (
            f"{batch_id}\t{n}\t{ent}\t{due}\t{pid}\t{fund}\t{amount}\t{paid_to[pid]}\t{id_number}\n"
            for n, (ent, due, pid, _kind, fund, amount, id_number) in enumerate(items, start=1)))
        made.append(batch_id)
    waiting = sum(1 for o, r in new_holds if r == NO_ACCOUNT) + sum(
        1 for h in dues.holds if h.now is None and h.owed.person_id not in accounts)
    return Built(made, len(payable), len(new_holds), len(released), waiting)


def _update_holds(session: Session, changes: list[tuple[Owed, dict[str, object]]]) -> None:
    for o, values in changes:  # few per month (back-pay, changed reasons): one statement each is fine
        session.execute(update(Hold).where(Hold.entitlement_id == o.entitlement_id,
                                           Hold.period_due == o.period_due).values(**values))


def new_batch(session: Session, created_by: str, kind: str, period: str, bank_code: str, batch_no: str,
              count: int, total: int) -> DisbursementBatch:
    batch = DisbursementBatch(batch_no=batch_no, kind=kind, period=period, bank_code=bank_code, line_count=count,
                              total_amount=total, state=BatchState.BUILT.value, created_by=created_by,
                              created_at=clock.now().replace(microsecond=0), success_count=0, success_amount=0,
                              failure_count=0, failure_amount=0)
    session.add(batch)
    session.flush()
    return batch


def _header(batch: DisbursementBatch) -> files.BatchHeader:
    return files.BatchHeader(batch.bank_code, files.Kind.CREDIT, batch.batch_no, batch.period, batch.line_count,
                             batch.total_amount, files.stamp(batch.created_at))


def _lock(session: Session, batch_id: int) -> DisbursementBatch:
    batch = session.execute(select(DisbursementBatch).where(DisbursementBatch.id == batch_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if batch is None:
        raise BatchNotFound(str(batch_id), batch_id=batch_id)
    return batch


def export(db: Database, batch_id: int, gateway_for: GatewayFor) -> None:
    """built → exported. Safe to repeat: the same bytes go to the bank, which answers with the same handle."""
    with db.unit_of_work() as session:
        batch = _lock(session, batch_id)
        if batch.state != BatchState.BUILT.value:
            return
        no_jit(session)
        rows = fetch_all(session, "SELECT id, line_no, account_no, holder_name, id_number, amount "
                                  "FROM disbursement_lines WHERE batch_id = ? ORDER BY line_no", (batch_id,))
        data = files.write_batch(_header(batch), [files.BatchLine(no, str(line_id), acct, name, idn, amount)
                                                  for line_id, no, acct, name, idn, amount in rows])
        bank_code = batch.bank_code
    handle = gateway_for(bank_code).submit(data)
    crash_point("after_submit")
    with db.unit_of_work() as session:
        batch = _lock(session, batch_id)
        if batch.state == BatchState.BUILT.value:
            batch.state, batch.handle = BatchState.EXPORTED.value, handle
            batch.file_sha256, batch.exported_at = hashlib.sha256(data).hexdigest(), clock.now()
    crash_point("after_export")


def fetch_and_post(db: Database, actor: Actor, batch_id: int, gateway_for: GatewayFor) -> None:
    """exported → returned → posted. The return file is taken whole or refused whole (``BankFileRejected``)."""
    with db.unit_of_work() as session:
        batch = _lock(session, batch_id)
        if batch.state == BatchState.POSTED.value:
            return
        header, handle, bank_code, known = _header(batch), batch.handle, batch.bank_code, batch.return_sha256
    assert handle is not None  # exported batches carry their handle
    data = gateway_for(bank_code).fetch_return(handle)
    if data is None:
        raise ReturnPending(header.batch_id, batch=header.batch_id)
    returned = files.parse_return(data, header)
    digest = hashlib.sha256(data).hexdigest()
    if known is not None and known != digest:
        raise ReturnChanged(header.batch_id, batch=header.batch_id)
    if known is None:
        with db.unit_of_work() as session:
            batch = _lock(session, batch_id)
            batch.state, batch.return_sha256, batch.returned_at = BatchState.RETURNED.value, digest, clock.now()
        crash_point("after_return")
    with db.unit_of_work() as session:
        batch = _lock(session, batch_id)
        if batch.state == BatchState.POSTED.value:
            return
        _post(session, actor, batch, returned)


class _Line(NamedTuple):
    id: int
    amount: int
    fund: str
    person_id: int


def no_jit(session: Session) -> None:
    """PostgreSQL's JIT spends about a second compiling each of the month's big queries and gains nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _post(session: Session, actor: Actor, batch: DisbursementBatch, returned: files.ReturnFile) -> None:
    no_jit(session)
    lines = [_Line(*row) for row in fetch_all(
        session, "SELECT id, amount, fund, person_id FROM disbursement_lines WHERE batch_id = ? ORDER BY line_no",
        (batch.id,))]
    if len(lines) != batch.line_count or sum(r.amount for r in lines) != batch.total_amount:
        raise BatchUnbalanced(f"{batch.batch_no}: header {batch.line_count} / {batch.total_amount} fen, lines "
                              f"{len(lines)} / {sum(r.amount for r in lines)} fen", batch=batch.batch_no)
    ok_lines: list[_Line] = []
    failed: list[tuple[_Line, str]] = []
    paid, refuse = ok_lines.append, failed.append
    for line_no, ref, _account, amount, ok, reason in returned.lines:  # a million: plain unpacking, one pass
        line = lines[line_no - 1]
        if amount != line.amount or ref != str(line.id):
            raise BankFileUnknownLine(f"line {line_no} does not match the line sent")
        if ok:
            paid(line)
        else:
            refuse((line, reason or "UNKNOWN"))
    ok_count, ok_amount = len(ok_lines), sum(line.amount for line in ok_lines)
    failed_count, failed_amount = len(failed), sum(line.amount for line, _ in failed)
    if (ok_count + failed_count, ok_amount + failed_amount) != (batch.line_count, batch.total_amount) or \
            (ok_count, ok_amount) != (returned.ok_count, returned.ok_amount):
        raise BatchUnbalanced(f"{batch.batch_no}: header {batch.line_count} / {batch.total_amount} fen, "
                              f"ok {ok_count} / {ok_amount}, failed {failed_count} / {failed_amount}",
                              batch=batch.batch_no)
    now = clock.now()
    if failed:
        session.execute(insert(Reissue), [
            {"line_id": line.id, "batch_id": batch.id, "person_id": line.person_id, "amount": line.amount,
             "reason_code": reason, "state": "open", "account_changed": False, "created_at": now}
            for line, reason in failed])
    if batch.kind == "reissue":
        _close_reissues(session, [line.id for line in ok_lines], [line.id for line, _ in failed])
    ledger_port.post_payouts(session, batch.bank_code, batch.batch_no, ok_lines)
    crash_point("during_posting")
    batch.success_count, batch.success_amount = ok_count, ok_amount
    batch.failure_count, batch.failure_amount = failed_count, failed_amount
    batch.state, batch.posted_at = BatchState.POSTED.value, now
    audit.record(session, actor, "benefit.batch_posted", "disbursement_batch", batch.batch_no, None,
                 {"ok": [ok_count, ok_amount], "failed": [failed_count, failed_amount],
                  "return_sha256": batch.return_sha256})


def _close_reissues(session: Session, ok_ids: list[int], failed_ids: list[int]) -> None:
    """A re-issue line's answer closes its queue entry: paid, or failed (its own new entry is open now)."""
    for state, ids in (("paid", ok_ids), ("failed", failed_ids)):
        for start in range(0, len(ids), 500):
            session.execute(update(Reissue).where(Reissue.reissue_line_id.in_(ids[start:start + 500]))
                            .values(state=state))
