"""The simulated cooperating bank: holder accounts (normal / frozen / closed / lost, financial function on or
off, balance), batch files answered line by line with realistic failures, real-time calls — kept in the
``simbank_*`` tables so the embedded gateway, the loopback service and the tests see one bank.

How a line is judged (first match wins): unknown account → NO_ACCOUNT; closed → ACCOUNT_CLOSED; lost →
ACCOUNT_LOST; frozen → ACCOUNT_FROZEN; name ≠ holder name → NAME_MISMATCH; financial function not activated →
FINANCIAL_NOT_ACTIVATED; a debit above the balance → INSUFFICIENT_BALANCE (lines of one file are applied in
file order, so a second debit sees the first). Each bank also holds the bureau's settlement account
(``BUREAU_ACCOUNT``): pay-outs are drawn from it, withholdings paid into it.

Bulk: a file is answered with one read of the bank's accounts into a dict, the judgement in Python, and one
set-based balance update (COPY + UPDATE … FROM on PostgreSQL, ``executemany`` on SQLite) — in one transaction
together with the stored return file, so a crash leaves either nothing or the whole answer.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sscard.banks.errors import (
    BankBatchConflict,
    BankFileMismatch,
    BankHandleUnknown,
    SimAccountExists,
    SimAccountNotFound,
    SimAmountInvalid,
    SimCallInvalid,
    SimStateInvalid,
)
from sscard.banks.files import BatchFile, Kind, Reason, ReturnLine, parse_batch, peek_bank_code, write_return
from sscard.banks.models import SimAccount, SimBatch, SimCall
from sscard.banks.protocol import AccountState, AccountStatus, CallResult
from sscard.bulksql import copy_rows, executemany, fetch_all, no_gc
from sscard.db import Database
from sscard.kms.partners import PartnerKeys

BUREAU_ACCOUNT = "BUREAU-SETTLEMENT"  # the bureau's settlement account in every simulated bank
_BUREAU_NAME = "社会保险基金管理局"
_LOAD_ALL_ABOVE = 2000  # lines: above this, read the bank's whole account table instead of IN-lists


@dataclass(frozen=True, slots=True)
class NewAccount:
    bank_code: str
    account_no: str
    holder_name: str
    id_number: str = ""
    state: AccountState = AccountState.NORMAL
    financial_activated: bool = True
    balance: int = 0


class SimulatedBank:
    """The bank's operations; each method is one transaction of its own (the bank is not the bureau)."""

    def __init__(self, db: Database, keys: PartnerKeys | None = None) -> None:
        self.db = db
        self.keys = keys  # the bank's file keys (each bank's own); default: the process's partner keystore

    # ------------------------------------------------------------------------------------------------ accounts

    def open_account(self, bank_code: str, account_no: str, holder_name: str, id_number: str = "", *,
                     state: AccountState | str = AccountState.NORMAL, financial_activated: bool = True,
                     balance: int = 0) -> None:
        with self.db.unit_of_work() as s:
            if s.get(SimAccount, (bank_code, account_no)) is not None:
                raise SimAccountExists(f"{bank_code} {account_no}", bank=bank_code, account_no=account_no)
            s.add(SimAccount(bank_code=bank_code, account_no=account_no, holder_name=holder_name,
                             id_number=id_number, state=_state(state),
                             financial_activated=financial_activated, balance=_non_negative(balance)))

    def open_accounts(self, accounts: Iterable[NewAccount]) -> int:
        """Bulk: open every account not yet open (existing ones are left alone); returns how many are new."""
        rows = [(a.bank_code, a.account_no, a.holder_name, a.id_number, _state(a.state),
                 a.financial_activated, _non_negative(a.balance)) for a in accounts]
        with self.db.unit_of_work() as s:
            before = s.execute(select(func.count()).select_from(SimAccount)).scalar_one()
            _insert_accounts(s, rows)
            after = s.execute(select(func.count()).select_from(SimAccount)).scalar_one()
        return int(after - before)

    def set_state(self, bank_code: str, account_no: str, state: AccountState | str) -> None:
        with self.db.unit_of_work() as s:
            _account(s, bank_code, account_no).state = _state(state)

    def set_financial_activated(self, bank_code: str, account_no: str, activated: bool) -> None:
        with self.db.unit_of_work() as s:
            _account(s, bank_code, account_no).financial_activated = activated

    def set_holder_name(self, bank_code: str, account_no: str, holder_name: str) -> None:
        with self.db.unit_of_work() as s:
            _account(s, bank_code, account_no).holder_name = holder_name

    def deposit(self, bank_code: str, account_no: str, amount: int) -> int:
        """Cash in at the counter; returns the new balance."""
        if type(amount) is not int or amount <= 0:
            raise SimAmountInvalid(str(amount))
        with self.db.unit_of_work() as s:
            account = _account(s, bank_code, account_no, lock=True)
            account.balance += amount
            return account.balance

    def balance(self, bank_code: str, account_no: str) -> int:
        with self.db.unit_of_work() as s:
            return _account(s, bank_code, account_no).balance

    def bureau_balance(self, bank_code: str) -> int:
        """The bureau's settlement account: Σ withheld − Σ paid out through this bank."""
        with self.db.unit_of_work() as s:
            found = s.get(SimAccount, (bank_code, BUREAU_ACCOUNT))
            return found.balance if found else 0

    def holders_total(self, bank_code: str) -> int:
        """Σ balances of the holders' accounts (everything but the bureau's)."""
        with self.db.unit_of_work() as s:
            return int(s.execute(select(func.coalesce(func.sum(SimAccount.balance), 0)).where(
                SimAccount.bank_code == bank_code, SimAccount.account_no != BUREAU_ACCOUNT)).scalar_one())

    def account_status(self, bank_code: str, account_no: str) -> AccountStatus:
        with self.db.unit_of_work() as s:
            a = s.get(SimAccount, (bank_code, account_no))
            if a is None or account_no == BUREAU_ACCOUNT:
                return AccountStatus(bank_code, account_no, exists=False)
            return AccountStatus(bank_code, account_no, True, AccountState(a.state), a.financial_activated,
                                 a.holder_name)

    # ------------------------------------------------------------------------------------------------ files

    def submit(self, bank_code: str, batch_file: bytes) -> str:
        """Receive and answer a batch file at once; the handle fetches the answer. Idempotent by batch id."""
        addressed = peek_bank_code(batch_file)
        if addressed != bank_code:
            raise BankFileMismatch(f"a file for {addressed} was sent to {bank_code}")
        batch = parse_batch(batch_file, self.keys, bank_code)  # BANK_FILE_MAC unless made under this bank's key
        header = batch.header
        handle = f"{bank_code}/{header.batch_id}"
        content = _content_digest(batch_file)
        with self.db.unit_of_work() as s:
            _lock_bank(s, bank_code)
            done = s.get(SimBatch, handle)
            if done is not None:
                if (done.checksum, done.kind) != (content, header.kind.value):
                    raise BankBatchConflict(f"batch {header.batch_id} was received with other lines",
                                            batch_id=header.batch_id)
                return handle
            with no_gc():
                results, deltas = _judge(s, batch)
                _apply(s, bank_code, deltas)
                answer = write_return(header, results, keys=self.keys)
            ok = [r for r in results if r.ok]
            s.add(SimBatch(handle=handle, bank_code=bank_code, batch_id=header.batch_id, kind=header.kind.value,
                           checksum=content, line_count=header.count, total=header.total, ok_count=len(ok),
                           ok_amount=sum(r.amount for r in ok), return_file=answer))
        return handle

    def fetch_return(self, handle: str) -> bytes | None:
        with self.db.unit_of_work() as s:
            found = s.execute(select(SimBatch.return_file).where(SimBatch.handle == handle)).scalar_one_or_none()
        if found is None:
            raise BankHandleUnknown(handle, handle=handle)
        return bytes(found)

    # ------------------------------------------------------------------------------------------------ real time

    def call(self, bank_code: str, kind: Kind | str, account_no: str, name: str, amount: int,
             ref: str) -> CallResult:
        """A real-time debit or credit of one account; a retry with the same ``ref`` replays the answer."""
        kind = Kind(kind)
        if type(amount) is not int or amount <= 0:
            raise SimAmountInvalid(str(amount))
        if not 0 < len(ref) <= 64 or not 0 < len(account_no) <= 32:
            raise SimCallInvalid(ref[:70])
        with self.db.unit_of_work() as s:
            _lock_bank(s, bank_code)
            seen = s.get(SimCall, (bank_code, ref))
            if seen is not None:
                if (seen.kind, seen.account_no, seen.amount) != (kind.value, account_no, amount):
                    raise BankBatchConflict(f"reference {ref} was used for another call", ref=ref)
                return CallResult(seen.ok, ref, Reason(seen.reason) if seen.reason else None, replayed=True)
            account = s.get(SimAccount, (bank_code, account_no)) if account_no != BUREAU_ACCOUNT else None
            facts = None if account is None else (account.holder_name, account.state, account.financial_activated,
                                                  account.balance)
            reason = judge_line(facts, name, amount, kind)
            if reason is None and account is not None:
                sign = -1 if kind is Kind.DEBIT else 1
                account.balance += sign * amount
                _bureau(s, bank_code).balance -= sign * amount
            s.add(SimCall(bank_code=bank_code, ref=ref, kind=kind.value, account_no=account_no, amount=amount,
                          ok=reason is None, reason=reason))
        return CallResult(reason is None, ref, Reason(reason) if reason else None)

    # ------------------------------------------------------------------------------------------------ demo

    def sync_from_cards(self) -> int:
        """Open an account (balance 0, financial function on iff the card is activated, holder name as the bank
        received it in production) for every valid card whose bank returned an account number; existing
        accounts are left alone. Returns how many are new."""
        from sscard.banks.service import bank_holder_name

        with self.db.unit_of_work() as s:
            before = s.execute(select(func.count()).select_from(SimAccount)).scalar_one()
            # The few names production spelled in pinyin first, with the bank's spelling; then everyone else
            # in one INSERT … SELECT (ON CONFLICT skips the ones just opened).
            spelled = [(bank, account, bank_holder_name(name, charset), id_number, "normal", bool(active), 0)
                       for bank, account, name, id_number, active, charset
                       in fetch_all(s, _CARD_ACCOUNTS.format(columns=", k.charset", where="AND r.name_substituted",
                                                                    group=", k.charset"))]
            if spelled:
                _insert_accounts(s, spelled)
            s.execute(text(f"INSERT INTO simbank_accounts ({_COLUMNS}) SELECT * FROM ("
                           + _CARD_ACCOUNTS.format(columns=", 'normal', 0", where="", group="")
                           # "WHERE true": SQLite would read "ON CONFLICT" as a join constraint without it
                           + ") AS cards WHERE true ON CONFLICT (bank_code, account_no) DO NOTHING"))
            after = s.execute(select(func.count()).select_from(SimAccount)).scalar_one()
        return int(after - before)


