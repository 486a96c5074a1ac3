"""Set-based writes for production batches (tens of thousands of cards per step): the production-status moves
of a step with their audit records, and UPDATE … FROM / multi-row INSERT helpers.

A batch step must not cost one statement per card: the audit chain is extended once per step
(``audit.record_many``), cards and batch records are updated and inserted set-based. On PostgreSQL one
statement carries all rows as one JSON document (``UPDATE … FROM json_to_recordset(…)``, ``INSERT … SELECT
FROM json_to_recordset(…)``): a short statement, whatever the row count. On SQLite (tests, the demo) a page
of rows goes in a ``WITH v(…) AS (VALUES …)`` UPDATE and in multi-row INSERTs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Column, Table, Text, bindparam, column, func, insert, literal, select, update, values
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, TableValuedAlias

from sscard import clock
from sscard.audit import service as audit
from sscard.auth.roles import Actor
from sscard.cards.errors import ProductionTransitionInvalid
from sscard.cards.models import Card
from sscard.cards.states import PRODUCTION_EDGES, ProductionStatus
from sscard.db import UtcDateTime

# SQLite: rows per statement, well under its 32,766 bind parameters for the widest page (6 columns).
PAGE = 2_000


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_value(value: object) -> str:
    if isinstance(value, dt.date):  # dates and datetimes: ISO 8601, which PostgreSQL parses exactly
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _recordset(table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]) -> TableValuedAlias:
    """json_to_recordset(:doc) AS v(a type, b type, …): the rows as one JSON parameter (values: JSON scalars).

    One text parameter encoded by the C JSON encoder; binding one array per column instead costs a regex
    escape per string element in the driver, several times slower at 100,000 rows."""
    doc = json.dumps([{n: r[n] for n in names} for r in rows], ensure_ascii=False, separators=(",", ":"),
                     default=_json_value)
    return func.json_to_recordset(sql_cast(bindparam("doc", doc, type_=Text), JSON)).table_valued(
        *[column(n, table.c[n].type) for n in names]).render_derived(name="v", with_types=True)


def _changed(session: Session, result_rowcount: int) -> int:
    """Rows the last UPDATE changed (SQLite's driver reports -1 for a statement that starts with WITH)."""
    if result_rowcount >= 0:
        return result_rowcount
    return int(session.connection().exec_driver_sql("SELECT changes()").scalar_one())


def update_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str = "id",
                check: str | None = None, keep_if_null: Collection[str] = (),
                also: Mapping[str, ColumnElement[Any]] | None = None) -> int:
    """UPDATE table SET <the rows' other columns> FROM <the rows as v> WHERE table.key = v.key [AND table.check
    = v.check]: one statement on PostgreSQL, one per page of rows on SQLite. Every row must carry the same
    columns; a column in ``keep_if_null`` keeps the row's current value where the given one is None. ``also``
    adds SET expressions computed in SQL (e.g. ``version + 1``). Returns the number of rows changed."""
    if not rows:
        return 0
    names = list(rows[0])
    if key not in names or (check is not None and check not in names):
        raise ValueError("every row needs the key (and check) column")
    cols: dict[str, Column[Any]] = {n: table.c[n] for n in names}
    postgres, changed = _postgres(session), 0
    size = len(rows) if postgres else PAGE
    for start in range(0, len(rows), size):
        page = rows[start:start + size]
        v: TableValuedAlias | CTE
        if postgres:
            v = _recordset(table, names, page)
        else:  # a CTE with a column list is SQLite's one form of VALUES with column names
            v = values(*[column(n, cols[n].type) for n in names], name="v").data(
                [tuple(r[n] for n in names) for r in page]).cte("v")
        where = [table.c[key] == v.c[key]]
        if check is not None:
            where.append(table.c[check] == v.c[check])
        # CAST: keeps SQLite's untyped VALUES columns in the target column's type.
        sets: dict[str, Any] = {n: sql_cast(v.c[n], cols[n].type) for n in names if n not in (key, check)}
        for n in keep_if_null:
            sets[n] = func.coalesce(sets[n], table.c[n])
        sets.update(also or {})
        result = session.connection().execute(update(table).where(*where).values(sets))
        changed += _changed(session, result.rowcount)
    return changed


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT … SELECT FROM unnest(…) on PostgreSQL; on SQLite multi-row INSERTs (SQLAlchemy's insertmanyvalues
    pages, which RETURNING switches on). Every row must carry the same columns."""
    if not rows:
        return
    if _postgres(session):
        names = list(rows[0])
        v = _recordset(table, names, rows)
        session.connection().execute(insert(table).from_select(names, select(*[v.c[n] for n in names])))
    else:
        pk = next(iter(table.primary_key.columns))
        session.connection().execute(insert(table).returning(pk), list(rows)).all()


class Moves:
    """Production-status transitions of one batch step under the cards state machine (its edges and errors),
    each audited per card like ``cards.service.advance_production`` — one audit record per card state change,
    written by ``audit.record_many`` in the order the cards were added — and applied by set-based UPDATEs that
    still check each card's version (optimistic locking: a card changed meanwhile fails the whole step).
    """

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.rows: list[dict[str, Any]] = []
        self.entries: list[audit.Entry] = []
        self.cards: list[Card] = []

    def add(self, card: Card, to: ProductionStatus, outlet_id: int | None = None, bank_code: str | None = None) -> None:
        current = ProductionStatus(card.production_status)
        if to not in PRODUCTION_EDGES[current]:
            raise ProductionTransitionInvalid(f"{card.card_no}: {current.name} → {to.name}", card_no=card.card_no)
        before = card.snapshot()
        after = {**before, "production_status": to.value,
                 "outlet_id": outlet_id if outlet_id is not None else before["outlet_id"]}
        self.entries.append(audit.Entry(f"production.{to.name.lower()}", "card", card.card_no, before, after))
        self.rows.append({"id": card.id, "version": card.version, "production_status": to.value,
                          "outlet_id": outlet_id, "bank_code": bank_code})
        self.cards.append(card)

    def apply(self) -> None:
        if not self.rows:
            return
        audit.record_many(self.session, self.actor, self.entries)
        table = cast(Table, Card.__table__)
        changed = update_rows(self.session, table, self.rows, check="version",
                              keep_if_null=("outlet_id", "bank_code"),
                              also={"version": table.c.version + 1, "updated_at": literal(clock.now(), UtcDateTime())})
        if changed != len(self.rows):
            raise StaleDataError(f"{len(self.rows) - changed} cards were changed concurrently")
        for card in self.cards:
            self.session.expire(card)
        self.rows, self.entries, self.cards = [], [], []
