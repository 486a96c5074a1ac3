"""Transfers: linked batches, pending post/void, written by one of two paths under the same rules
(``sscard.ledger.rules``).

- the locked path (``transfers_locked``; SQLite's, and on both databases the one that resolves a pending
  transfer): every account the call touches is locked with one ``SELECT … ORDER BY id FOR UPDATE``
  (PostgreSQL locks rows in the sorted order, so two calls can never wait on each other in a cycle; on
  SQLite ``BEGIN IMMEDIATE`` already serialises writers), the totals are computed in Python and written
  back by one Core UPDATE run for all changed accounts at once, guarded by ``version``;
- PostgreSQL's hot path (``transfers_hot``, statements in ``sscard.ledger.hot``): only accounts with a limit
  are locked up front; accounts without one (a fund pool, an institution's payable, which every settlement
  shares) are locked by the single statement that inserts the transfers and adds the deltas, so they stay
  locked for that statement and the COMMIT only.

Bulk posting (``sscard.ledger.bulk``) is the third writer, for monthly runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from sscard import clock
from sscard.errors import DomainError
from sscard.ledger import hot
from sscard.ledger.accounts import BY_CODES, lock, refresh_loaded
from sscard.ledger.errors import (
    LedgerAccountNotFound,
    LedgerAmountInvalid,
    LedgerExceedsPendingAmount,
    LedgerIdExistsDifferent,
    LedgerIdInvalid,
    LedgerOverflow,
    LedgerPendingAlreadyPosted,
    LedgerPendingAlreadyVoided,
    LedgerPendingNotFound,
)
from sscard.ledger.models import LedgerAccount as Account
from sscard.ledger.models import LedgerTransfer as Transfer
from sscard.ledger.models import TransferState
from sscard.ledger.rules import (
    MAX_BATCH,
    TOTAL_MAX,
    TOTALS,
    AccountRow,
    Totals,
    body_of,
    changed,
    check_currency,
    check_id,
    check_transfer,
    simulate,
)
from sscard.ledger.schemas import TransferIn, TransferOut


def transfer(session: Session, item: TransferIn) -> TransferOut:
    """Move ``amount`` fen (or reserve it, if ``pending``). A retry with the same id and body returns the
    first result and moves nothing; the same id with another body is ``LEDGER_ID_EXISTS_DIFFERENT``."""
    return transfers(session, [item])[0]


def transfers(session: Session, items: Sequence[TransferIn]) -> list[TransferOut]:
    """Linked transfers: all are applied, or none (each leg checked against the balances the earlier legs
    leave). Replaying the whole batch returns the first results; replaying only part of it is a different
    request (``LEDGER_ID_EXISTS_DIFFERENT``). PostgreSQL takes the hot path, SQLite the locked one.

    The one write before an error: if another transaction commits one of these ids between our checks and our
    insert (a client reusing ids across different accounts), rows of this batch may already be inserted when
    ``LEDGER_ID_EXISTS_DIFFERENT`` is raised; the caller's rollback removes them.
    """
    if session.get_bind().dialect.name == "postgresql":
        return transfers_hot(session, items)
    return transfers_locked(session, items)


def transfers_locked(session: Session, items: Sequence[TransferIn]) -> list[TransferOut]:
    """``transfers`` with every account locked up front (either database)."""
    codes = _checked_codes(items)
    accounts = lock(session, BY_CODES, {"codes": codes})
    wanted = _wanted(items, accounts)
    totals = _simulate_or_replay(session, wanted, accounts)
    return totals if isinstance(totals, list) else _write(session, wanted, accounts, totals)


def transfers_hot(session: Session, items: Sequence[TransferIn]) -> list[TransferOut]:
    """``transfers`` with only the accounts that carry a limit locked up front (PostgreSQL only)."""
    codes = _checked_codes(items)
    session.flush()  # the rest are locked when written (sscard.ledger.hot); an account opened just now is seen
    locked = hot.lock_limited(session, codes)
    wanted = _wanted(items, locked)
    totals = _simulate_or_replay(session, wanted, locked)
    return totals if isinstance(totals, list) else _write_hot(session, wanted, locked, totals)


def _checked_codes(items: Sequence[TransferIn]) -> list[str]:
    if not items or len(items) > MAX_BATCH:
        raise LedgerIdInvalid(f"a batch holds 1 to {MAX_BATCH} transfers")
    if len({t.id for t in items}) != len(items):
        raise LedgerIdInvalid("the same id twice in one batch")
    for t in items:
        check_transfer(t.id, t.debit_account, t.credit_account, t.amount)
    return sorted({c for t in items for c in (t.debit_account, t.credit_account)})


def _wanted(items: Sequence[TransferIn], accounts: Mapping[int, AccountRow]) -> list[dict[str, Any]]:
    """The transfer rows to insert (in the order asked)."""
    by_code = {a.code: a for a in accounts.values()}
    for code in (c for t in items for c in (t.debit_account, t.credit_account)):
        if code not in by_code:
            raise LedgerAccountNotFound(code, code=code)
    rows = []
    for t in items:
        debit, credit = by_code[t.debit_account], by_code[t.credit_account]
        check_currency(debit, credit, t.id)
        rows.append({"id": t.id, "debit_account_id": debit.id, "credit_account_id": credit.id, "amount": t.amount,
                     "state": (TransferState.PENDING if t.pending else TransferState.POSTED).value,
                     "pending_id": None, "code": t.code, "reference": t.reference})
    return rows


def _simulate_or_replay(session: Session, wanted: list[dict[str, Any]],
                        accounts: Mapping[int, AccountRow]) -> dict[int, Totals] | list[TransferOut]:
    """The totals after the transfers (see ``rules.simulate``), or the first results if they are a retry."""
    try:
        return simulate(accounts, wanted)
    except DomainError:
        # A retry of an earlier success must replay it even if the balances would refuse it today.
        replayed = _replay(session, wanted, accounts)
        if replayed is not None:
            return replayed
        raise


# ---------------------------------------------------------------------------------------------------- pending


def post_pending(session: Session, id: str, pending_id: str, amount: int | None = None, *,
                 code: str | None = None, reference: str | None = None) -> TransferOut:
    """Post a pending transfer (结算): all of it (``amount=None``) or part, releasing the rest."""
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
        raise LedgerAmountInvalid(str(amount), amount=str(amount))
    return _resolve(session, id, pending_id, TransferState.POST_PENDING, amount, code, reference)


def void_pending(session: Session, id: str, pending_id: str, *, code: str | None = None,
                 reference: str | None = None) -> TransferOut:
    """Void a pending transfer (撤销冻结): its whole amount is released, nothing is posted."""
    return _resolve(session, id, pending_id, TransferState.VOID_PENDING, None, code, reference)


def _resolve(session: Session, id: str, pending_id: str, state: TransferState, amount: int | None,
             code: str | None, reference: str | None) -> TransferOut:
    check_id(id)
    pending = session.execute(select(Transfer).where(Transfer.id == pending_id)).scalar_one_or_none()
    if pending is None or pending.state != TransferState.PENDING:
        raise LedgerPendingNotFound(pending_id, pending_id=pending_id)
    if amount is not None and amount > pending.amount:
        raise LedgerExceedsPendingAmount(f"{amount} > {pending.amount}", amount=amount, pending=pending.amount)
    accounts = lock(session, Account.id.in_((pending.debit_account_id, pending.credit_account_id)))
    wanted = [{"id": id, "debit_account_id": pending.debit_account_id, "credit_account_id": pending.credit_account_id,
               "amount": pending.amount if amount is None or state == TransferState.VOID_PENDING else amount,
               "state": state.value, "pending_id": pending_id,
               "code": pending.code if code is None else code,
               "reference": pending.reference if reference is None else reference,
               "_pending_amount": pending.amount}]
    replayed = _replay(session, wanted, accounts)
    if replayed is not None:
        return replayed[0]
    _refuse_if_resolved(session, pending_id)
    totals = simulate(accounts, wanted)
    return _write(session, wanted, accounts, totals)[0]


def _refuse_if_resolved(session: Session, pending_id: str) -> None:
    # Read after the account locks: whoever resolved it first has committed by now (READ COMMITTED takes a
    # fresh snapshot per statement), and the unique pending_id column stops a second resolution regardless.
    done = session.execute(select(Transfer.state).where(Transfer.pending_id == pending_id)).scalar_one_or_none()
    if done == TransferState.POST_PENDING:
        raise LedgerPendingAlreadyPosted(pending_id, pending_id=pending_id)
    if done == TransferState.VOID_PENDING:
        raise LedgerPendingAlreadyVoided(pending_id, pending_id=pending_id)


# ---------------------------------------------------------------------------------------------------- writing

_ACCOUNTS = Account.metadata.tables[Account.__tablename__]
_TRANSFERS = Transfer.metadata.tables[Transfer.__tablename__]
# Parameters are given at execution (an executemany, sent as one multi-row INSERT): the statement is compiled
# once, where .values(rows) was coerced and compiled anew for every call.
_INSERT_TRANSFERS = {name: insert(_TRANSFERS).on_conflict_do_nothing().returning(_TRANSFERS.c.id, _TRANSFERS.c.seq)
                     for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_STORE = (update(_ACCOUNTS)
          .where(_ACCOUNTS.c.id == bindparam("b_id"), _ACCOUNTS.c.version == bindparam("b_version"))
          .values({**{k: bindparam(f"b_{k}") for k in TOTALS}, "version": bindparam("b_version") + 1}))


def _rows(wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = clock.now()
    return [{k: v for k, v in w.items() if not k.startswith("_")} | {"timestamp": now} for w in wanted]


def _write(session: Session, wanted: list[dict[str, Any]], accounts: dict[int, AccountRow],
           totals: dict[int, Totals]) -> list[TransferOut]:
    rows = _rows(wanted)
    # ON CONFLICT DO NOTHING: a retry (or a concurrent twin) finds its id taken without aborting the
    # transaction; PostgreSQL waits for the twin to commit first, so the replay below sees it.
    inserted: dict[str, int] = dict(session.execute(_INSERT_TRANSFERS[session.get_bind().dialect.name], rows).all())
    if len(inserted) < len(rows):
        return _replay_or_refuse(session, wanted, accounts, rows, inserted)
    _store_totals(session, accounts, totals)
    codes = {a.id: a.code for a in accounts.values()}
    return [_out_from_values(r, inserted[r["id"]], codes) for r in rows]


def _store_totals(session: Session, accounts: dict[int, AccountRow], totals: dict[int, Totals]) -> None:
    """Write the changed totals of locked accounts (the rows read, and ORM copies in the session, follow)."""
    ids = changed(accounts, totals)
    if not ids:
        return
    session.flush()  # anything else pending goes first, as the ORM would have ordered it
    params = [{"b_id": i, "b_version": accounts[i].version, **{f"b_{k}": getattr(totals[i], k) for k in TOTALS}}
              for i in ids]
    result = session.connection().execute(_STORE, params)
    if result.rowcount != len(params):  # a writer that did not lock (see LedgerAccount.version)
        raise StaleDataError(f"ledger accounts changed under their lock: {[accounts[i].code for i in ids]}")
    for i in ids:
        _set_totals(accounts[i], totals[i], accounts[i].version + 1)
    refresh_loaded(session, {i: accounts[i] for i in ids})


def _set_totals(account: AccountRow, t: Totals | Sequence[int], version: int) -> None:
    account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending = \
        (t.debits_posted, t.credits_posted, t.debits_pending, t.credits_pending) if isinstance(t, Totals) else t
    account.version = version


def _write_hot(session: Session, wanted: list[dict[str, Any]], accounts: Mapping[int, AccountRow],
               totals: dict[int, Totals]) -> list[TransferOut]:
    """As ``_write``, in one statement that also locks the accounts without a limit (``sscard.ledger.hot``)."""
    rows = _rows(wanted)
    changes = [hot.Change(i, accounts[i].version if accounts[i].limited else None,
                          *(getattr(totals[i], k) - getattr(accounts[i], k) for k in TOTALS))
               for i in changed(accounts, totals)]
    session.flush()  # anything else pending goes first, as the ORM would have ordered it
    applied = hot.apply(session, rows, changes, TOTAL_MAX)
    inserted = applied.inserted
    if len(inserted) < len(rows):  # nothing was added to any account (see sscard.ledger.hot)
        return _replay_or_refuse(session, wanted, accounts, rows, inserted)
    skipped = [accounts[c.account_id] for c in changes if c.account_id not in applied.totals]
    for account in skipped:  # the caller's unit of work rolls back the transfers just inserted
        if account.limited:
            raise StaleDataError(f"ledger account changed under its lock: {account.code}")
        raise LedgerOverflow(account.code, id=rows[0]["id"], account=account.code)
    for account_id, (version, *after) in applied.totals.items():
        _set_totals(accounts[account_id], after, version)
    refresh_loaded(session, accounts)
    codes = {a.id: a.code for a in accounts.values()}
    return [_out_from_values(r, inserted[r["id"]], codes) for r in rows]


# ---------------------------------------------------------------------------------------------------- replays


def _replay_or_refuse(session: Session, wanted: list[dict[str, Any]], accounts: Mapping[int, AccountRow],
                      rows: list[dict[str, Any]], inserted: Mapping[str, Any]) -> list[TransferOut]:
    """Some transfer ids already existed: the same transfers again are a replay (the first answer); anything
    else is refused, with nothing added to any account."""
    replayed = _replay(session, wanted, accounts) if not inserted else None
    if replayed is not None:
        return replayed
    if wanted[0]["pending_id"] is not None and not inserted:
        _refuse_if_resolved(session, wanted[0]["pending_id"])
    raise LedgerIdExistsDifferent(", ".join(r["id"] for r in rows if r["id"] not in inserted))


def _replay(session: Session, wanted: list[dict[str, Any]],
            accounts: Mapping[int, AccountRow]) -> list[TransferOut] | None:
    """The earlier results if every id exists with the same body; ``None`` if none exists; an error if the
    ids exist only in part or with another body."""
    ids = [w["id"] for w in wanted]
    existing = {t.id: t for t in session.execute(select(Transfer).where(Transfer.id.in_(ids))).scalars()}
    if not existing:
        return None
    codes = {a.id: a.code for a in accounts.values()}
    for w in wanted:
        found = existing.get(w["id"])
        if found is None or body_of(found) != body_of(w):
            raise LedgerIdExistsDifferent(w["id"], id=w["id"])
    return [transfer_out(existing[w["id"]], codes, replayed=True) for w in wanted]


def transfer_out(t: Transfer, codes: Mapping[int, str], replayed: bool = False) -> TransferOut:
    return TransferOut(seq=t.seq, id=t.id, debit_account=codes[t.debit_account_id],
                       credit_account=codes[t.credit_account_id], amount=t.amount, state=t.state,
                       pending_id=t.pending_id, code=t.code, reference=t.reference, timestamp=t.timestamp,
                       replayed=replayed)


def _out_from_values(r: dict[str, Any], seq: int, codes: dict[int, str]) -> TransferOut:
    return TransferOut(seq=seq, id=r["id"], debit_account=codes[r["debit_account_id"]],
                       credit_account=codes[r["credit_account_id"]], amount=r["amount"], state=r["state"],
                       pending_id=r["pending_id"], code=r["code"], reference=r["reference"], timestamp=r["timestamp"])
