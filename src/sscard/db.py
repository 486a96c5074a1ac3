"""Database plumbing: the declarative base, engines, and the unit of work (one use case = one transaction)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite keeps no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime()}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine; ``hide_parameters``: no SQL parameter (an ID number, a name) in an error message or log."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so BEGIN IMMEDIATE serialises writers (see begin below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A write transaction takes the lock up front: no "database is locked" upgrade failures midway.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # pool_timeout: a request waits at most this long for a pooled connection, then is answered 503 (api.errors).
    # 20 connections at most, all kept (no overflow): an overflow connection is closed as soon as it is returned
    # while 10 wait idle, and under a fluctuating load (the health index's grouped audit writes, whose callers
    # return their connection while their batch is written) that opened and closed hundreds of PostgreSQL
    # backends a minute, a fork and an authentication each (bench/health_index.py).
    engine = create_engine(url, echo=echo, pool_size=20, max_overflow=0, pool_timeout=10, hide_parameters=True)
    _ping_when_idle(engine)
    _server_gone_is_a_disconnect(engine)
    return engine


# SQLSTATEs that mean "this server cannot take our writes now" (docs/dr.md): a connection exception (class 08),
# a server shutting down or crashing or not yet accepting connections (57P01-57P03), and a node that became a
# standby under an open connection (25006 read_only_sql_transaction, after a switchover or a demotion).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "25006"})


def _sqlstate(exc: BaseException | None) -> str | None:
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database (not the request) failed: the primary is gone, being replaced, or no
    connection could be had in time. The transaction was rolled back (or never began): retrying is safe."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc.orig)
    if state is None:  # psycopg raises OperationalError without a SQLSTATE when it cannot connect or lost the server
        return isinstance(exc.orig, psycopg.OperationalError)
    return state.startswith("08") or state in UNAVAILABLE_SQLSTATES


def _server_gone_is_a_disconnect(engine: Engine) -> None:
    """A server that went away or became read-only invalidates the pool (every connection made before now is
    discarded on its next checkout), so the next request connects afresh and libpq finds the new primary
    (``target_session_attrs=read-write`` in the URL) instead of reusing a connection to the old one."""

    @event.listens_for(engine, "handle_error")
    def _classify(context: ExceptionContext) -> None:
        state = _sqlstate(context.original_exception)
        if state is not None and (state.startswith("08") or state in UNAVAILABLE_SQLSTATES):
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = True


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as ``pool_pre_ping`` does it, but only for a connection that has sat
    in the pool for more than ``PING_AFTER_IDLE_SECONDS``.

    Why not ``pool_pre_ping``: it pings on every checkout, one round trip more per use case — one of the
    fourteen a settlement made (bench/settlement.py). A connection handed back a moment ago was working then;
    one idle longer (where a database restart or a dropped connection shows) is pinged, and a failed ping makes
    the pool discard it and connect afresh (``DisconnectionError``, SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["sscard_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("sscard_returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


@lru_cache(maxsize=8)
class Database:
    """An engine plus a session factory; the one object interfaces pass to services."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One use case: commit on success, roll back everything on any exception."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def accepts_writes(self) -> bool:
        """Whether the server this engine reaches is a primary (PostgreSQL: not in recovery); raises what
        ``database_unavailable`` recognises when no server answers."""
        with self.engine.connect() as conn:
            if self.dialect != "postgresql":
                conn.exec_driver_sql("SELECT 1")
                return True
            return not conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