_COLUMNS = "bank_code, account_no, holder_name, id_number, financial_activated, state, balance"
_CARD_ACCOUNTS = ("SELECT b.bank_code, r.account_no, MIN(p.name), MIN(p.id_number), "
                  "MAX(CASE WHEN c.activated_at IS NULL THEN 0 ELSE 1 END) = 1{columns} "
                  "FROM cards c JOIN persons p ON p.id = c.person_id "
                  "JOIN production_batch_records r ON r.card_id = c.id "
                  "JOIN production_batches b ON b.id = r.batch_id "
                  "JOIN cooperating_banks k ON k.code = b.bank_code "
                  "WHERE r.account_no IS NOT NULL AND c.app_status IS NOT NULL AND c.app_status <> '9' {where} "
                  "GROUP BY b.bank_code, r.account_no{group}")


def judge_line(facts: tuple[str, str, bool, int] | None, name: str, amount: int, kind: Kind) -> str | None:
    """The reason a line fails, or None. ``facts`` = (holder name, state, financial activated, balance)."""
    if facts is None:
        return Reason.NO_ACCOUNT.value
    holder, state, activated, balance = facts
    if state != AccountState.NORMAL:
        return _STATE_REASON[state]
    if name != holder:
        return Reason.NAME_MISMATCH.value
    if not activated:
        return Reason.FINANCIAL_NOT_ACTIVATED.value
    if kind is Kind.DEBIT and balance < amount:
        return Reason.INSUFFICIENT_BALANCE.value
    return None


