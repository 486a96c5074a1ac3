"""Schemathesis over the whole OpenAPI schema: generated (also invalid) requests never get a 5xx.

Runs in-process (ASGI) on its own SQLite database as an administrator, so every operation reaches its service
code. (schemathesis.pytest.from_fixture does not work with pytest 9, so the app is built at import.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis
import schemathesis
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from support.city import PASSWORD, Backend, build_city

_backend = Backend("sqlite", Path(tempfile.mkdtemp(prefix="sscard-fuzz-")))
_city = build_city(_backend.new_database())
APP = create_app(_city.db)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
_token = TestClient(APP).post("/api/v1/auth/token", json={"username": "t-admin", "password": PASSWORD}).json()
ADMIN = {"Authorization": f"Bearer {_token['access_token']}"}


@schema.parametrize()
@hypothesis.settings(max_examples=6, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_no_operation_answers_5xx(case: schemathesis.Case) -> None:
    if case.path.endswith("/auth/logout"):
        return  # would revoke the token the other examples use; logout is covered by the auth tests
    response = case.call(headers={**(case.headers or {}), **ADMIN})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["error"]["code"], response.text[:300]
