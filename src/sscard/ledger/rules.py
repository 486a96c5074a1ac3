"""The posting rules, once, for every writer of the ledger: the locked path (``posting.transfers_locked``),
PostgreSQL's hot path (``posting.transfers_hot``, statements in ``hot``) and bulk posting (``bulk.post_many``).

- what a transfer must look like (``check_transfer``: id, amount, two accounts; ``check_currency``);
- the one row of an account that posting reads (``AccountRow``, columns ``ACCOUNT_COLUMNS``), and its four
  totals (``Totals``);
- the limit flags and the BIGINT bound (``check_limits``), applied leg by leg (``simulate``) or to the state a
  whole bulk batch leaves;
- what makes a retry a replay (``Body``: the compared fields, ``COMPARED``; ``body_differs_sql`` for a
  comparison made in SQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sscard.ledger.errors import (
    LedgerAmountInvalid,
    LedgerCurrencyMismatch,
    LedgerExceedsCredits,
    LedgerExceedsDebits,
    LedgerIdInvalid,
    LedgerOverflow,
    LedgerSameAccount,
)
from sscard.ledger.models import TransferState

ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_.]{0,29}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
TOTAL_MAX = 2**63 - 1  # BIGINT
MAX_BATCH = 1000  # linked transfers per call
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
# What posting reads of an account, in this order (``AccountRow``); every reader selects these columns.
ACCOUNT_COLUMNS = ("id", "code", "currency", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
                   *TOTALS, "version")


# ---------------------------------------------------------------------------------------------------- shapes


@dataclass(slots=True)
class Totals:
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


@dataclass(slots=True)
class AccountRow:
    """An account as posting reads it (plain columns, not an ORM object: tens of thousands in a bulk batch,
    and loading ORM objects was an eighth of the server's CPU per settlement)."""

    id: int
    code: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int

    @property
    def limited(self) -> bool:
        """Whether the account carries a limit flag (its balance must then be checked under a lock)."""
        return self.debits_must_not_exceed_credits or self.credits_must_not_exceed_debits

    def totals(self) -> Totals:
        return Totals(self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)


def account_row(row: Sequence[Any]) -> AccountRow:
    """An ``AccountRow`` from the driver's tuple of ``ACCOUNT_COLUMNS`` (SQLite gives booleans as 0/1)."""
    return AccountRow(int(row[0]), row[1], row[2], bool(row[3]), bool(row[4]), int(row[5]), int(row[6]),
                      int(row[7]), int(row[8]), int(row[9]))


# ---------------------------------------------------------------------------------------------------- a transfer


def check_id(id: object) -> str:
    if not isinstance(id, str) or not ID_RE.match(id):
        raise LedgerIdInvalid("id: 1-64 of A-Z a-z 0-9 _ . : -", id=str(id)[:80])
    return id


def check_transfer(id: object, debit_account: str, credit_account: str, amount: object) -> None:
    """The id, then the amount (a whole number of fen, > 0, within BIGINT), then two different accounts."""
    id = check_id(id)
    if type(amount) is not int or not 0 < amount <= TOTAL_MAX:
        raise LedgerAmountInvalid(str(amount), id=id, amount=amount)
    if debit_account == credit_account:
        raise LedgerSameAccount(debit_account, id=id)


def check_currency(debit: AccountRow, credit: AccountRow, transfer_id: str) -> None:
    if debit.currency != credit.currency:
        raise LedgerCurrencyMismatch(f"{debit.currency} ≠ {credit.currency}", id=transfer_id)


# ---------------------------------------------------------------------------------------------------- limits


def check_limits(account: AccountRow, after: Totals, transfer_id: str | None = None) -> None:
    """``after`` (the account's totals once the transfers are applied) must keep the account's limit flag
    (pending debits count against a credit balance, pending credits do not help it) and the BIGINT bound.
    ``transfer_id`` names the leg that breaks it (none for a bulk batch, checked on the state it leaves)."""
    named: dict[str, Any] = {} if transfer_id is None else {"id": transfer_id}
    if account.debits_must_not_exceed_credits and after.debits_posted + after.debits_pending > after.credits_posted:
        raise LedgerExceedsCredits(account.code, **named, account=account.code,
                                   available=account.credits_posted - account.debits_posted - account.debits_pending)
    if account.credits_must_not_exceed_debits and after.credits_posted + after.credits_pending > after.debits_posted:
        raise LedgerExceedsDebits(account.code, **named, account=account.code)
    if max(after.debits_posted + after.debits_pending, after.credits_posted + after.credits_pending) > TOTAL_MAX:
        raise LedgerOverflow(account.code, **named, account=account.code)


def simulate(accounts: Mapping[int, AccountRow], legs: Iterable[Mapping[str, Any]]) -> dict[int, Totals]:
    """The totals after every leg (a transfer row: ids, amount, state; a resolving one also ``_pending_amount``),
    checking each leg's limits on the totals the earlier legs leave; raises before anything is written."""
    totals = {i: a.totals() for i, a in accounts.items()}
    for leg in legs:
        dr, cr, amount, state = totals[leg["debit_account_id"]], totals[leg["credit_account_id"]], leg["amount"], \
            leg["state"]
        if state == TransferState.POSTED:
            dr.debits_posted += amount
            cr.credits_posted += amount
        elif state == TransferState.PENDING:
            dr.debits_pending += amount
            cr.credits_pending += amount
        else:  # resolving: release the whole reservation, post what is posted
            held = leg["_pending_amount"]
            dr.debits_pending -= held
            cr.credits_pending -= held
            if state == TransferState.POST_PENDING:
                dr.debits_posted += amount
                cr.credits_posted += amount
        for account_id in (leg["debit_account_id"], leg["credit_account_id"]):
            check_limits(accounts[account_id], totals[account_id], leg["id"])
    return totals


def changed(accounts: Mapping[int, AccountRow], totals: Mapping[int, Totals]) -> list[int]:
    """Ids of the accounts whose totals ``totals`` changes, in id order."""
    return [i for i in sorted(totals) if totals[i] != accounts[i].totals()]


# ---------------------------------------------------------------------------------------------------- replays


class Body(NamedTuple):
    """What a retry must repeat exactly: the same id with the same body is a replay (nothing moves, the first
    result comes back); with any other body it is ``LEDGER_ID_EXISTS_DIFFERENT``."""

    debit_account_id: int
    credit_account_id: int
    amount: int
    state: str
    pending_id: str | None
    code: str
    reference: str | None


COMPARED = Body._fields


def body_of(transfer: Any) -> Body:
    """The body of a stored transfer (an ORM ``LedgerTransfer``) or of a transfer row (a mapping)."""
    if isinstance(transfer, Mapping):
        return Body(*(transfer[k] for k in COMPARED))
    return Body(*(getattr(transfer, k) for k in COMPARED))


def body_differs_sql(stored: str, wanted: str) -> str:
    """The same comparison in SQL, between two aliases carrying the ``COMPARED`` columns."""
    return " OR ".join(f"{stored}.{k} IS DISTINCT FROM {wanted}.{k}" for k in COMPARED)