_STATE_REASON = {AccountState.CLOSED.value: Reason.ACCOUNT_CLOSED.value,
                 AccountState.LOST.value: Reason.ACCOUNT_LOST.value,
                 AccountState.FROZEN.value: Reason.ACCOUNT_FROZEN.value}


def _judge(s: Session, batch: BatchFile) -> tuple[list[ReturnLine], dict[str, int]]:
    """Each line's answer, and the balance change per account (the bureau's included)."""
    bank_code, kind = batch.header.bank_code, batch.header.kind
    accounts = _load(s, bank_code, {line.account_no for line in batch.lines})
    accounts.pop(BUREAU_ACCOUNT, None)  # nobody pays into or withholds from the bureau's own account
    deltas: dict[str, int] = defaultdict(int)
    results: list[ReturnLine] = []
    append = results.append
    if kind is Kind.CREDIT:
        # judge_line inlined for the million-line pay-out: no balance to follow, one dict look-up per line
        normal, no_account = AccountState.NORMAL.value, Reason.NO_ACCOUNT.value
        mismatch, inactive = Reason.NAME_MISMATCH.value, Reason.FINANCIAL_NOT_ACTIVATED.value
        paid = 0
        get = accounts.get
        for line_no, ref, account_no, name, _id_number, amount in batch.lines:  # unpacked: no attribute look-ups
            found = get(account_no)
            if found is None:
                reason: str | None = no_account
            elif found[2] != normal:
                reason = _STATE_REASON[found[2]]
            elif name != found[1]:
                reason = mismatch
            elif not found[3]:
                reason = inactive
            else:
                reason = None
                deltas[account_no] += amount
                paid += amount
            append(ReturnLine(line_no, ref, account_no, amount, reason is None, reason))
        deltas[BUREAU_ACCOUNT] -= paid
        return results, deltas
    for line in batch.lines:
        row = accounts.get(line.account_no)
        facts = None if row is None else (row[1], row[2], bool(row[3]), int(row[4]) + deltas[line.account_no])
        reason = judge_line(facts, line.name, line.amount, kind)
        if reason is None:
            deltas[line.account_no] -= line.amount
            deltas[BUREAU_ACCOUNT] += line.amount
        append(ReturnLine(line.line_no, line.ref, line.account_no, line.amount, reason is None, reason))
    return results, deltas


