"""Ledger use cases that run inside the caller's transaction: accounts, transfers, pending post/void, reads.

Every function takes the caller's ``Session`` and never commits: a settlement, a contribution or a fee writes
its business record and its transfer in one transaction (invariant 2). A ``DomainError`` from here is raised
before anything is written, except for the one race documented in ``transfers``; either way the caller's
unit of work rolls back on it.

Concurrency: the accounts a call touches are locked with one ``SELECT … ORDER BY id FOR UPDATE`` (PostgreSQL
locks rows in the sorted order, so two calls can never wait on each other in a cycle); balances are then
computed in Python and written back. On SQLite, ``BEGIN IMMEDIATE`` already serialises writers.

Writing back is one Core UPDATE run for all changed accounts at once (an executemany, which psycopg sends
as one pipeline), still guarded by ``version``. On PostgreSQL ``transfers`` goes further (``sscard.ledger.hot``):
only accounts with a limit are locked up front; accounts without one (a fund pool, an institution's payable,
which every settlement shares) are locked by the single statement that inserts the transfers and adds the
deltas, so they stay locked for that statement and the COMMIT only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from sscard import clock
from sscard.db_sums import combined, exact_sum
from sscard.errors import DomainError
from sscard.ledger import hot
from sscard.ledger.errors import (
    LedgerAccountExists,
    LedgerAccountExistsDifferent,
    LedgerAccountInvalid,
    LedgerAccountNotFound,
    LedgerAmountInvalid,
    LedgerCurrencyMismatch,
    LedgerExceedsCredits,
    LedgerExceedsDebits,
    LedgerExceedsPendingAmount,
    LedgerIdExistsDifferent,
    LedgerIdInvalid,
    LedgerOverflow,
    LedgerPendingAlreadyPosted,
    LedgerPendingAlreadyVoided,
    LedgerPendingNotFound,
    LedgerSameAccount,
)
from sscard.ledger.models import LedgerAccount as Account
from sscard.ledger.models import LedgerTransfer as Transfer
from sscard.ledger.models import TransferState
from sscard.ledger.schemas import Balance, HistoryEntry, TransferIn, TransferOut, ZeroSum

ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
TOTAL_MAX = 2**63 - 1  # BIGINT
MAX_BATCH = 1000
_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
_AccountLike = Account | hot.Locked  # an ORM account (SQLite, resolving a pending transfer) or columns (hot path)


# ---------------------------------------------------------------------------------------------------- accounts


def create_account(session: Session, code: str, kind: str, *, currency: str = "CNY",
                   debits_must_not_exceed_credits: bool = False,
                   credits_must_not_exceed_debits: bool = False) -> Balance:
    """Open an account; its code must be new (``LEDGER_ACCOUNT_EXISTS`` otherwise)."""
    values = _account_values(code, kind, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
    if _insert_account(session, values) is None:
        raise LedgerAccountExists(code, code=code)
    return balance(session, code)


def get_or_create_account(session: Session, code: str, kind: str, *, currency: str = "CNY",
                          debits_must_not_exceed_credits: bool = False,
                          credits_must_not_exceed_debits: bool = False) -> Balance:
    """The account with this code, opened now if it is new. Safe under concurrent callers (no unique-key
    error): an existing account must have the same kind, currency and flags."""
    values = _account_values(code, kind, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
    _insert_account(session, values)
    found = balance(session, code)
    if any(getattr(found, k) != v for k, v in values.items()):
        raise LedgerAccountExistsDifferent(code, code=code)
    return found


def balance(session: Session, account_code: str) -> Balance:
    """The account's four totals as of now (in the caller's transaction)."""
    account = session.execute(
        select(Account).where(Account.code == account_code).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if account is None:
        raise LedgerAccountNotFound(account_code, code=account_code)
    return Balance.model_validate(account)


def _account_values(code: str, kind: str, currency: str, dnec: bool, cned: bool) -> dict[str, Any]:
    if not CODE_RE.match(code):
        raise LedgerAccountInvalid("code: 1-100 of A-Z a-z 0-9 _ . : -", code=code)
    if not KIND_RE.match(kind):
        raise LedgerAccountInvalid("kind: lower-case, e.g. asset, liability, medical_personal", kind=kind)
    if not CURRENCY_RE.match(currency):
        raise LedgerAccountInvalid("currency: ISO 4217, e.g. CNY", currency=currency)
    if dnec and cned:
        raise LedgerAccountInvalid("an account takes at most one of the two limit flags", code=code)
    return {"code": code, "kind": kind, "currency": currency, "debits_must_not_exceed_credits": dnec,
            "credits_must_not_exceed_debits": cned}


def _insert_account(session: Session, values: dict[str, Any]) -> int | None:
    row = {**values, "debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0,
           "version": 1, "created_at": clock.now()}
    stmt = _insert(session, Account).values(row).on_conflict_do_nothing(index_elements=["code"])
    new_id = session.execute(stmt.returning(Account.id)).scalar_one_or_none()
    return new_id


# ---------------------------------------------------------------------------------------------------- transfers


def transfer(session: Session, item: TransferIn) -> TransferOut:
    """Move ``amount`` fen (or reserve it, if ``pending``). A retry with the same id and body returns the
    first result and moves nothing; the same id with another body is ``LEDGER_ID_EXISTS_DIFFERENT``."""
    return transfers(session, [item])[0]


def transfers(session: Session, items: Sequence[TransferIn]) -> list[TransferOut]:
    """Linked transfers: all are applied, or none (each leg checked against the balances the earlier legs
    leave). Replaying the whole batch returns the first results; replaying only part of it is a different
    request (``LEDGER_ID_EXISTS_DIFFERENT``).

    The one write before an error: if another transaction commits one of these ids between our checks and our
    insert (a client reusing ids across different accounts), rows of this batch may already be inserted when
    ``LEDGER_ID_EXISTS_DIFFERENT`` is raised; the caller's rollback removes them.
    """
    if not items or len(items) > MAX_BATCH:
        raise LedgerIdInvalid(f"a batch holds 1 to {MAX_BATCH} transfers")
    if len({t.id for t in items}) != len(items):
        raise LedgerIdInvalid("the same id twice in one batch")
    for t in items:
        _check_transfer_in(t)
    codes = sorted({c for t in items for c in (t.debit_account, t.credit_account)})
    if session.get_bind().dialect.name == "postgresql":  # only accounts with a limit are locked now; the rest
        session.flush()  # when written (sscard.ledger.hot); an account opened just now must be seen
        locked = hot.lock_limited(session, codes)
        wanted = _wanted(items, locked)
        totals = _simulate_or_replay(session, wanted, locked)
        return totals if isinstance(totals, list) else _write_postgres(session, wanted, locked, totals)
    accounts = _lock(session, _BY_CODES, {"codes": codes})
    wanted = _wanted(items, accounts)
    totals = _simulate_or_replay(session, wanted, accounts)
    return totals if isinstance(totals, list) else _write(session, wanted, accounts, totals)


def _wanted(items: Sequence[TransferIn], accounts: Mapping[int, _AccountLike]) -> list[dict[str, Any]]:
    by_code = {a.code: a for a in accounts.values()}
    for code in (c for t in items for c in (t.debit_account, t.credit_account)):
        if code not in by_code:
            raise LedgerAccountNotFound(code, code=code)
    return [_row_values(t, by_code) for t in items]


def _simulate_or_replay(session: Session, wanted: list[dict[str, Any]],
                        accounts: Mapping[int, _AccountLike]) -> dict[int, _Totals] | list[TransferOut]:
    """The totals after the transfers (see ``_simulate``), or the first results if they are a retry."""
    try:
        return _simulate(accounts, wanted)
    except DomainError:
        # A retry of an earlier success must replay it even if the balances would refuse it today.
        replayed = _replay(session, wanted, accounts)
        if replayed is not None:
            return replayed
        raise


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
    _check_id(id)
    pending = session.execute(select(Transfer).where(Transfer.id == pending_id)).scalar_one_or_none()
    if pending is None or pending.state != TransferState.PENDING:
        raise LedgerPendingNotFound(pending_id, pending_id=pending_id)
    if amount is not None and amount > pending.amount:
        raise LedgerExceedsPendingAmount(f"{amount} > {pending.amount}", amount=amount, pending=pending.amount)
    accounts = _lock(session, Account.id.in_((pending.debit_account_id, pending.credit_account_id)))
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
    totals = _simulate(accounts, wanted)
    return _write(session, wanted, accounts, totals)[0]


def _refuse_if_resolved(session: Session, pending_id: str) -> None:
    # Read after the account locks: whoever resolved it first has committed by now (READ COMMITTED takes a
    # fresh snapshot per statement), and the unique pending_id column stops a second resolution regardless.
    done = session.execute(select(Transfer.state).where(Transfer.pending_id == pending_id)).scalar_one_or_none()
    if done == TransferState.POST_PENDING:
        raise LedgerPendingAlreadyPosted(pending_id, pending_id=pending_id)
    if done == TransferState.VOID_PENDING:
        raise LedgerPendingAlreadyVoided(pending_id, pending_id=pending_id)


def _check_id(id: str) -> None:
    if not isinstance(id, str) or not ID_RE.match(id):
        raise LedgerIdInvalid("id: 1-64 of A-Z a-z 0-9 _ . : -", id=str(id)[:80])


def _check_transfer_in(t: TransferIn) -> None:
    _check_id(t.id)
    if t.amount <= 0 or t.amount > TOTAL_MAX:
        raise LedgerAmountInvalid(str(t.amount), id=t.id, amount=t.amount)
    if t.debit_account == t.credit_account:
        raise LedgerSameAccount(t.debit_account, id=t.id)


def _row_values(t: TransferIn, by_code: Mapping[str, _AccountLike]) -> dict[str, Any]:
    debit, credit = by_code[t.debit_account], by_code[t.credit_account]
    if debit.currency != credit.currency:
        raise LedgerCurrencyMismatch(f"{debit.currency} ≠ {credit.currency}", id=t.id)
    return {"id": t.id, "debit_account_id": debit.id, "credit_account_id": credit.id, "amount": t.amount,
            "state": (TransferState.PENDING if t.pending else TransferState.POSTED).value, "pending_id": None,
            "code": t.code, "reference": t.reference}


_BY_CODES = Account.code.in_(bindparam("codes", expanding=True))  # prebuilt: transfers run on every settlement


def _lock(session: Session, where: ColumnElement[bool], params: dict[str, Any] | None = None) -> dict[int, Account]:
    """Lock the accounts in id order (no deadlock between ledger calls) and read their current totals."""
    stmt = _LOCK_BY_CODES if where is _BY_CODES else _lock_statement(where)
    return {a.id: a for a in session.execute(stmt, params or {}).scalars()}


def _lock_statement(where: ColumnElement[bool]) -> Any:
    return (select(Account).where(where).order_by(Account.id).with_for_update()
            .execution_options(populate_existing=True))  # an Account already in the session must not be stale


_LOCK_BY_CODES = _lock_statement(_BY_CODES)


# ---------------------------------------------------------------------------------------------------- applying


@dataclass
class _Totals:
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


def _simulate(accounts: Mapping[int, _AccountLike], wanted: Iterable[dict[str, Any]]) -> dict[int, _Totals]:
    """The totals after every leg, checking each leg's limits on the way; raises before anything is written."""
    totals = {i: _Totals(*(getattr(a, k) for k in _TOTALS)) for i, a in accounts.items()}
    for w in wanted:
        dr, cr, amount, state = totals[w["debit_account_id"]], totals[w["credit_account_id"]], w["amount"], w["state"]
        if state == TransferState.POSTED:
            dr.debits_posted += amount
            cr.credits_posted += amount
        elif state == TransferState.PENDING:
            dr.debits_pending += amount
            cr.credits_pending += amount
        else:  # resolving: release the whole reservation, post what is posted
            held = w["_pending_amount"]
            dr.debits_pending -= held
            cr.credits_pending -= held
            if state == TransferState.POST_PENDING:
                dr.debits_posted += amount
                cr.credits_posted += amount
        for account_id in (w["debit_account_id"], w["credit_account_id"]):
            _check_limits(accounts[account_id], totals[account_id], w["id"])
    return totals


