"""A database that does not answer is a 503 DATABASE_UNAVAILABLE with Retry-After, never a 500, on both kinds of
request (the fast 2207 route and an ordinary one); /healthz stays up (liveness), /readyz says not ready."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.db import Database, database_unavailable
from sscard.dr.local import free_port


def test_no_database_server_is_answered_503_with_retry_after() -> None:
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=1")
    client = TestClient(create_app(db), raise_server_exceptions=False)
    try:
        for method, path, body in (("POST", "/api/v1/medical/settlements", {"msg_id": "M1"}),
                                   ("POST", "/api/v1/auth/token", {"username": "x", "password": "y" * 12}),
                                   ("GET", "/readyz", None)):
            response = client.request(method, path, json=body, headers={"X-Institution-Key": "k" * 40})
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"] == "5"
            assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert client.get("/healthz").text == "ok"
    finally:
        db.dispose()


def test_only_a_lost_or_read_only_server_counts_as_unavailable(tmp_path: Path) -> None:
    """A failing statement (SQLite's OperationalError "no such column") stays a server fault (500), a broken
    pool wait (sqlalchemy's TimeoutError) and a refused connection are unavailability."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(sa.exc.OperationalError) as failed, db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT no_such_column FROM sqlite_master")
        assert not database_unavailable(failed.value)
    finally:
        db.dispose()
    assert database_unavailable(sa.exc.TimeoutError("QueuePool limit reached"))
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x?connect_timeout=1")
    with pytest.raises(sa.exc.OperationalError) as refused:
        engine.connect()
    engine.dispose()
    assert database_unavailable(refused.value)
