"""The treasury API's role table: every state-changing route of /api/v1/treasury, the permission it needs, and
every role without it refused 403 PERMISSION_DENIED with nothing written (a counter clerk everything; the fund
accountant approving; the supervisor proposing, importing, resolving; only an administrator registering
accounts). Through HTTP, on both databases. (The credential sweep of tests/api covers these routes too.)"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sscard.access import GRANTS, SYSTEM_ACTOR, Permission, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.auth.errors import OperatorNotFound
from support.api import bearer
from support.city import PASSWORD, City

P = Permission
T = "/api/v1/treasury"
CAMT = b"<Document/>\nSSMAC|0|bank:ICBC:v1|0\n"
# (method, OpenAPI path) → (permission, concrete path, JSON body or raw bytes)
ROUTES: dict[tuple[str, str], tuple[Permission, str, Any]] = {
    ("post", f"{T}/accounts"): (P.TREASURY_ADMIN, f"{T}/accounts", {
        "code": "AUTH-X-COL", "fund": "pension", "bank_code": "ICBC", "kind": "collection",
        "account_no": "99990001", "name": "x"}),
    ("post", f"{T}/collections"): (P.TREASURY_PROPOSE, f"{T}/collections",
                                   {"account": "AUTH-X-COL", "amount": 1, "reference": "R1"}),
    ("post", f"{T}/payments"): (P.TREASURY_PROPOSE, f"{T}/payments",
                                {"account": "AUTH-X-PAY", "amount": 1, "reference": "R1"}),
    ("post", f"{T}/instructions"): (P.TREASURY_PROPOSE, f"{T}/instructions", {
        "kind": "sweep", "from_code": "AUTH-X-COL", "to_code": "AUTH-X-SPC", "amount": 1, "request_key": "k"}),
    ("post", f"{T}/deposits"): (P.TREASURY_PROPOSE, f"{T}/deposits", {
        "request_key": "k", "special_code": "AUTH-X-SPC", "deposit_code": "AUTH-X-TD", "certificate_no": "TD0001",
        "tender_ref": "ZB-1", "principal": 1, "rate_bp": 100, "term_months": 3, "placed_on": "2026-01-01"}),
    ("post", f"{T}/deposits/{{code}}/maturity"): (P.TREASURY_PROPOSE, f"{T}/deposits/AUTH-X-TD/maturity",
                                                  {"request_key": "k"}),
    ("post", f"{T}/instructions/{{instruction_id}}/approve"): (P.TREASURY_APPROVE, f"{T}/instructions/1/approve",
                                                               None),
    ("post", f"{T}/instructions/{{instruction_id}}/reject"): (P.TREASURY_APPROVE, f"{T}/instructions/1/reject",
                                                              {"reason": "x"}),
    ("post", f"{T}/statements"): (P.TREASURY_PROPOSE, f"{T}/statements?bank=ICBC", CAMT),
    ("post", f"{T}/queue/{{line_id}}/match"): (P.TREASURY_PROPOSE, f"{T}/queue/1/match", {"transfer_id": "t"}),
    ("post", f"{T}/queue/{{line_id}}/explain"): (P.TREASURY_PROPOSE, f"{T}/queue/1/explain", {"note": "x"}),
    ("post", f"{T}/queue/{{line_id}}/book"): (P.TREASURY_PROPOSE, f"{T}/queue/1/book", {"as": "charge"}),
    ("post", f"{T}/accounts/{{code}}/rematch"): (P.TREASURY_PROPOSE, f"{T}/accounts/AUTH-X-COL/rematch", None),
}
USERS = {Role.COUNTER: "t-counter", Role.SUPERVISOR: "t-super", Role.ADMIN: "t-admin", Role.ACCOUNTANT: "t-acct-auth"}
REFUSED = [(role, route) for route, (permission, _, _) in ROUTES.items() for role in USERS
           if permission not in GRANTS[role]]


@pytest.fixture(scope="module")
def client(city: City) -> TestClient:
    try:
        auth.actor_for_username(city.db, "t-acct-auth")
    except OperatorNotFound:
        auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-auth", "基金会计", Role.ACCOUNTANT, PASSWORD)
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def headers(client: TestClient) -> dict[Role, dict[str, str]]:
    return {role: bearer(client, username) for role, username in USERS.items()}


def _counts(city: City) -> dict[str, int]:
    with city.db.engine.connect() as conn:
        tables = sorted(t for t in sa.inspect(conn).get_table_names() if t != "alembic_version")
        return {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}


def test_every_state_changing_treasury_route_is_in_the_table(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops
             if p.startswith(T) and m in ("post", "put", "patch", "delete")}
    assert found == set(ROUTES)


def test_the_maker_and_the_checker_hold_different_permissions() -> None:
    assert P.TREASURY_APPROVE not in GRANTS[Role.ACCOUNTANT] and P.TREASURY_PROPOSE in GRANTS[Role.ACCOUNTANT]
    assert P.TREASURY_PROPOSE not in GRANTS[Role.SUPERVISOR] and P.TREASURY_APPROVE in GRANTS[Role.SUPERVISOR]
    assert not any(p.value.startswith("treasury.") for p in GRANTS[Role.COUNTER])


@pytest.mark.parametrize(("role", "route"), REFUSED, ids=[f"{r.value}-{p}" for r, (_, p) in REFUSED])
def test_a_role_without_the_permission_is_refused_and_writes_nothing(
        city: City, client: TestClient, headers: dict[Role, dict[str, str]], role: Role,
        route: tuple[str, str]) -> None:
    _, path, body = ROUTES[route]
    before = _counts(city)
    if isinstance(body, bytes):
        response = client.post(path, content=body, headers={**headers[role], "Content-Type": "application/xml"})
    else:
        response = client.post(path, json=body, headers=headers[role])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "PERMISSION_DENIED"), response.text
    assert _counts(city) == before