def _check_limits(account: _AccountLike, t: _Totals, transfer_id: str) -> None:
    if account.debits_must_not_exceed_credits and t.debits_posted + t.debits_pending > t.credits_posted:
        raise LedgerExceedsCredits(account.code, id=transfer_id, account=account.code,
                                   available=account.credits_posted - account.debits_posted - account.debits_pending)
    if account.credits_must_not_exceed_debits and t.credits_posted + t.credits_pending > t.debits_posted:
        raise LedgerExceedsDebits(account.code, id=transfer_id, account=account.code)
    if max(t.debits_posted + t.debits_pending, t.credits_posted + t.credits_pending) > TOTAL_MAX:
        raise LedgerOverflow(account.code, id=transfer_id, account=account.code)


def _write(session: Session, wanted: list[dict[str, Any]], accounts: dict[int, Account],
           totals: dict[int, _Totals]) -> list[TransferOut]:
    now = clock.now()
    rows = [{k: v for k, v in w.items() if not k.startswith("_")} | {"timestamp": now} for w in wanted]
    # ON CONFLICT DO NOTHING: a retry (or a concurrent twin) finds its id taken without aborting the
    # transaction; PostgreSQL waits for the twin to commit first, so the replay below sees it.
    inserted: dict[str, int] = dict(session.execute(_INSERT_TRANSFERS[session.get_bind().dialect.name], rows).all())
    if len(inserted) < len(rows):
        return _replay_or_refuse(session, wanted, accounts, rows, inserted)
    _store_totals(session, accounts, totals)
    codes = {a.id: a.code for a in accounts.values()}
    return [_out_from_values(r, inserted[r["id"]], codes) for r in rows]


