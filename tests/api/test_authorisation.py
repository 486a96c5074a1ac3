"""Every state-changing route refuses callers without a token and roles without the permission — and changes
nothing when it refuses. Operators lock after too many wrong passwords. Through HTTP, on both databases."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from sscard.access import GRANTS, Permission, Role
from sscard.cards import service as cards
from sscard.cards.states import ExchangeReason, ProductionStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

Login = Callable[[str], dict[str, str]]
NewId = Callable[..., str]
USERS = {Role.COUNTER: "t-counter", Role.SUPERVISOR: "t-super", Role.ADMIN: "t-admin"}
EMPLOYER_USCC = "91441802MA4UAB1231"  # a well-formed 统一社会信用代码 (check character computed by stdnum)
PIN, OTHER_PIN, WRONG_PIN = "408213", "730519", "000000"
STATE_CHANGING = {"post", "put", "patch", "delete"}


# ----------------------------------------------------------------------------------------- targets


@dataclass
class Target:
    """A concrete request, aimed at a person/card in a state where it would succeed if it were authorised."""

    path: str
    body: dict[str, Any]
    id_number: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _person(city: City, new_id: NewId) -> str:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="授权", region_code="441802"))
    return number


STAGES = ("collected", "at_outlet", "sealed", "normal")


def _card(city: City, new_id: NewId, stage: str = "normal") -> tuple[str, str]:
    """A person with one card, brought through the services to ``stage``."""
    number = _person(city, new_id)
    card_no = cards.apply_new(city.db, city.counter, number).card.card_no
    if STAGES.index(stage) >= STAGES.index("at_outlet"):
        for step in ("10", "20", "30", "60"):
            cards.advance_production(city.db, city.admin, card_no, ProductionStatus(step),
                                     outlet_code="T01" if step == "60" else None)
    if STAGES.index(stage) >= STAGES.index("sealed"):
        cards.pick_up(city.db, city.counter, card_no)
    if stage == "normal":
        cards.activate(city.db, city.counter, card_no, PIN)
    return number, card_no


def _card_target(suffix: str, body: dict[str, Any] | None = None,
                 prepare: Callable[[City, str], object] | None = None,
                 stage: str = "normal") -> Callable[[City, NewId], Target]:
    def build(city: City, new_id: NewId) -> Target:
        number, card_no = _card(city, new_id, stage)
        if prepare is not None:
            prepare(city, card_no)
        return Target(f"/api/v1/cards/{card_no}/{suffix}", body or {}, number)
    return build


def _lock(city: City, card_no: str) -> None:
    for _ in range(6):  # card.pin_max_tries as seeded
        cards.verify_pin(city.db, city.counter, card_no, WRONG_PIN)


def _new_person_target(city: City, new_id: NewId) -> Target:
    number = new_id()
    return Target("/api/v1/persons", {"id_number": number, "name": "新人", "region_code": "441802"}, number)


def _patch_person_target(city: City, new_id: NewId) -> Target:
    number = _person(city, new_id)
    person_id = registry.get(city.db, city.admin, number).id  # paths carry the internal id, never the ID number
    return Target(f"/api/v1/persons/{person_id}", {"phone": "13800138000", "living_status": "2"}, number)


def _lookup_person_target(city: City, new_id: NewId) -> Target:
    number = _person(city, new_id)
    return Target("/api/v1/persons/lookup", {"id_number": number}, number)


def _apply_target(city: City, new_id: NewId) -> Target:
    number = _person(city, new_id)
    return Target("/api/v1/applications", {"id_number": number}, number)


def _bulk_target(city: City, new_id: NewId) -> Target:
    number = _person(city, new_id)
    return Target("/api/v1/applications/bulk", {"employer_uscc": EMPLOYER_USCC, "id_numbers": [number]}, number)


def _outlet_target(city: City, new_id: NewId) -> Target:
    code = f"X{uuid.uuid4().hex[:8]}"
    return Target("/api/v1/outlets", {"code": code, "name": "新网点", "region_code": "441802"})


def _operator_target(city: City, new_id: NewId) -> Target:
    return Target("/api/v1/operators", {"username": f"op-{uuid.uuid4().hex[:10]}", "display_name": "新柜员",
                                        "role": "counter", "password": "long-password-1", "outlet_code": "T01"})


def _policy_target(city: City, new_id: NewId) -> Target:
    # Far in the future and equal to the current value: harmless even when the control request is accepted.
    return Target("/api/v1/policy", {"name": "card.pin_max_tries", "value": 6, "effective_from": "2999-01-01",
                                     "note": "authorisation test"})


def _fee_target(city: City, new_id: NewId) -> Target:
    return Target("/api/v1/fees", {"business": "exchange", "reason": "quality", "amount_fen": 0,
                                   "effective_from": "2999-01-01", "basis": "authorisation test"})


def _jobs_target(city: City, new_id: NewId) -> Target:
    number, card_no = _card(city, new_id)
    # Reported in the past (an instant no other test uses), so running the jobs "then" touches only this card.
    with time_machine.travel(dt.datetime(2013, 10, 11, 12, 13, 14, tzinfo=dt.UTC), tick=False):
        reported = cards.report_temporary_loss(city.db, city.counter, card_no)
    assert reported.temp_loss_expires_at is not None
    return Target("/api/v1/jobs/run", {"now": reported.temp_loss_expires_at.isoformat()}, number)


P = Permission
CARD = "/api/v1/cards/{card_no}"
# Every state-changing route, the permission it needs, and how to aim a request at it. Written by hand: a new
# route makes test_every_state_changing_route_is_covered fail until it is added here.
ROUTES: dict[tuple[str, str], tuple[Permission, Callable[[City, NewId], Target]]] = {
    ("post", "/api/v1/persons"): (P.PERSON_WRITE, _new_person_target),
    ("patch", "/api/v1/persons/{person_id}"): (P.PERSON_WRITE, _patch_person_target),
    ("post", "/api/v1/persons/lookup"): (P.PERSON_READ, _lookup_person_target),
    ("post", "/api/v1/applications"): (P.CARD_APPLY, _apply_target),
    ("post", "/api/v1/applications/bulk"): (P.CARD_APPLY_BULK, _bulk_target),
    ("post", f"{CARD}/replacement"): (P.CARD_APPLY, _card_target(
        "replacement", prepare=lambda c, no: cards.report_formal_loss(c.db, c.counter, no))),
    ("post", f"{CARD}/exchange"): (P.CARD_APPLY, _card_target("exchange", {"reason": ExchangeReason.DAMAGED})),
    ("post", f"{CARD}/production"): (P.CARD_PRODUCTION, _card_target("production", {"to_status": "10"},
                                                                     stage="collected")),
    ("post", f"{CARD}/pickup"): (P.CARD_PICKUP, _card_target("pickup", stage="at_outlet")),
    ("post", f"{CARD}/activate"): (P.CARD_ACTIVATE, _card_target("activate", {"pin": PIN}, stage="sealed")),
    ("post", f"{CARD}/verify-pin"): (P.CARD_PIN, _card_target("verify-pin", {"pin": WRONG_PIN})),
    ("post", f"{CARD}/change-pin"): (P.CARD_PIN, _card_target("change-pin", {"old_pin": PIN,
                                                                            "new_pin": OTHER_PIN})),
    ("post", f"{CARD}/unlock"): (P.CARD_UNLOCK, _card_target("unlock", prepare=_lock)),
    ("post", f"{CARD}/temporary-loss"): (P.CARD_TEMP_LOSS, _card_target("temporary-loss")),
    ("post", f"{CARD}/formal-loss"): (P.CARD_FORMAL_LOSS, _card_target("formal-loss")),
    ("post", f"{CARD}/lift-loss"): (P.CARD_LIFT_LOSS, _card_target(
        "lift-loss", prepare=lambda c, no: cards.report_temporary_loss(c.db, c.counter, no))),
    ("post", f"{CARD}/cancel"): (P.CARD_CANCEL, _card_target("cancel", {"reason": "death"})),
    ("post", "/api/v1/outlets"): (P.OPERATOR_ADMIN, _outlet_target),
    ("post", "/api/v1/operators"): (P.OPERATOR_ADMIN, _operator_target),
    ("post", "/api/v1/policy"): (P.POLICY_ADMIN, _policy_target),
    ("post", "/api/v1/fees"): (P.POLICY_ADMIN, _fee_target),
    ("post", "/api/v1/jobs/run"): (P.JOBS_RUN, _jobs_target),
}

# Independently of GRANTS: what a counter clerk (and a supervisor) must never do alone.
COUNTER_MUST_BE_REFUSED = [
    ("post", f"{CARD}/production"), ("post", f"{CARD}/unlock"), ("post", f"{CARD}/cancel"),
    ("post", "/api/v1/applications/bulk"), ("post", "/api/v1/operators"), ("post", "/api/v1/outlets"),
    ("post", "/api/v1/policy"), ("post", "/api/v1/fees"), ("post", "/api/v1/jobs/run"),
]
SUPERVISOR_MUST_BE_REFUSED = [
    ("post", f"{CARD}/production"), ("post", "/api/v1/operators"), ("post", "/api/v1/outlets"),
    ("post", "/api/v1/policy"), ("post", "/api/v1/fees"), ("post", "/api/v1/jobs/run"),
]

REFUSED = sorted({(role, route) for route, (permission, _) in ROUTES.items() for role in USERS
                  if permission not in GRANTS[role]}
                 | {(Role.COUNTER, r) for r in COUNTER_MUST_BE_REFUSED}
                 | {(Role.SUPERVISOR, r) for r in SUPERVISOR_MUST_BE_REFUSED})
ROUTE_IDS = [f"{m.upper()} {p}" for m, p in ROUTES]


def _permitted_role(permission: Permission) -> Role:
    return next(role for role in (Role.COUNTER, Role.SUPERVISOR, Role.ADMIN) if permission in GRANTS[role])


# ------------------------------------------------------------------------------------------ observation


_TABLES: dict[str, list[str]] = {}
_TOKENS: dict[tuple[str, str], dict[str, str]] = {}


@pytest.fixture
def headers_for(city: City, login: Login) -> Login:
    """Logged-in headers per role, logging in once per database (argon2 is deliberately slow)."""
    def _headers(username: str) -> dict[str, str]:
        key = (city.db.url, username)
        if key not in _TOKENS:
            _TOKENS[key] = login(username)
        return _TOKENS[key]
    return _headers


def fingerprint(city: City, target: Target) -> dict[str, Any]:
    """Row counts of every table, plus the full rows of the target person and their cards and applications."""
    engine = city.db.engine
    with engine.connect() as conn:
        if city.db.url not in _TABLES:
            _TABLES[city.db.url] = sorted(t for t in sa.inspect(conn).get_table_names() if t != "alembic_version")
        tables = _TABLES[city.db.url]
        counts = {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}
        rows: dict[str, Any] = {}
        if target.id_number:
            person = conn.execute(sa.text("SELECT * FROM persons WHERE id_number = :n"),
                                  {"n": target.id_number}).mappings().first()
            rows["person"] = dict(person) if person else None
            if person:
                for table in ("cards", "applications"):
                    rows[table] = [dict(r) for r in conn.execute(
                        sa.text(f"SELECT * FROM {table} WHERE person_id = :p ORDER BY id"),
                        {"p": person["id"]}).mappings()]
    return {"counts": counts, "rows": rows}


def _send(client: TestClient, method: str, target: Target, headers: dict[str, str]) -> Any:
    return client.request(method.upper(), target.path, json=target.body, headers=headers)


# ------------------------------------------------------------------------------------------------ tests


# The foundation's routers are covered route by route here; later domains (production, medical, …) keep their
# own role tables in their test folders, and every route of every domain meets the credential sweep below.
LATER_DOMAINS = ("/api/v1/auth/", "/api/v1/production", "/api/v1/stats", "/api/v1/medical", "/api/v1/funds",
                 "/api/v1/fhir", "/api/v1/health", "/api/v1/ecard", "/api/v1/employment",
                 "/api/v1/treasury", "/api/v1/remote", "/api/v1/exchange")


def _state_changing_routes(client: TestClient) -> set[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return {(method, path) for path, ops in spec["paths"].items() for method in ops if method in STATE_CHANGING}


def test_every_state_changing_route_is_covered(client: TestClient) -> None:
    found = {(m, p) for m, p in _state_changing_routes(client) if not p.startswith(LATER_DOMAINS)}
    assert found == set(ROUTES), f"not covered: {found - set(ROUTES)}; gone: {set(ROUTES) - found}"


def test_no_state_changing_route_of_any_domain_works_without_credentials(client: TestClient) -> None:
    """Operators use bearer tokens, institutions X-Institution-Key: neither missing nor forged gets through."""
    routes = sorted(r for r in _state_changing_routes(client) if not r[1].startswith("/api/v1/auth/"))
    assert len(routes) > len(ROUTES)
    forged = {"Authorization": "Bearer forged-token", "X-Institution-Key": "forged-key"}
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for headers in ({}, forged):
            response = client.request(method.upper(), concrete, json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.status_code, response.text[:200])


def test_the_critical_refusals_agree_with_the_role_grants() -> None:
    for route in COUNTER_MUST_BE_REFUSED:
        assert ROUTES[route][0] not in GRANTS[Role.COUNTER], route
    for route in SUPERVISOR_MUST_BE_REFUSED:
        assert ROUTES[route][0] not in GRANTS[Role.SUPERVISOR], route


@pytest.mark.parametrize("route", list(ROUTES), ids=ROUTE_IDS)
@pytest.mark.parametrize("auth", ["none", "forged"])
def test_a_request_without_a_valid_token_is_refused_and_changes_nothing(
        city: City, client: TestClient, new_id: NewId, route: tuple[str, str], auth: str) -> None:
    target = ROUTES[route][1](city, new_id)
    headers = {} if auth == "none" else {"Authorization": "Bearer forged-token"}
    before = fingerprint(city, target)
    response = _send(client, route[0], target, headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "AUTH_FAILED"
    assert fingerprint(city, target) == before


@pytest.mark.parametrize(("role", "route"), REFUSED, ids=[f"{r.value}-{m.upper()} {p}" for r, (m, p) in REFUSED])
def test_a_role_without_the_permission_is_refused_and_changes_nothing(
        city: City, client: TestClient, headers_for: Login, new_id: NewId, role: Role,
        route: tuple[str, str]) -> None:
    target = ROUTES[route][1](city, new_id)
    headers = headers_for(USERS[role])
    before = fingerprint(city, target)
    response = _send(client, route[0], target, headers)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert fingerprint(city, target) == before


@pytest.mark.parametrize("route", list(ROUTES), ids=ROUTE_IDS)
def test_the_same_request_by_a_permitted_role_is_accepted(city: City, client: TestClient, headers_for: Login,
                                                          new_id: NewId, route: tuple[str, str]) -> None:
    """The control: the targets are real, so a refusal above is about the role and nothing else."""
    permission, build = ROUTES[route]
    target = build(city, new_id)
    headers = headers_for(USERS[_permitted_role(permission)])
    before = fingerprint(city, target)
    response = _send(client, route[0], target, headers)
    assert 200 <= response.status_code < 300, response.text
    assert fingerprint(city, target) != before
