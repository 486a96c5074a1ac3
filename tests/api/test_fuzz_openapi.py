"""Schemathesis over the whole OpenAPI schema: generated (also invalid) requests never get a 5xx, every answer's
status code is documented and its body matches the documented schema (success or ``ErrorOut``).

Runs in-process (ASGI) on its own SQLite database, so every operation reaches its service code: operator
routes as an administrator, institution routes with an institution's API key, and the auth routes (log-in,
log-out, who am I) with a throwaway operator whose token each log-out case takes fresh.
(schemathesis.pytest.from_fixture does not work with pytest 9, so the app is built at import.)
Examples per operation: SSCARD_FUZZ_EXAMPLES (default 4, a few minutes in CI).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import hypothesis
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from support.api import bearer
from support.city import PASSWORD, Backend, build_city

EXAMPLES = int(os.environ.get("SSCARD_FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
THROWAWAY = "fuzz-throwaway"

_backend = Backend("sqlite", Path(tempfile.mkdtemp(prefix="sscard-fuzz-")))
_city = build_city(_backend.new_database())
auth.create_operator(_city.db, SYSTEM_ACTOR, THROWAWAY, THROWAWAY, Role.COUNTER, PASSWORD, "T01")
APP = create_app(_city.db)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
_client = TestClient(APP)


def _token(username: str) -> dict[str, str]:
    return bearer(_client, username)


ADMIN = _token("t-admin")
_institution = _client.post("/api/v1/medical/admin/institutions", headers=ADMIN,
                            json={"code": "FUZZ01", "name": "fuzz hospital", "kind": "hospital", "level": "3",
                                  "services": ["outpatient"]})
INSTITUTION = {"X-Institution-Key": _institution.json()["api_key"]} if _institution.status_code == 201 else {}


def _credentials(case: schemathesis.Case) -> dict[str, str]:
    if case.path.startswith("/api/v1/auth/"):
        return _token(THROWAWAY)  # log-out revokes it: a fresh one per case
    return {**ADMIN, **INSTITUTION}


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(hypothesis.HealthCheck),
                     derandomize=True)
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    response = case.call(headers={**(case.headers or {}), **_credentials(case)})
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.json()
        if body.get("resourceType") == "OperationOutcome":  # the FHIR interface's errors
            assert body["issue"][0]["details"]["coding"][0]["code"], response.text[:300]
        else:
            assert body["error"]["code"], response.text[:300]