def _replay_or_refuse(session: Session, wanted: list[dict[str, Any]], accounts: Mapping[int, _AccountLike],
                      rows: list[dict[str, Any]], inserted: Mapping[str, Any]) -> list[TransferOut]:
    """Some transfer ids already existed: the same transfers again are a replay (the first answer); anything
    else is refused, with nothing added to any account."""
    replayed = _replay(session, wanted, accounts) if not inserted else None
    if replayed is not None:
        return replayed
    if wanted[0]["pending_id"] is not None and not inserted:
        _refuse_if_resolved(session, wanted[0]["pending_id"])
    raise LedgerIdExistsDifferent(", ".join(r["id"] for r in rows if r["id"] not in inserted))


def _limited(account: _AccountLike) -> bool:
    return account.debits_must_not_exceed_credits or account.credits_must_not_exceed_debits


def _write_postgres(session: Session, wanted: list[dict[str, Any]], accounts: Mapping[int, hot.Locked],
                    totals: dict[int, _Totals]) -> list[TransferOut]:
    """As ``_write``, in one statement that also locks the accounts without a limit (``sscard.ledger.hot``)."""
    now = clock.now()
    rows = [{k: v for k, v in w.items() if not k.startswith("_")} | {"timestamp": now} for w in wanted]
    changes = [hot.Change(i, a.version if _limited(a) else None,
                          *(getattr(totals[i], k) - getattr(a, k) for k in _TOTALS))
               for i, a in sorted(accounts.items()) if any(getattr(totals[i], k) != getattr(a, k) for k in _TOTALS)]
    session.flush()  # anything else pending goes first, as the ORM would have ordered it
    applied = hot.apply(session, rows, changes, TOTAL_MAX)
    inserted = applied.inserted
    if len(inserted) < len(rows):  # nothing was added to any account (see sscard.ledger.hot)
        return _replay_or_refuse(session, wanted, accounts, rows, inserted)
    skipped = [accounts[c.account_id] for c in changes if c.account_id not in applied.totals]
    for account in skipped:  # the caller's unit of work rolls back the transfers just inserted
        if _limited(account):
            raise StaleDataError(f"ledger account changed under its lock: {account.code}")
        raise LedgerOverflow(account.code, id=rows[0]["id"], account=account.code)
    for account_id, (version, *after) in applied.totals.items():
        account = accounts[account_id]
        account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending = after
        account.version = version
    _refresh_loaded(session, accounts)
    codes = {a.id: a.code for a in accounts.values()}
    return [_out_from_values(r, inserted[r["id"]], codes) for r in rows]