def _load(s: Session, bank_code: str, wanted: set[str]) -> dict[str, tuple[Any, ...]]:
    """The bank's accounts by number, as the driver's own rows (account no, holder name, state, financial
    activated, balance): one read, no tuple made per account."""
    sql = "SELECT account_no, holder_name, state, financial_activated, balance FROM simbank_accounts "
    rows: list[tuple[Any, ...]] = []
    if len(wanted) > _LOAD_ALL_ABOVE:
        rows = fetch_all(s, sql + "WHERE bank_code = ?", (bank_code,))
    else:
        numbers = sorted(wanted)
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            rows += fetch_all(s, sql + f"WHERE bank_code = ? AND account_no IN ({', '.join('?' * len(chunk))})",
                              (bank_code, *chunk))
    return {r[0]: r for r in rows}


def _apply(s: Session, bank_code: str, deltas: dict[str, int]) -> None:
    changed = [(account_no, delta) for account_no, delta in deltas.items() if delta]
    if not changed:
        return
    _bureau(s, bank_code)  # exists before it is updated
    s.flush()
    if s.get_bind().dialect.name == "postgresql":
        # COPY into a scratch table without an index (the deltas are keyed by account already: nothing to
        # enforce, and an index would be built row by row), then one UPDATE … FROM.
        s.execute(text("CREATE TEMP TABLE IF NOT EXISTS simbank_delta_in (account_no VARCHAR(32) NOT NULL, "
                       "delta BIGINT NOT NULL) ON COMMIT DELETE ROWS"))
        copy_rows(s, "simbank_delta_in", ("account_no", "delta"), changed)
        s.execute(text("UPDATE simbank_accounts a SET balance = a.balance + d.delta FROM simbank_delta_in d "
                       "WHERE a.bank_code = :bank AND a.account_no = d.account_no"), {"bank": bank_code})
        s.execute(text("TRUNCATE simbank_delta_in"))
    else:
        executemany(s, "UPDATE simbank_accounts SET balance = balance + ? WHERE bank_code = ? AND account_no = ?",
                    [(delta, bank_code, account_no) for account_no, delta in changed])
    s.expire_all()  # the ORM copies of these rows are stale now


def _lock_bank(s: Session, bank_code: str) -> None:
    """Serialise the bank's answers on its bureau row: the judgement reads balances it then changes."""
    _bureau(s, bank_code)
    s.flush()
    s.execute(select(SimAccount).where(SimAccount.bank_code == bank_code, SimAccount.account_no == BUREAU_ACCOUNT)
              .with_for_update().execution_options(populate_existing=True))


def _bureau(s: Session, bank_code: str) -> SimAccount:
    found = s.get(SimAccount, (bank_code, BUREAU_ACCOUNT))
    if found is None:
        _insert_accounts(s, [(bank_code, BUREAU_ACCOUNT, _BUREAU_NAME, "", "normal", True, 0)])
        found = s.get(SimAccount, (bank_code, BUREAU_ACCOUNT))
        assert found is not None
    return found


