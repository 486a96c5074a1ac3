"""PostgreSQL statements of ``sscard.ledger.posting.transfers_hot`` that keep busy accounts locked for as short a
time as possible.

Accounts without a limit flag (a fund pool, an institution's payable: every settlement touches them) need no
balance check under a lock — only the overflow guard, which the writing statement itself applies. So
``lock_limited`` locks (``FOR UPDATE``, in id order) only the accounts that carry a limit and reads the others
without a lock; ``APPLY`` then inserts the transfers, locks every changed account in id order and adds the
deltas, in ONE statement run last before COMMIT. A busy row is locked for that statement and the COMMIT only,
instead of from a ``SELECT … FOR UPDATE`` through an INSERT and an UPDATE round trip each.

Why this is still exact: the deltas are added by the UPDATE itself (``x = x + d``), which PostgreSQL applies
to the newest committed row version under the row lock, so no update is lost; a limited account keeps the
``version`` guard of its earlier lock (a changed version means a writer that did not lock: the statement
skips the row and the caller raises ``StaleDataError``); the lock order stays by id (``lk`` is consumed whole,
as an InitPlan of ``upd``, before the first row is updated), so two transactions cannot wait on each other in
a cycle. If any transfer id already exists (a replay or a conflict), no balance is touched at all.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import TextClause, text
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.orm import Session

from sscard.bulksql import driver_connection
from sscard.ledger.rules import ACCOUNT_COLUMNS, AccountRow, account_row

_COLUMNS = ", ".join(ACCOUNT_COLUMNS)
_LIMITED = "(debits_must_not_exceed_credits OR credits_must_not_exceed_debits)"
_CODES = "code = ANY(%(codes)s)"

# Read as plain tuples on the driver connection, not as ORM objects: loading the objects was an eighth of the
# server's CPU per settlement (py-spy, bench/settlement.py).
LOCK_LIMITED_SQL = f"""
WITH locked AS (SELECT {_COLUMNS} FROM ledger_accounts WHERE {_CODES} AND {_LIMITED} ORDER BY id FOR UPDATE)
SELECT {_COLUMNS} FROM locked
UNION ALL
SELECT {_COLUMNS} FROM ledger_accounts WHERE {_CODES} AND NOT {_LIMITED}
"""


def lock_limited(session: Session, codes: list[str]) -> dict[int, AccountRow]:
    """The accounts with these codes by id: those with a limit locked (in id order), the others only read."""
    with driver_connection(session).cursor() as cursor:
        cursor.execute(LOCK_LIMITED_SQL, {"codes": codes})
        return {row[0]: account_row(row) for row in cursor.fetchall()}


_APPLY: TextClause = text("""
WITH ins AS (
    INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, state, pending_id, code,
                                  reference, "timestamp")
    SELECT t.id, t.dr, t.cr, t.amount, t.state, t.pending_id, t.code, t.reference, CAST(:ts AS timestamptz)
    FROM json_to_recordset(CAST(:transfers AS json))
         AS t(n integer, id varchar, dr bigint, cr bigint, amount bigint, state varchar, pending_id varchar,
              code varchar, reference varchar)
    ORDER BY t.n
    ON CONFLICT DO NOTHING
    RETURNING id, seq),
d AS (
    SELECT * FROM json_to_recordset(CAST(:changes AS json))
                  AS d(id bigint, version integer, dp bigint, cp bigint, dpe bigint, cpe bigint)),
lk AS (
    SELECT id FROM ledger_accounts
    WHERE id IN (SELECT id FROM d) AND (SELECT count(*) FROM ins) = :t_n
    ORDER BY id FOR UPDATE),
upd AS (
    UPDATE ledger_accounts AS a
    SET debits_posted = a.debits_posted + d.dp, credits_posted = a.credits_posted + d.cp,
        debits_pending = a.debits_pending + d.dpe, credits_pending = a.credits_pending + d.cpe,
        version = a.version + 1
    FROM d
    WHERE a.id = d.id AND (SELECT count(*) FROM lk) = :a_n
      AND (d.version IS NULL OR a.version = d.version)
      AND greatest(CAST(a.debits_posted AS numeric) + d.dp + a.debits_pending + d.dpe,
                   CAST(a.credits_posted AS numeric) + d.cp + a.credits_pending + d.cpe) <= :total_max
    RETURNING a.id, a.version, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
SELECT 't' AS kind, ins.id AS transfer_id, ins.seq AS n, NULL AS version, NULL AS dp, NULL AS cp, NULL AS dpe,
       NULL AS cpe FROM ins
UNION ALL
SELECT 'a', NULL, upd.id, upd.version, upd.debits_posted, upd.credits_posted, upd.debits_pending,
       upd.credits_pending FROM upd
""")


# Run on the session's psycopg connection directly (in its transaction): SQLAlchemy's execution pipeline cost
# about as much CPU per statement as psycopg itself on the settlement path.
_APPLY_SQL = str(_APPLY.compile(dialect=psycopg.dialect()))  # type: ignore[no-untyped-call]


class Change(NamedTuple):
    """Deltas of one account's four totals; ``version`` is the locked version to check (None: not locked)."""

    account_id: int
    version: int | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


class Applied(NamedTuple):
    inserted: dict[str, int]  # transfer id -> seq, of the rows inserted now
    totals: dict[int, tuple[int, int, int, int, int]]  # account id -> (version, dp, cp, dpe, cpe) after


def apply(session: Session, rows: list[dict[str, Any]], changes: list[Change], total_max: int) -> Applied:
    """Insert ``rows`` (transfers) and add ``changes`` to their accounts, in one statement (see module)."""
    # Two JSON parameters, not one array per column: psycopg's array dumping (a type lookup per list) was a
    # twentieth of the server's CPU per settlement (py-spy, bench/settlement.py).
    params: dict[str, Any] = {
        "ts": rows[0]["timestamp"], "t_n": len(rows), "a_n": len(changes), "total_max": total_max,
        "transfers": json.dumps([{"n": n, "id": r["id"], "dr": r["debit_account_id"], "cr": r["credit_account_id"],
                                  "amount": r["amount"], "state": r["state"], "pending_id": r["pending_id"],
                                  "code": r["code"], "reference": r["reference"]} for n, r in enumerate(rows)]),
        "changes": json.dumps([{"id": c.account_id, "version": c.version, "dp": c.debits_posted,
                                "cp": c.credits_posted, "dpe": c.debits_pending, "cpe": c.credits_pending}
                               for c in changes]),
    }
    inserted: dict[str, int] = {}
    totals: dict[int, tuple[int, int, int, int, int]] = {}
    with driver_connection(session).cursor() as cursor:
        cursor.execute(_APPLY_SQL, params)
        result = cursor.fetchall()
    for kind, transfer_id, n, version, dp, cp, dpe, cpe in result:
        if kind == "t":
            inserted[transfer_id] = n
        else:
            totals[n] = (version, dp, cp, dpe, cpe)
    return Applied(inserted, totals)
