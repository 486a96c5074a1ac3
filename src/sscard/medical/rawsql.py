"""Run the settlement path's prebuilt Core statements with as little Python per statement as possible.

On PostgreSQL a statement is compiled by SQLAlchemy once (per statement and set of parameter names) and then
run straight on the session's psycopg connection, in the session's transaction: SQLAlchemy's execution
pipeline (execution context, result object, events) cost about as much CPU per statement as psycopg itself
(cProfile, bench/settlement.py's workload), and the settlement runs about ten statements. psycopg prepares a
statement server-side after its fifth use, as it does under SQLAlchemy. On SQLite the statement goes through
SQLAlchemy as usual.

What SQLAlchemy would still do here is done here: Python-side column defaults (``default=`` / ``onupdate=``)
are filled in and bind processors (``UtcDateTime``) applied. Results come back as plain tuples without result
processing, so only statements whose returned columns need none (integers, strings) may be run this way
(checked when compiling). Statement counts seen by SQLAlchemy's ``before_cursor_execute`` hook do not include
these statements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from sscard.bulksql import driver_connection


class _Compiled:
    __slots__ = ("defaults", "fixed", "processors", "returns_rows", "sql", "stmt")

    def __init__(self, stmt: Executable, compiled: SQLCompiler, names: frozenset[str]) -> None:
        self.stmt = stmt
        self.sql = compiled.string
        self.processors: dict[str, Callable[[Any], Any]] = {
            name: proc for name, proc in compiled._bind_processors.items() if isinstance(name, str) and callable(proc)}
        self.defaults: list[tuple[str, Callable[[], Any]]] = []
        prefetched = {c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        # Values bound in the statement itself (literal(), comparisons with constants), given at every execution.
        self.fixed: dict[str, Any] = {name: value for name, value in compiled.construct_params(_check=False).items()
                                      if name not in names and name not in prefetched}
        for columns, attr in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate")):
            for column in columns:
                self.defaults.append((column.key, _default_maker(getattr(column, attr))))
        self.returns_rows = bool(compiled._result_columns)
        for entry in compiled._result_columns:  # tuples come back unprocessed: only types that need nothing
            if entry[3]._cached_result_processor(compiled.dialect, None) is not None:
                raise TypeError(f"rawsql: column {entry[0]} needs result processing")
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise TypeError("rawsql: expanding or literal parameters are not supported")


def _default_maker(default: Any) -> Callable[[], Any]:
    if default.is_scalar:
        value = default.arg
        return lambda: value
    function = default.arg  # SQLAlchemy wraps a callable default to take the execution context; ours ignore it
    return lambda: function(None)


_lock = threading.Lock()
_cache: dict[tuple[int, frozenset[str]], _Compiled] = {}


def _compiled(conn: Connection, stmt: Executable, names: frozenset[str]) -> _Compiled:
    key = (id(stmt), names)
    found = _cache.get(key)
    if found is None or found.stmt is not stmt:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=sorted(names))  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler)
        found = _Compiled(stmt, compiled, names)
        with _lock:
            _cache[key] = found
    return found


def execute(session: Session, stmt: Executable, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
    """Run ``stmt`` with ``params`` in the session's transaction; the rows it returns (if any)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        result = conn.execute(stmt, dict(params))
        return [tuple(row) for row in result] if result.returns_rows else []
    sql, values, returns_rows = _bound(conn, stmt, params)
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall() if returns_rows else []


Write = tuple[Executable, Mapping[str, Any]]  # a statement without RETURNING and its parameters


def write_all(session: Session, writes: Sequence[Write]) -> None:
    """Run ``writes`` (INSERT/UPDATE/DELETE, no rows returned) in one statement on PostgreSQL: all but the last
    become writable CTEs of the last (``WITH w0 AS (…), w1 AS (…) <last>``), so they cost one round trip
    instead of one each; a CTE that modifies data runs to completion whether or not it is read. Their order of
    execution within the statement is not defined, so they must not depend on each other's effects and
    should lock no row that is contended (insert new rows, or update rows the transaction holds already).
    Parameter names must differ between the writes. On SQLite they run one by one."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or len(writes) == 1:
        for stmt, params in writes:
            execute(session, stmt, params)
        return
    parts: list[str] = []
    merged: dict[str, Any] = {}
    for n, (stmt, params) in enumerate(writes):
        sql, values, returns_rows = _bound(conn, stmt, params)
        if returns_rows or merged.keys() & values.keys():
            raise ValueError(f"rawsql.write_all: write {n} returns rows or reuses a parameter name")
        merged.update(values)
        parts.append(sql)
    sql = "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts[:-1])) + " " + parts[-1]
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, merged)


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