def _insert_accounts(s: Session, rows: list[tuple[str, str, str, str, str, bool, int]]) -> None:
    columns = "bank_code, account_no, holder_name, id_number, state, financial_activated, balance"
    if s.get_bind().dialect.name == "postgresql" and len(rows) > 100:
        # COPY into a scratch table, then one INSERT … SELECT: a million accounts in seconds.
        s.execute(text("CREATE TEMP TABLE IF NOT EXISTS simbank_new (LIKE simbank_accounts) ON COMMIT DROP"))
        copy_rows(s, "simbank_new", columns.split(", "), rows)
        s.execute(text(f"INSERT INTO simbank_accounts ({columns}) SELECT {columns} FROM simbank_new "
                       "ON CONFLICT (bank_code, account_no) DO NOTHING"))
        s.execute(text("DROP TABLE simbank_new"))
        return
    executemany(s, f"INSERT INTO simbank_accounts ({columns}) VALUES ({', '.join('?' * 7)}) "
                   "ON CONFLICT (bank_code, account_no) DO NOTHING", rows)


def _account(s: Session, bank_code: str, account_no: str, lock: bool = False) -> SimAccount:
    query = select(SimAccount).where(SimAccount.bank_code == bank_code, SimAccount.account_no == account_no)
    if lock:
        query = query.with_for_update()
    found = s.execute(query).scalar_one_or_none()
    if found is None:
        raise SimAccountNotFound(f"{bank_code} {account_no}", bank=bank_code, account_no=account_no)
    return found


def _state(state: AccountState | str) -> str:
    try:
        return AccountState(state).value
    except ValueError:
        raise SimStateInvalid(str(state)[:20]) from None


def _non_negative(balance: int) -> int:
    if type(balance) is not int or balance < 0:
        raise SimAmountInvalid(str(balance))
    return balance


def _content_digest(batch_file: bytes) -> str:
    """What makes two submissions "the same batch": every byte but the header's creation time."""
    head_end = batch_file.index(b"\n")
    header = batch_file[:head_end].rsplit(b"|", 1)[0]
    return hashlib.sha256(header + batch_file[head_end:batch_file.rindex(b"\n", 0, len(batch_file) - 1)]).hexdigest()


class EmbeddedGateway:
    """``BankGateway`` over the simulated bank in the same process (the default)."""

    def __init__(self, db: Database, bank_code: str) -> None:
        self.bank = SimulatedBank(db)
        self.bank_code = bank_code

    def submit(self, batch_file: bytes) -> str:
        return self.bank.submit(self.bank_code, batch_file)

    def fetch_return(self, handle: str) -> bytes | None:
        return self.bank.fetch_return(handle)

    def account_status(self, account_no: str) -> AccountStatus:
        return self.bank.account_status(self.bank_code, account_no)

    def debit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self.bank.call(self.bank_code, Kind.DEBIT, account_no, name, amount, ref)

    def credit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self.bank.call(self.bank_code, Kind.CREDIT, account_no, name, amount, ref)

    def receive_transfer(self, amount: int, ref: str) -> CallResult:
        """Simulation only (not part of ``BankGateway``): a third party's transfer arrives in the bureau's
        account — see ``receive_transfer`` below."""
        return receive_transfer(self.bank.db, self.bank_code, amount, ref)


def receive_transfer(db: Database, bank_code: str, amount: int, ref: str) -> CallResult:
    """An incoming transfer into the bureau's settlement account (an employer paying its contributions by bank
    transfer, 单位缴费到账): the bank credits ``BUREAU_ACCOUNT`` once per ``ref``; a retry with the same ref
    replays the first answer (``replayed``) and moves nothing. Kept apart from ``SimulatedBank`` (added for
    employer files; the class's hot paths are untouched)."""
    if type(amount) is not int or amount <= 0:
        raise SimAmountInvalid(str(amount))
    if not 0 < len(ref) <= 64:
        raise SimCallInvalid(ref[:70])
    with db.unit_of_work() as s:
        _lock_bank(s, bank_code)
        seen = s.get(SimCall, (bank_code, ref))
        if seen is not None:
            if (seen.kind, seen.account_no, seen.amount) != (Kind.CREDIT.value, BUREAU_ACCOUNT, amount):
                raise BankBatchConflict(f"reference {ref} was used for another call", ref=ref)
            return CallResult(True, ref, None, replayed=True)
        _bureau(s, bank_code).balance += amount
        s.add(SimCall(bank_code=bank_code, ref=ref, kind=Kind.CREDIT.value, account_no=BUREAU_ACCOUNT,
                      amount=amount, ok=True, reason=None))
    return CallResult(True, ref)
