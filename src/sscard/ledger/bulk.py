"""Bulk posting: many balanced transfers in a few statements (``post_many``), for monthly runs of a million
lines, using the raw bulk-SQL helpers of ``sscard.bulksql`` (COPY on PostgreSQL, ``executemany`` on SQLite).

``post_many`` keeps the ledger's invariants (docs/ledger.md): every transfer is balanced (one debit leg, one
credit leg, same amount), a transfer id is written once (a retry of the same transfers posts nothing again; an
id reused with another body is ``LEDGER_ID_EXISTS_DIFFERENT``), the accounts' limit flags hold after the whole
batch, and each touched account's totals are updated once. The touched accounts are locked in id order first,
like ``ledger.service`` does, so bulk and single postings never deadlock each other.

Only *posted* transfers (no pending) are bulk-posted: a monthly batch moves money, it does not reserve it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import eq
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, bindparam, column, false, func, insert, literal, select, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.bulksql import copy_rows, copy_text, executemany, fetch_all, no_gc
from sscard.ledger.errors import LedgerAccountInvalid, LedgerAccountNotFound, LedgerIdExistsDifferent, LedgerIdInvalid
from sscard.ledger.models import LedgerAccount as Account
from sscard.ledger.models import TransferState
from sscard.ledger.rules import (
    ACCOUNT_COLUMNS,
    CODE_RE,
    COMPARED,
    ID_RE,
    KIND_RE,
    TOTAL_MAX,
    AccountRow,
    Body,
    Totals,
    account_row,
    body_differs_sql,
    check_currency,
    check_limits,
    check_transfer,
)

_CHUNK = 5000  # rows per multi-row statement on SQLite (and per id look-up)

_PG_ACCOUNTS_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_accounts (code VARCHAR(100) NOT NULL, "
                      "kind VARCHAR(30) NOT NULL, dnec BOOLEAN NOT NULL) ON COMMIT DELETE ROWS")
_PG_ACCOUNTS_INSERT = ("INSERT INTO ledger_accounts (code, kind, currency, debits_must_not_exceed_credits, "
                       "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, "
                       "credits_pending, version, created_at) "
                       "SELECT code, kind, 'CNY', dnec, false, 0, 0, 0, 0, 1, :now FROM ledger_bulk_accounts "
                       "ORDER BY code "
                       "ON CONFLICT (code) DO NOTHING")
_SQLITE_ACCOUNTS_INSERT = ("INSERT INTO ledger_accounts (code, kind, currency, debits_must_not_exceed_credits, "
                           "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, "
                           "credits_pending, version, created_at) VALUES (?, ?, 'CNY', ?, 0, 0, 0, 0, 0, 1, ?) "
                           "ON CONFLICT (code) DO NOTHING")


def open_accounts(session: Session, accounts: Sequence[tuple[str, str, bool]]) -> int:
    """Open the accounts ``(code, kind, debits_must_not_exceed_credits)`` that do not exist yet, in the caller's
    transaction: COPY into a scratch table and one INSERT … ON CONFLICT DO NOTHING on PostgreSQL, one prepared
    ``executemany`` on SQLite. Codes and kinds follow the rules of ``accounts.create_account``; an existing
    account is left as it is. Returns how many were opened now."""
    rows = sorted({a[0]: a for a in accounts}.values())
    if not rows:
        return 0
    codes = [r[0] for r in rows]
    if not all(map(CODE_RE.match, codes)) or not all(KIND_RE.match(r[1]) for r in rows):
        bad = next(r for r in rows if not (CODE_RE.match(r[0]) and KIND_RE.match(r[1])))
        raise LedgerAccountInvalid("code: 1-100 of A-Z a-z 0-9 _ . : -; kind: lower case", code=bad[0][:100])
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_PG_ACCOUNTS_STAGE))
        session.execute(text("TRUNCATE ledger_bulk_accounts"))
        with no_gc():
            copy_rows(session, "ledger_bulk_accounts", ("code", "kind", "dnec"), rows)
        result = cast(CursorResult[Any], session.execute(text(_PG_ACCOUNTS_INSERT), {"now": clock.now()}))
        opened = result.rowcount
        session.execute(text("TRUNCATE ledger_bulk_accounts"))
        return int(opened)
    before = int(session.execute(text("SELECT count(*) FROM ledger_accounts")).scalar_one())
    now = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    with no_gc():
        executemany(session, _SQLITE_ACCOUNTS_INSERT, [(code, kind, int(dnec), now) for code, kind, dnec in rows])
    return int(session.execute(text("SELECT count(*) FROM ledger_accounts")).scalar_one()) - before


def open_accounts_selected(session: Session, query: Select[str], kind: str, never_negative: bool) -> int:
    """``open_accounts`` for account codes a caller selects from its own tables (one column), all of one kind
    and flag: on PostgreSQL one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` — the codes never leave the
    server — so the caller guarantees they are of A-Z a-z 0-9 _ . : - by building them from checked parts (as
    for ``post_opening_selected``; a code over 100 characters is refused by the column). SQLite: the codes are
    read and go through ``open_accounts`` (which checks them). Returns how many were opened now."""
    if not KIND_RE.match(kind):
        raise LedgerAccountInvalid("code: 1-100 of A-Z a-z 0-9 _ . : -; kind: lower case")
    if session.get_bind().dialect.name != "postgresql":
        return open_accounts(session, [(str(code), kind, never_negative) for (code,) in session.execute(query)])
    session.flush()
    codes = query.subquery("q")
    code = codes.c[0]
    rows = select(code, literal(kind), literal("CNY"), literal(never_negative), false(), literal(0), literal(0),
                  literal(0), literal(0), literal(1), literal(clock.now(), Account.created_at.type)
                  ).distinct().order_by(code)
    stmt = pg_insert(Account).from_select(
        ["code", "kind", "currency", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
         "debits_posted", "credits_posted", "debits_pending", "credits_pending", "version", "created_at"],
        rows).on_conflict_do_nothing(index_elements=["code"]).returning(Account.id).cte("opened")
    # counted in SQL (an INSERT … SELECT reports no rowcount through SQLAlchemy; the ids stay on the server)
    return int(session.execute(select(func.count()).select_from(stmt)).scalar_one())


class BulkTransfer(NamedTuple):
    """One posted transfer of ``amount`` fen; ``id`` is its idempotency key (1-64 of A-Z a-z 0-9 _ . : -).

    A named tuple, not a dataclass: a month makes a million of them, and a tuple is made several times faster."""

    id: str
    debit_account: str
    credit_account: str
    amount: int
    code: str = ""
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class BulkResult:
    posted: int  # written now
    replayed: int  # already there with the same body (a retry): nothing moved
    amount: int  # fen moved now
    opened: int = 0  # accounts opened now (``post_opening``)


def post_many(session: Session, transfers: Sequence[BulkTransfer]) -> BulkResult:
    """Post many transfers in the caller's transaction: all of them or (on an error) none."""
    if not transfers:
        return BulkResult(0, 0, 0)
    _check(transfers)
    codes = {t.debit_account for t in transfers} | {t.credit_account for t in transfers}
    accounts = _lock(session, codes)
    by_code = {a.code: a for a in accounts.values()}
    missing = codes - by_code.keys()
    if missing:
        code = sorted(missing)[0]
        raise LedgerAccountNotFound(code, code=code)
    if len({a.currency for a in accounts.values()}) > 1:
        _check_currency(transfers, by_code)
    if session.get_bind().dialect.name == "postgresql":
        posted, replayed, amount = _post_postgresql(session, transfers, accounts, by_code)
        return BulkResult(posted, replayed, amount)
    new, replayed = _split_replays(session, transfers, by_code)
    ids = {code: a.id for code, a in by_code.items()}
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # account id → [debits, credits]
    for t in new:
        deltas[ids[t.debit_account]][0] += t.amount
        deltas[ids[t.credit_account]][1] += t.amount
    for account_id, (debits, credits) in deltas.items():
        _check_limits(accounts[account_id], debits, credits)
    if new:
        _insert_transfers(session, new, ids)
        _add_totals(session, deltas)
    return BulkResult(len(new), replayed, sum(t.amount for t in new))


_PG_TOTALS = ("UPDATE ledger_accounts a SET debits_posted = a.debits_posted + d.debits, "
              "credits_posted = a.credits_posted + d.credits, version = a.version + 1 "
              "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:debits AS BIGINT[]), CAST(:credits AS BIGINT[])) "
              "AS d(id, debits, credits) WHERE a.id = d.id")
_SQLITE_TOTALS = ("UPDATE ledger_accounts SET debits_posted = debits_posted + ?, credits_posted = credits_posted + ?, "
                  "version = version + 1 WHERE id = ?")


def _add_totals(session: Session, deltas: dict[int, list[int]]) -> None:
    """Every touched account's totals in ONE statement (PostgreSQL: ``UPDATE … FROM unnest(arrays)``; SQLite:
    one prepared ``executemany``), never one UPDATE per account. The version column goes up by one like an
    ORM update would, and ORM copies of these accounts already in the session are expired, so nobody reads or
    writes a stale total afterwards (a later ORM update of a stale copy would fail on its version)."""
    if not deltas:
        return
    session.flush()  # pending ORM changes first: this statement must see (and not be undone by) them
    if session.get_bind().dialect.name == "postgresql":
        ids = list(deltas)
        session.execute(text(_PG_TOTALS), {"ids": ids, "debits": [deltas[i][0] for i in ids],
                                           "credits": [deltas[i][1] for i in ids]})
    else:
        executemany(session, _SQLITE_TOTALS, [(d, c, i) for i, (d, c) in deltas.items()])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and obj.id in deltas:
            session.expire(obj)


_PG_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_in (id VARCHAR(64) NOT NULL, "
             "debit_account_id BIGINT NOT NULL, credit_account_id BIGINT NOT NULL, amount BIGINT NOT NULL, "
             "code VARCHAR(40) NOT NULL, reference VARCHAR(64)) ON COMMIT DELETE ROWS")
_PG_INSERT = ("WITH ins AS (INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, state, "
              "code, reference, timestamp) SELECT id, debit_account_id, credit_account_id, amount, 'posted', code, "
              "reference, :now FROM ledger_bulk_in ON CONFLICT (id) DO NOTHING "
              "RETURNING debit_account_id, credit_account_id, amount) "
              "SELECT debit_account_id, credit_account_id, count(*), sum(amount) FROM ins GROUP BY 1, 2")
# The staged rows as bodies (posted, no pending id), compared with the stored ones by the rule of rules.Body.
_PG_DIFFERENT = ("SELECT b.id FROM (SELECT id, debit_account_id, credit_account_id, amount, 'posted' AS state, "
                 "CAST(NULL AS VARCHAR) AS pending_id, code, reference FROM ledger_bulk_in) b "
                 f"JOIN ledger_transfers t ON t.id = b.id WHERE {body_differs_sql('t', 'b')} LIMIT 1")


def _post_postgresql(session: Session, transfers: Sequence[BulkTransfer], accounts: dict[int, AccountRow],
                     by_code: dict[str, AccountRow]) -> tuple[int, int, int]:
    """COPY the batch into a scratch table, insert what is new in one statement (ON CONFLICT DO NOTHING makes
    a retry a no-op), and get back the sums per account pair; all inside a savepoint, so a refused batch
    leaves nothing behind even if the caller does not roll back.

    ON CONFLICT rather than an anti-join on ``id``: the journal is not analysed between the batches of a run,
    and the planner then may pick a nested loop over it (minutes for a million lines); ON CONFLICT probes the
    unique index per row, whatever the statistics say."""
    ids = {code: a.id for code, a in by_code.items()}
    session.execute(text(_PG_STAGE))
    session.execute(text("TRUNCATE ledger_bulk_in"))
    with no_gc():
        copy_rows(session, "ledger_bulk_in", ("id", "debit_account_id", "credit_account_id", "amount", "code",
                                              "reference"),
                  [(t.id, ids[t.debit_account], ids[t.credit_account], t.amount, t.code, t.reference)
                   for t in transfers])
    savepoint = session.begin_nested()
    try:
        pairs = session.execute(text(_PG_INSERT), {"now": clock.now()}).all()
        posted = sum(int(count) for _, _, count, _ in pairs)
        if posted < len(transfers):
            different = session.execute(text(_PG_DIFFERENT)).scalar_one_or_none()
            if different is not None:
                raise LedgerIdExistsDifferent(different, id=different)
        deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for debit_id, credit_id, _, amount in pairs:
            deltas[int(debit_id)][0] += int(amount)
            deltas[int(credit_id)][1] += int(amount)
        for account_id, (debits, credits) in deltas.items():
            _check_limits(accounts[account_id], debits, credits)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    _add_totals(session, deltas)
    session.execute(text("TRUNCATE ledger_bulk_in"))
    return posted, len(transfers) - posted, sum(int(amount) for *_, amount in pairs)


def _check(transfers: Sequence[BulkTransfer]) -> None:
    """Column-wise first (a million lines: one pass per rule in C); the line-by-line loop of the one rule
    (``rules.check_transfer``) runs only to name the first bad transfer."""
    ids = [t.id for t in transfers]
    if len(set(ids)) != len(ids):
        raise LedgerIdInvalid("the same id twice in one batch")
    amounts = [t.amount for t in transfers]
    match = ID_RE.match
    if all(type(i) is str for i in ids) and all(map(match, ids)) and all(type(a) is int for a in amounts) \
            and min(amounts) > 0 and max(amounts) <= TOTAL_MAX \
            and not any(map(eq, (t.debit_account for t in transfers), (t.credit_account for t in transfers))):
        return
    for t in transfers:
        check_transfer(t.id, t.debit_account, t.credit_account, t.amount)


def _check_currency(transfers: Sequence[BulkTransfer], by_code: dict[str, AccountRow]) -> None:
    for t in transfers:
        check_currency(by_code[t.debit_account], by_code[t.credit_account], t.id)


_LOCK_SQL = f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM ledger_accounts "


def _lock(session: Session, codes: set[str]) -> dict[int, AccountRow]:
    """Lock the accounts in id order (PostgreSQL; SQLite's writer lock serialises anyway) and read them as
    plain tuples: few queries, no ORM objects, however many personal accounts a batch touches."""
    session.flush()  # ORM changes to these accounts (e.g. one just opened) must be visible to the read
    wanted = sorted(codes)
    rows: list[tuple[Any, ...]] = []
    if session.get_bind().dialect.name == "postgresql":
        rows = fetch_all(session, _LOCK_SQL + "WHERE code = ANY(?) ORDER BY id FOR UPDATE", (wanted,))
    else:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows += fetch_all(session, _LOCK_SQL + f"WHERE code IN ({', '.join('?' * len(chunk))})", chunk)
    found = sorted(map(account_row, rows), key=lambda a: a.id)
    return {a.id: a for a in found}


def _check_limits(account: AccountRow, debits: int, credits: int) -> None:
    """The account after the whole batch must keep its flag (``rules.check_limits``). A bulk batch is applied
    as one (all or nothing, in one transaction), so its limits are those of the state it leaves, not of an
    arbitrary line order."""
    check_limits(account, Totals(account.debits_posted + debits, account.credits_posted + credits,
                                 account.debits_pending, account.credits_pending))


_EXISTING = text(f"SELECT id, {', '.join(COMPARED)} FROM ledger_transfers WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True))


def _split_replays(session: Session, transfers: Sequence[BulkTransfer],
                   by_code: dict[str, AccountRow]) -> tuple[list[BulkTransfer], int]:
    """The transfers not yet written, and how many are already there with the same body (a retry)."""
    wanted = {t.id: t for t in transfers}
    found: list[tuple[Any, ...]] = []
    ids = list(wanted)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        found.extend(session.execute(_EXISTING, {"ids": chunk}).all())
    for row in found:
        t = wanted.pop(row[0])
        mine = Body(by_code[t.debit_account].id, by_code[t.credit_account].id, t.amount, TransferState.POSTED.value,
                    None, t.code, t.reference)
        if Body(*row[1:]) != mine:
            raise LedgerIdExistsDifferent(t.id, id=t.id)
    return list(wanted.values()), len(found)


_COLUMNS = ("id", "debit_account_id", "credit_account_id", "amount", "state", "code", "reference", "timestamp")


def _insert_transfers(session: Session, new: list[BulkTransfer], ids: dict[str, int]) -> None:
    """SQLite: one prepared INSERT run over every row by the driver (no round trip per line)."""
    # the text SQLAlchemy itself stores for a UTC instant in SQLite
    now = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    posted = TransferState.POSTED.value
    with no_gc():
        rows = [(t.id, ids[t.debit_account], ids[t.credit_account], t.amount, posted, t.code, t.reference, now)
                for t in new]
        executemany(session, f"INSERT INTO ledger_transfers ({', '.join(_COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(_COLUMNS))})", rows)


# ---------------------------------------------------------------------------------------------------- openings

_PG_OPEN_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_open (id VARCHAR(64) NOT NULL, "
                  "code VARCHAR(100) NOT NULL, amount BIGINT NOT NULL, tcode VARCHAR(40) NOT NULL, "
                  "reference VARCHAR(64)) ON COMMIT DELETE ROWS")
# Transfers into accounts that exist already are taken out of the batch (they go through ``post_many``: totals
# updated, limits checked, replays recognised); what is left opens new accounts only.
_PG_OPEN_EXISTING = ("DELETE FROM ledger_bulk_open b USING ledger_accounts a WHERE a.code = b.code "
                     "RETURNING b.id, b.code, b.amount, b.tcode, b.reference")
# New credit accounts are inserted with the credits their transfers bring (the sum of their journal lines, as
# ``accounts_not_matching_journal`` checks), then the transfers into them, in one statement. Plain INSERTs, no
# ON CONFLICT: every account here is new (the rows of existing ones were taken out above), so a transfer id
# found in the journal cannot be a replay; the unique index refuses it (LEDGER_ID_EXISTS_DIFFERENT), and the
# speculative insertion of ON CONFLICT cost about a third of the statement for millions of rows (EXPLAIN
# ANALYZE, 200,000 rows). A concurrent opening of one of these accounts makes the statement fail on
# uq_ledger_accounts_code: the whole batch is refused, nothing of it written, and may be retried.
_PG_OPEN = ("WITH new AS (INSERT INTO ledger_accounts (code, kind, currency, debits_must_not_exceed_credits, "
            "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, credits_pending, "
            "version, created_at) SELECT code, :kind, 'CNY', :dnec, false, 0, sum(amount), 0, 0, 1, :now "
            "FROM ledger_bulk_open GROUP BY code ORDER BY code RETURNING id, code), "
            "ins AS (INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, state, code, "
            "reference, timestamp) SELECT b.id, :debit, new.id, b.amount, 'posted', b.tcode, b.reference, :now "
            "FROM ledger_bulk_open b JOIN new ON new.code = b.code RETURNING amount) "
            "SELECT (SELECT count(*) FROM new), count(*), coalesce(sum(amount), 0) FROM ins")
# The rules of ``_check`` that cost little in SQL, for rows staged by a query (``post_opening_selected``): the
# first row that breaks one, if any. (A regular expression per id and code cost 25 µs a row, ten seconds for
# 200,000 rows: the characters of ids and codes are the caller's to guarantee, by building them from checked
# parts; a duplicate id is refused by the journal's unique index.)
_PG_OPEN_INVALID = ("SELECT id FROM ledger_bulk_open WHERE octet_length(id) NOT BETWEEN 1 AND 64 "
                    "OR octet_length(code) NOT BETWEEN 1 AND 100 OR amount <= 0 OR code = :debit_code "
                    "OR strpos(tcode, chr(9)) > 0 OR strpos(tcode, chr(10)) > 0 "
                    "OR strpos(reference, chr(9)) > 0 OR strpos(reference, chr(10)) > 0 LIMIT 1")
# Sorting and hashing millions of staged rows in memory rather than in temporary files (this transaction only).
_PG_OPEN_MEMORY = "SELECT set_config('work_mem', '256MB', true)"


def post_opening(session: Session, transfers: Sequence[BulkTransfer], credit_kind: str,
                 credit_never_negative: bool) -> BulkResult:
    """Opening balances: transfers from ONE debit account into credit accounts that mostly do not exist yet
    (a migration's millions of personal accounts), in the caller's transaction.

    PostgreSQL: the transfers are COPYed into a scratch table; one statement opens every new credit account
    (``credit_kind``, the limit flag) with the credits of its transfers already counted and writes those
    transfers — no account is first opened at zero and then updated, which for millions of rows costs more than
    the rest together. Transfers into accounts that existed go through ``post_many`` (their totals updated,
    their limits checked, replays recognised). The debit account is locked, checked and updated once. SQLite:
    the accounts are opened (``open_accounts``) and the transfers posted with ``post_many``. All or nothing."""
    if not transfers:
        return BulkResult(0, 0, 0)
    _check(transfers)
    debits = {t.debit_account for t in transfers}
    if len(debits) != 1:
        raise LedgerIdInvalid("opening balances come from one debit account")
    debit_code = next(iter(debits))
    if session.get_bind().dialect.name != "postgresql":
        opened = open_accounts(session, [(t.credit_account, credit_kind, credit_never_negative) for t in transfers])
        done = post_many(session, transfers)
        return BulkResult(done.posted, done.replayed, done.amount, opened)
    debit = _opening_debit(session, debit_code, credit_kind)
    if not all(CODE_RE.match(t.credit_account) for t in transfers):
        raise LedgerAccountInvalid("code: 1-100 of A-Z a-z 0-9 _ . : -; kind: lower case")
    said = "".join(f"{t.code}{t.reference or ''}" for t in transfers)
    if "\t" in said or "\n" in said or "\r" in said:
        raise LedgerIdInvalid("a transfer's code or reference holds a tab or a line break")
    session.execute(text(_PG_OPEN_STAGE))
    session.execute(text("TRUNCATE ledger_bulk_open"))
    with no_gc():  # text lines: ids, codes and references are of A-Z a-z 0-9 _ . : - (checked above)
        copy_text(session, "ledger_bulk_open", ("id", "code", "amount", "tcode", "reference"),
                  (f"{t.id}\t{t.credit_account}\t{t.amount}\t{t.code}\t{t.reference or ''}\n" for t in transfers),
                  empty_is_null=True, overlap=True)
    return _open_staged(session, debit, debit_code, credit_kind, credit_never_negative)


def post_opening_selected(session: Session, debit_code: str, query: Select[*tuple[Any, ...]], credit_kind: str,
                          credit_never_negative: bool) -> BulkResult:
    """``post_opening`` for transfers a caller selects from its own tables: ``query`` returns (transfer id,
    credit account code, amount, transfer code, reference) rows, all from the account ``debit_code``. On
    PostgreSQL the rows never leave the server — they are staged by ``INSERT … SELECT`` and checked in one SQL
    pass (lengths of ids and codes, amounts above zero, debit ≠ credit, no tab or line break; a duplicate id is
    refused by the journal's unique index) — so a migration of millions of rows spends no Python and no COPY on
    them. The caller guarantees that ids and codes are of A-Z a-z 0-9 _ . : - by building them from checked
    parts (a literal prefix, a column its own parser checked); SQLite checks that too, the rows being read and
    going through ``post_opening``."""
    if session.get_bind().dialect.name != "postgresql":
        rows = session.execute(query).all()
        return post_opening(session, [BulkTransfer(str(i), debit_code, str(c), int(a), str(tc), r)
                                      for i, c, a, tc, r in rows], credit_kind, credit_never_negative)
    debit = _opening_debit(session, debit_code, credit_kind)
    session.execute(text(_PG_OPEN_STAGE))
    session.execute(text("TRUNCATE ledger_bulk_open"))
    session.execute(insert(_BULK_OPEN).from_select([c.name for c in _BULK_OPEN.columns], query))
    bad = session.execute(text(_PG_OPEN_INVALID), {"debit_code": debit_code}).scalar_one_or_none()
    if bad is not None:
        raise LedgerIdInvalid(f"opening transfer {str(bad)[:64]!r}: a bad id, code, amount or reference")
    return _open_staged(session, debit, debit_code, credit_kind, credit_never_negative)


_BULK_OPEN = table("ledger_bulk_open", column("id"), column("code"), column("amount"), column("tcode"),
                   column("reference"))


def _opening_debit(session: Session, debit_code: str, credit_kind: str) -> AccountRow:
    locked = _lock(session, {debit_code})
    if not locked:
        raise LedgerAccountNotFound(debit_code, code=debit_code)
    if not CODE_RE.match(debit_code) or not KIND_RE.match(credit_kind):
        raise LedgerAccountInvalid("code: 1-100 of A-Z a-z 0-9 _ . : -; kind: lower case")
    return next(iter(locked.values()))


def _open_staged(session: Session, debit: AccountRow, debit_code: str, credit_kind: str,
                 credit_never_negative: bool) -> BulkResult:
    """The staged rows of ``ledger_bulk_open`` posted (see ``post_opening``), inside a savepoint."""
    session.execute(text("ANALYZE ledger_bulk_open"))
    session.execute(text(_PG_OPEN_MEMORY))
    savepoint = session.begin_nested()
    try:
        left = [BulkTransfer(i, debit_code, code, int(a), tc, ref)
                for i, code, a, tc, ref in session.execute(text(_PG_OPEN_EXISTING)).all()]
        try:
            with session.begin_nested():
                opened, posted, amount = session.execute(text(_PG_OPEN), {
                    "kind": credit_kind, "dnec": credit_never_negative, "now": clock.now(),
                    "debit": debit.id}).one()
        except IntegrityError as exc:
            if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == "uq_ledger_transfers_id":
                raise LedgerIdExistsDifferent("an opening transfer id exists already (or twice in the batch)",
                                              id="opening") from None
            raise
        posted, amount = int(posted), int(amount)
        session.execute(text("TRUNCATE ledger_bulk_open"))
        rest = BulkResult(0, 0, 0)
        if left:  # transfers into accounts that existed: moves (and checks) its share of the debit account itself
            rest = post_many(session, left)
            debit = next(iter(_lock(session, {debit_code}).values()))
        _check_limits(debit, amount, 0)
        if amount:
            _add_totals(session, {debit.id: [amount, 0]})
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return BulkResult(posted + rest.posted, rest.replayed, amount + rest.amount, int(opened))
