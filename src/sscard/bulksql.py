"""Raw SQL in the session's transaction — the one home for SQL that bypasses SQLAlchemy's execution pipeline.

Bulk, for jobs that move a million rows: COPY on PostgreSQL, the driver's ``executemany`` on SQLite, plain
tuples straight from the driver, and a pause of the cyclic garbage collector while millions of small objects
are built; set-based UPDATE / INSERT of mapped rows (``update_rows`` / ``insert_rows``). Shared by the ledger,
banks, funds, production and benchmarks.

Prebuilt, for the settlement path: Core statements compiled once and run on the driver connection
(``execute``, ``write_all``), see "Prebuilt statements" below. They read SQLAlchemy's compiled form through
private attributes, all of them in ``compiled_parts``; pyproject.toml pins the SQLAlchemy range this was
tested on, and tests/medical/test_bulksql_internals.py fails if those internals change.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Column, Executable, Table, Text, bindparam, column, func, insert, select, update, values
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, TableValuedAlias


@contextmanager
def no_gc() -> Iterator[None]:
    """A million small tuples or strings hold no cycles; the collector's repeated scans of them would dominate."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def driver_connection(session: Session) -> Any:
    """The DBAPI connection under the session's current transaction (psycopg 3 or sqlite3)."""
    return session.connection().connection.driver_connection


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` in the session's transaction."""
    with driver_connection(session).cursor() as cur, \
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def executemany(session: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """The driver's ``executemany`` in the session's transaction (SQLite: one prepared statement, no round
    trips; psycopg: pipelined). ``sql`` uses ``?`` placeholders; they become ``%s`` on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cur = driver_connection(session).cursor()
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


def fetch_all(session: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the driver (a million rows without ORM or Row objects). ``sql`` uses ``?``
    placeholders; they become ``%s`` on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cur = driver_connection(session).cursor()
    try:
        cur.execute(sql, tuple(params))
        return list(cur.fetchall())
    finally:
        cur.close()


_CHUNK = 20_000


def copy_text(session: Session, table: str, columns: Sequence[str], lines: Iterable[str],
              empty_is_null: bool = False, overlap: bool = False) -> None:
    """Append rows given as COPY text lines (fields joined by tabs, ending in a newline; no NULLs) to ``table``.

    PostgreSQL takes them as they are — the caller formats a row in one f-string, about four times cheaper
    than a tuple per row through ``write_row``; a backslash in a chunk is escaped first (COPY would read it as
    an escape), and a stray tab or line break inside a field makes COPY fail on the column count, never store
    a shifted row. SQLite gets the same rows split back into one prepared ``executemany``. ``empty_is_null``:
    an empty field is NULL (``COPY … WITH (NULL '')``; for rows whose text columns are never empty).

    ``overlap``: a thread of psycopg's (``QueuedLibpqWriter``) sends the chunks while this one formats the next
    (pass ``lines`` as a generator): the server stores rows while Python builds the following ones, two cores
    busy instead of one in turn (a migration's millions of rows)."""
    it = iter(lines)
    if session.get_bind().dialect.name != "postgresql":
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        while chunk := list(islice(it, _CHUNK)):
            rows: list[list[str | None]] = [line[:-1].split("\t") for line in chunk]  # type: ignore[misc]
            if empty_is_null:
                rows = [[v if v != "" else None for v in row] for row in rows]
            if any(len(row) != len(columns) for row in rows):
                raise ValueError(f"{table}: a field holds a tab or a line break")
            executemany(session, statement, rows)
        return
    cur = driver_connection(session).cursor()
    with cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN" + (" WITH (NULL '')" if empty_is_null else ""),
                       writer=QueuedLibpqWriter(cur) if overlap else None) as copy:
        while chunk := list(islice(it, _CHUNK)):
            text = "".join(chunk)
            copy.write(text.replace("\\", "\\\\") if "\\" in text else text)


def copy_blocks(session: Session, table: str, columns: Sequence[str], blocks: Iterable[str],
                overlap: bool = False) -> None:
    """PostgreSQL: ``copy_text`` for rows already joined into blocks of many COPY text lines each (a checked
    chunk of a file whose fields a caller turned into tab-separated ones with one ``str.replace``): each block is
    sent as it is, a backslash in it escaped first. ``overlap``: as for ``copy_text`` — with ``blocks`` a
    generator, the next block is made (e.g. parsed and checked) while psycopg's thread sends this one."""
    cur = driver_connection(session).cursor()
    with cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN",
                       writer=QueuedLibpqWriter(cur) if overlap else None) as copy:
        for block in blocks:
            copy.write(block.replace("\\", "\\\\") if "\\" in block else block)


# ------------------------------------------------------------------ set-based UPDATE / INSERT of mapped rows
# On PostgreSQL one statement carries all rows as one JSON document (``UPDATE … FROM json_to_recordset(…)``,
# ``INSERT … SELECT FROM json_to_recordset(…)``): a short statement, whatever the row count. On SQLite a page
# of rows goes in a ``WITH v(…) AS (VALUES …)`` UPDATE and in multi-row INSERTs.

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


_COLUMNS_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


def insert_columns(session: Session, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A few dozen new rows (sequences in the order of ``names``) in one statement whose text never changes: on
    PostgreSQL ``INSERT … SELECT (r->>0)::type, … FROM json_array_elements(:rows)``, the rows as one JSON text
    (the C encoder; one array per column cost a Python escape per string element in the driver), run on the
    driver connection and prepared by psycopg after its fifth use — ``insert_rows`` builds and compiles a
    statement per call, which cost more CPU than the database's work for a group of verification requests.
    On SQLite the rows go through SQLAlchemy as usual. Datetimes must be aware."""
    if not rows:
        return
    if not _postgres(session):
        session.connection().execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    key = (table.name, tuple(names))
    sql = _COLUMNS_SQL.get(key)
    if sql is None:
        dialect = session.get_bind().dialect
        fields = ", ".join(f"(r->>{n})::{table.c[name].type.compile(dialect=dialect)}" for n, name in enumerate(names))
        sql = _COLUMNS_SQL[key] = (f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {fields} "
                                   "FROM json_array_elements(%s::json) AS r")
    doc = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, (doc,))


# ------------------------------------------------------------------ prebuilt statements on the driver connection
# On PostgreSQL a statement is compiled by SQLAlchemy once (per statement and set of parameter names) and then
# run straight on the session's psycopg connection, in the session's transaction: SQLAlchemy's execution
# pipeline (execution context, result object, events) cost about as much CPU per statement as psycopg itself
# (cProfile, bench/settlement.py's workload), and the settlement runs about ten statements. psycopg prepares a
# statement server-side after its fifth use, as it does under SQLAlchemy. On SQLite the statement goes through
# SQLAlchemy as usual.
#
# What SQLAlchemy would still do here is done here: Python-side column defaults (``default=`` / ``onupdate=``)
# are filled in and bind processors (``UtcDateTime``) applied. Results come back as plain tuples without result
# processing, so only statements whose returned columns need none (integers, strings) may be run this way
# (checked when compiling). Statement counts seen by SQLAlchemy's ``before_cursor_execute`` hook do not include
# these statements.


class CompiledParts(NamedTuple):
    """What running a compiled statement without SQLAlchemy needs from it."""

    sql: str
    processors: dict[str, Callable[[Any], Any]]  # bind parameter name → SQLAlchemy's bind processor
    defaults: list[tuple[str, Callable[[], Any]]]  # column key → Python-side default / onupdate to fill in
    fixed: dict[str, Any]  # values bound in the statement itself (literal(), comparisons with constants)
    returns_rows: bool


def compiled_parts(compiled: SQLCompiler, names: frozenset[str]) -> CompiledParts:
    """The parts of ``compiled`` (for parameters ``names``); the one place that reads SQLAlchemy's private
    attributes of a compiled statement (``_bind_processors``, ``_result_columns``, a type's
    ``_cached_result_processor``, ``construct_params(_check=False)``) and how it wraps a callable default.
    Refuses statements it cannot run faithfully (TypeError)."""
    processors: dict[str, Callable[[Any], Any]] = {
        name: proc for name, proc in compiled._bind_processors.items() if isinstance(name, str) and callable(proc)}
    prefetched = {c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
    fixed = {name: value for name, value in compiled.construct_params(_check=False).items()
             if name not in names and name not in prefetched}
    defaults = [(column.key, _default_maker(getattr(column, attr)))
                for columns, attr in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate"))
                for column in columns]
    for entry in compiled._result_columns:  # tuples come back unprocessed: only types that need nothing
        if entry[3]._cached_result_processor(compiled.dialect, None) is not None:
            raise TypeError(f"bulksql: column {entry[0]} needs result processing")
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise TypeError("bulksql: expanding or literal parameters are not supported")
    return CompiledParts(compiled.string, processors, defaults, fixed, bool(compiled._result_columns))


def _default_maker(default: Any) -> Callable[[], Any]:
    if default.is_scalar:
        value = default.arg
        return lambda: value
    function = default.arg  # SQLAlchemy wraps a callable default to take the execution context; ours ignore it
    return lambda: function(None)


_compiled_lock = threading.Lock()
_compiled_cache: dict[tuple[int, frozenset[str]], tuple[Executable, CompiledParts]] = {}


def _compiled(conn: Connection, stmt: Executable, names: frozenset[str]) -> CompiledParts:
    key = (id(stmt), names)
    found = _compiled_cache.get(key)
    if found is None or found[0] is not stmt:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=sorted(names))  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler)
        found = (stmt, compiled_parts(compiled, names))
        with _compiled_lock:
            _compiled_cache[key] = found
    return found[1]


def execute(session: Session, stmt: Executable, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
    """Run the prebuilt ``stmt`` with ``params`` in the session's transaction; the rows it returns (if any)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        result = conn.execute(stmt, dict(params))
        return [tuple(row) for row in result] if result.returns_rows else []
    sql, values, returns_rows = _bound(conn, stmt, params)
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall() if returns_rows else []


Write = tuple[Executable, Mapping[str, Any]]  # a statement without RETURNING and its parameters


def write_all(session: Session, writes: Sequence[Write], commit: bool = False, numbered: bool = False) -> None:
    """Run ``writes`` (INSERT/UPDATE/DELETE, no rows returned) in one statement on PostgreSQL: all but the last
    become writable CTEs of the last (``WITH w0 AS (…), w1 AS (…) <last>``), so they cost one round trip
    instead of one each; a CTE that modifies data runs to completion whether or not it is read. Their order of
    execution within the statement is not defined, so they must not depend on each other's effects and
    should lock no row that is contended (insert new rows, or update rows the transaction holds already).
    Parameter names must differ between the writes. On SQLite they run one by one.

    ``commit``: the transaction's last step. On PostgreSQL the statement and COMMIT are sent together in
    psycopg's pipeline mode (one round trip, not two), so a row lock the transaction holds is released without
    waiting for this thread to wake up between them; the session's own commit afterwards finds nothing to do.
    Pending ORM changes are flushed first, so they commit with the rest. On SQLite the session commits as
    usual when the unit of work ends.

    ``numbered``: the writes may reuse parameter names (the same statements for several use cases at once,
    ``audit.record_grouped``): on PostgreSQL write ``n``'s parameters are renamed ``<name>__<n>``."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or (len(writes) == 1 and not commit):
        for stmt, params in writes:
            execute(session, stmt, params)
        return
    if commit:
        session.flush()
    send_prepared(session, prepare_all(session, writes, numbered), commit)


class Prepared(NamedTuple):
    """``write_all``'s one statement and its values, made before it is sent (``prepare_all``)."""

    sql: str
    values: dict[str, Any]  # a value may still be replaced before ``send_prepared``, not its kind or type


def prepare_all(session: Session, writes: Sequence[Write], numbered: bool = False) -> Prepared:
    """PostgreSQL: the one statement ``write_all`` sends for ``writes``, with its values (see there)."""
    conn = session.connection()
    parts: list[str] = []
    merged: dict[str, Any] = {}
    for n, (stmt, params) in enumerate(writes):
        sql, values, returns_rows = _bound(conn, stmt, params)
        if numbered:
            sql = _numbered(sql, n)
            values = {f"{name}__{n}": value for name, value in values.items()}
        if returns_rows or merged.keys() & values.keys():
            raise ValueError(f"bulksql.write_all: write {n} returns rows or reuses a parameter name")
        merged.update(values)
        parts.append(sql)
    sql = parts[-1] if len(parts) == 1 else \
        "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts[:-1])) + " " + parts[-1]
    return Prepared(sql, merged)


def send_prepared(session: Session, prepared: Prepared, commit: bool = False) -> None:
    """Send a ``prepare_all`` statement in the session's transaction, with COMMIT in the same round trip if
    ``commit`` (as ``write_all``)."""
    raw = driver_connection(session)
    if not commit:
        with raw.cursor() as cursor:
            cursor.execute(prepared.sql, prepared.values)
        return
    with raw.pipeline(), raw.cursor() as cursor:
        cursor.execute(prepared.sql, prepared.values)
        raw.commit()


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")  # psycopg's named placeholder in SQLAlchemy's compiled SQL


@lru_cache(maxsize=1024)
def _numbered(sql: str, n: int) -> str:
    return _PLACEHOLDER.sub(rf"%(\1__{n})s", sql)


def _bound(conn: Connection, stmt: Executable, params: Mapping[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """The statement's SQL for psycopg, the values to bind (defaults filled in, bind processors applied), and
    whether it returns rows."""
    entry = _compiled(conn, stmt, frozenset(params))
    values = {**entry.fixed, **params}
    for key, make in entry.defaults:
        if key not in values:
            values[key] = make()
    for name, process in entry.processors.items():
        if name in values:
            values[name] = process(values[name])
    return entry.sql, values, entry.returns_rows
