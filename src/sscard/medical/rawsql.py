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


class _Compiled:
    __slots__ = ("defaults", "fixed", "processors", "sql", "stmt")

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
    entry = _compiled(conn, stmt, frozenset(params))
    values = {**entry.fixed, **params}
    for key, make in entry.defaults:
        if key not in values:
            values[key] = make()
    for name, process in entry.processors.items():
        if name in values:
            values[name] = process(values[name])
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(entry.sql, values)
        return cursor.fetchall() if cursor.description is not None else []
