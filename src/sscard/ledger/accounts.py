"""Ledger accounts: opening (race-safe), the balance, and the locked read that posting starts from.

Which accounts exist and with which kind and limit flag is the chart's (``sscard.ledger.chart``); this
module opens whatever code it is given, so tests and tools may keep books of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from sscard import clock
from sscard.ledger.errors import (
    LedgerAccountExists,
    LedgerAccountExistsDifferent,
    LedgerAccountInvalid,
    LedgerAccountNotFound,
)
from sscard.ledger.models import LedgerAccount as Account
from sscard.ledger.rules import ACCOUNT_COLUMNS, CODE_RE, CURRENCY_RE, KIND_RE, TOTALS, AccountRow, account_row
from sscard.ledger.schemas import Balance


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
    """INSERT … ON CONFLICT (code) DO NOTHING (PostgreSQL and SQLite ≥ 3.24 both know it): the new id, or
    ``None`` if the code exists."""
    row = {**values, "debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0,
           "version": 1, "created_at": clock.now()}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Account).values(row).on_conflict_do_nothing(index_elements=["code"])
    new_id: int | None = session.execute(stmt.returning(Account.id)).scalar_one_or_none()
    return new_id


# ---------------------------------------------------------------------------------------------------- locked read

_ROW = [getattr(Account, k) for k in ACCOUNT_COLUMNS]  # ORM attributes: the session autoflushes first
BY_CODES = Account.code.in_(bindparam("codes", expanding=True))  # prebuilt: transfers run on every settlement


def _lock_statement(where: ColumnElement[bool]) -> Any:
    return select(*_ROW).where(where).order_by(Account.id).with_for_update()


_LOCK_BY_CODES = _lock_statement(BY_CODES)


def lock(session: Session, where: ColumnElement[bool], params: dict[str, Any] | None = None) -> dict[int, AccountRow]:
    """Lock the accounts in id order (no deadlock between ledger calls; SQLite's writer lock serialises
    anyway) and read their current totals. ORM copies of them already in the session get these totals, as an
    ORM read with ``populate_existing`` would have given them."""
    stmt = _LOCK_BY_CODES if where is BY_CODES else _lock_statement(where)
    found = {row.id: row for row in map(account_row, session.execute(stmt, params or {}))}
    refresh_loaded(session, found)
    return found


def refresh_loaded(session: Session, accounts: Mapping[int, AccountRow]) -> None:
    """Give ORM copies of these accounts already in the session the totals and version read or written, so no
    later read or update in this transaction sees a stale total."""
    if not session.identity_map:
        return
    for account in accounts.values():
        loaded = session.identity_map.get(identity_key(Account, account.id))
        if loaded is not None:
            for k in (*TOTALS, "version"):
                set_committed_value(loaded, k, getattr(account, k))
