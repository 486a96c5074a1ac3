"""Ledger reads: one transfer, an account's history, the zero sum and the journal check."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from sscard.db_sums import combined, exact_sum
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.ledger.models import LedgerAccount as Account
from sscard.ledger.models import LedgerTransfer as Transfer
from sscard.ledger.models import TransferState
from sscard.ledger.posting import transfer_out
from sscard.ledger.rules import TOTALS
from sscard.ledger.schemas import HistoryEntry, TransferOut, ZeroSum


def lookup_transfer(session: Session, id: str) -> TransferOut | None:
    t = session.execute(select(Transfer).where(Transfer.id == id)).scalar_one_or_none()
    if t is None:
        return None
    codes = dict(session.execute(select(Account.id, Account.code).where(
        Account.id.in_((t.debit_account_id, t.credit_account_id)))).all())
    return transfer_out(t, codes)


def history(session: Session, account_code: str, limit: int = 50, before: int | None = None) -> list[HistoryEntry]:
    """The account's transfers, newest first; page on with ``before=<seq of the last entry seen>``."""
    account_id = session.execute(select(Account.id).where(Account.code == account_code)).scalar_one_or_none()
    if account_id is None:
        raise LedgerAccountNotFound(account_code, code=account_code)
    debit, credit = aliased(Account), aliased(Account)
    query = (select(Transfer, debit.code, credit.code)
             .join(debit, debit.id == Transfer.debit_account_id).join(credit, credit.id == Transfer.credit_account_id)
             .where(or_(Transfer.debit_account_id == account_id, Transfer.credit_account_id == account_id)))
    if before is not None:
        query = query.where(Transfer.seq < before)
    entries = []
    query = query.order_by(Transfer.seq.desc()).limit(max(1, min(limit, 1000)))
    for t, debit_code, credit_code in session.execute(query):
        is_debit = t.debit_account_id == account_id
        entries.append(HistoryEntry(seq=t.seq, id=t.id, timestamp=t.timestamp, state=t.state,
                                    side="debit" if is_debit else "credit", amount=t.amount,
                                    counterparty=credit_code if is_debit else debit_code, pending_id=t.pending_id,
                                    code=t.code, reference=t.reference))
    return entries


def check_zero_sum(session: Session) -> ZeroSum:
    """Σ debits = Σ credits over all accounts, posted and pending apart (``.ok``): every transfer is balanced."""
    row = session.execute(select(*(part for k in TOTALS for part in exact_sum(getattr(Account, k))))).one()
    return ZeroSum(**{k: combined(row[2 * i], row[2 * i + 1]) for i, k in enumerate(TOTALS)})  # no overflow


def accounts_not_matching_journal(session: Session) -> list[str]:
    """Codes of accounts whose stored totals differ from what their transfers add up to (should be none).

    A full scan: for tests, reconciliation jobs and audits, not for the request path."""
    posted_states = (TransferState.POSTED.value, TransferState.POST_PENDING.value)
    resolving = aliased(Transfer)
    open_pending = (Transfer.state == TransferState.PENDING.value) & ~(
        select(resolving.seq).where(resolving.pending_id == Transfer.id).exists())
    sums: dict[str, dict[int, int]] = {}
    for name, side, condition in (("debits_posted", Transfer.debit_account_id, Transfer.state.in_(posted_states)),
                                  ("credits_posted", Transfer.credit_account_id, Transfer.state.in_(posted_states)),
                                  ("debits_pending", Transfer.debit_account_id, open_pending),
                                  ("credits_pending", Transfer.credit_account_id, open_pending)):
        sums[name] = {int(k): combined(hi, lo) for k, hi, lo in session.execute(
            select(side, *exact_sum(Transfer.amount)).where(condition).group_by(side))}
    bad = []
    for account in session.execute(select(Account).order_by(Account.id)
                                   .execution_options(populate_existing=True)).scalars():
        if any(getattr(account, k) != sums[k].get(account.id, 0) for k in TOTALS):
            bad.append(account.code)
    return bad


def posted_from(session: Session, debit_account_code: str, code: str,
                reference: str | None = None) -> tuple[int, int]:
    """How many posted transfers left ``debit_account_code`` with the reason ``code`` (and ``reference``, if
    given) and how many fen they moved: the journal's own figure, for a reconciliation against a source's
    totals (index on the debit account). An account that does not exist has moved nothing."""
    account_id = session.execute(select(Account.id).where(Account.code == debit_account_code)).scalar_one_or_none()
    if account_id is None:
        return 0, 0
    query = select(func.count(), func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.debit_account_id == account_id, Transfer.code == code,
        Transfer.state == TransferState.POSTED.value)
    if reference is not None:
        query = query.where(Transfer.reference == reference)
    count, amount = session.execute(query).one()
    return int(count), int(amount)
