"""A database that does not answer is a 503 DATABASE_UNAVAILABLE with Retry-After, never a 500, on both kinds of
request (the fast 2207 route and an ordinary one); /healthz stays up (liveness), /readyz says not ready."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.db import Database
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
