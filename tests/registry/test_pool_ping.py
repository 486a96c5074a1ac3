"""The connection pool pings a connection only after it sat idle (``sscard.db._ping_when_idle``): a connection the
server dropped meanwhile is replaced before a use case runs on it, as ``pool_pre_ping`` would do."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sscard import db as dbmodule
from support.city import Backend


def _backend_pid(database: dbmodule.Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _postgres(backend: Backend) -> dbmodule.Database:
    if backend.name != "postgres":
        pytest.skip("the pool's ping is PostgreSQL's (SQLite has no server to drop a connection)")
    return backend.new_database()


def test_a_connection_dropped_while_idle_is_replaced(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    database = _postgres(backend)
    first = _backend_pid(database)  # one pooled connection, idle now
    assert backend.admin is not None
    with backend.admin.connect() as other:  # not the pool's: it would hand out that very connection
        assert other.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": first}).scalar_one()
    monkeypatch.setattr(dbmodule, "PING_AFTER_IDLE_SECONDS", 0.0)
    with database.unit_of_work() as session:  # would fail on the dead connection without the ping
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
    assert _backend_pid(database) != first


def test_a_connection_in_use_a_moment_ago_is_not_pinged(backend: Backend) -> None:
    database = _postgres(backend)
    pings: list[object] = []
    original = database.engine.dialect.do_ping
    database.engine.dialect.do_ping = lambda conn: pings.append(conn) or original(conn)  # type: ignore[method-assign]
    try:
        first = _backend_pid(database)
        for _ in range(5):
            assert _backend_pid(database) == first  # the same pooled connection, reused at once
        assert pings == []
    finally:
        del database.engine.dialect.do_ping
