"""Raw bulk SQL in the session's transaction, for jobs that move a million rows: COPY on PostgreSQL, the
driver's ``executemany`` on SQLite, plain tuples straight from the driver, and a pause of the cyclic garbage
collector while millions of small objects are built. Shared by the ledger, banks, funds and benchmarks."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session


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


def copy_text(session: Session, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """Append rows given as COPY text lines (fields joined by tabs, ending in a newline; no NULLs) to ``table``.

    PostgreSQL takes them as they are — the caller formats a row in one f-string, about four times cheaper
    than a tuple per row through ``write_row``; a backslash in a chunk is escaped first (COPY would read it as
    an escape), and a stray tab or line break inside a field makes COPY fail on the column count, never store
    a shifted row. SQLite gets the same rows split back into one prepared ``executemany``."""
    it = iter(lines)
    if session.get_bind().dialect.name != "postgresql":
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        while chunk := list(islice(it, _CHUNK)):
            rows = [line[:-1].split("\t") for line in chunk]
            if any(len(row) != len(columns) for row in rows):
                raise ValueError(f"{table}: a field holds a tab or a line break")
            executemany(session, statement, rows)
        return
    with driver_connection(session).cursor() as cur, \
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := list(islice(it, _CHUNK)):
            text = "".join(chunk)
            copy.write(text.replace("\\", "\\\\") if "\\" in text else text)