def _refresh_loaded(session: Session, accounts: Mapping[int, hot.Locked]) -> None:
    """ORM copies of these accounts already in the session get the totals just read and written, as the ORM
    read with ``populate_existing`` did, so no later read or update in this transaction sees a stale total."""
    if not session.identity_map:
        return
    for account in accounts.values():
        loaded = session.identity_map.get(identity_key(Account, account.id))
        if loaded is not None:
            for k in (*_TOTALS, "version"):
                set_committed_value(loaded, k, getattr(account, k))


_ACCOUNTS = Account.metadata.tables[Account.__tablename__]
_TRANSFERS = Transfer.metadata.tables[Transfer.__tablename__]
# Parameters are given at execution (an executemany, sent as one multi-row INSERT): the statement is compiled
# once, where .values(rows) was coerced and compiled anew for every call.
_INSERT_TRANSFERS = {name: insert(_TRANSFERS).on_conflict_do_nothing().returning(_TRANSFERS.c.id, _TRANSFERS.c.seq)
                     for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_STORE = (update(_ACCOUNTS)
          .where(_ACCOUNTS.c.id == bindparam("b_id"), _ACCOUNTS.c.version == bindparam("b_version"))
          .values({**{k: bindparam(f"b_{k}") for k in _TOTALS}, "version": bindparam("b_version") + 1}))


def _store_totals(session: Session, accounts: dict[int, Account], totals: dict[int, _Totals]) -> None:
    """Write the changed totals of locked accounts; the loaded objects are updated to match (not dirtied)."""
    changed = [(accounts[i], t) for i, t in totals.items()
               if any(getattr(accounts[i], k) != getattr(t, k) for k in _TOTALS)]
    if not changed:
        return
    session.flush()  # anything else pending goes first, as the ORM would have ordered it
    params = [{"b_id": a.id, "b_version": a.version, **{f"b_{k}": getattr(t, k) for k in _TOTALS}}
              for a, t in changed]
    result = session.connection().execute(_STORE, params)
    if result.rowcount != len(params):  # a writer that did not lock (see LedgerAccount.version)
        raise StaleDataError(f"ledger accounts changed under their lock: {[a.code for a, _ in changed]}")
    for account, t in changed:
        for k in _TOTALS:
            set_committed_value(account, k, getattr(t, k))
        set_committed_value(account, "version", account.version + 1)


# ---------------------------------------------------------------------------------------------------- replays

_COMPARED = ("debit_account_id", "credit_account_id", "amount", "state", "pending_id", "code", "reference")


def _replay(session: Session, wanted: list[dict[str, Any]],
            accounts: Mapping[int, _AccountLike]) -> list[TransferOut] | None:
    """The earlier results if every id exists with the same fields; ``None`` if none exists; an error if the
    ids exist only in part or with other fields."""
    ids = [w["id"] for w in wanted]
    existing = {t.id: t for t in session.execute(select(Transfer).where(Transfer.id.in_(ids))).scalars()}
    if not existing:
        return None
    codes = {a.id: a.code for a in accounts.values()}
    for w in wanted:
        found = existing.get(w["id"])
        if found is None or any(getattr(found, k) != w[k] for k in _COMPARED):
            raise LedgerIdExistsDifferent(w["id"], id=w["id"])
    return [_out(existing[w["id"]], codes, replayed=True) for w in wanted]


def _out(t: Transfer, codes: dict[int, str], replayed: bool = False) -> TransferOut:
    return TransferOut(seq=t.seq, id=t.id, debit_account=codes[t.debit_account_id],
                       credit_account=codes[t.credit_account_id], amount=t.amount, state=t.state,
                       pending_id=t.pending_id, code=t.code, reference=t.reference, timestamp=t.timestamp,
                       replayed=replayed)


def _out_from_values(r: dict[str, Any], seq: int, codes: dict[int, str]) -> TransferOut:
    return TransferOut(seq=seq, id=r["id"], debit_account=codes[r["debit_account_id"]],
                       credit_account=codes[r["credit_account_id"]], amount=r["amount"], state=r["state"],
                       pending_id=r["pending_id"], code=r["code"], reference=r["reference"], timestamp=r["timestamp"])


def _insert(session: Session, model: type[Account] | type[Transfer]) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING (PostgreSQL and SQLite ≥ 3.24 both do)."""
    dialect = session.get_bind().dialect.name
    stmt: Insert = postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)
    return stmt


# ---------------------------------------------------------------------------------------------------- reads


def lookup_transfer(session: Session, id: str) -> TransferOut | None:
    t = session.execute(select(Transfer).where(Transfer.id == id)).scalar_one_or_none()
    if t is None:
        return None
    codes = dict(session.execute(select(Account.id, Account.code).where(
        Account.id.in_((t.debit_account_id, t.credit_account_id)))).all())
    return _out(t, codes)


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
    row = session.execute(select(*(part for k in _TOTALS for part in exact_sum(getattr(Account, k))))).one()
    return ZeroSum(**{k: combined(row[2 * i], row[2 * i + 1]) for i, k in enumerate(_TOTALS)})  # no overflow


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
        if any(getattr(account, k) != sums[k].get(account.id, 0) for k in _TOTALS):
            bad.append(account.code)
    return bad
