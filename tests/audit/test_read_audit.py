"""Every read of personal data writes an audit record with the actor and the purpose: funds payments,
entitlements, the re-issue queue, the month's refused debits, a person's contribution history and enrolments,
and the audit trail of a person itself. Each replays the finding: the audit sequence must advance on the call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.audit.models import AuditRecord
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.models import BenefitKind
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.funds.contributions import service as contrib
from sscard.funds.contributions.terms import ContribScheme
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.api import bearer
from support.city import City


def _tip(city: City) -> int:
    with city.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT coalesce(max(seq), 0) FROM audit_records")).scalar_one())


def _since(city: City, seq: int) -> list[AuditRecord]:
    with city.db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq))
                    .scalars())


@pytest.fixture
def client_and_person(city: City, new_id: Callable[..., str]) -> tuple[TestClient, dict[str, str], int]:
    number = new_id()
    person = registry.register(city.db, city.admin, PersonIn(id_number=number, name="读审计", region_code="441802"))
    entitlements.grant_entitlement(city.db, city.admin, EntitlementIn(
        person_id=person.id, kind=BenefitKind.PENSION, amount=250_000, start_period="2014-01"))
    contrib.enrol(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-01", base_ratio_bp=10_000)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    return client, bearer(client, "t-super"), person.id


READS = [  # (route, action, entity_type, entity_id: "P" = the person's id, details expected)
    ("/api/v1/funds/persons/{P}/payments", "benefit.payments_read", "person", "P", {}),
    ("/api/v1/funds/persons/{P}/entitlements", "benefit.entitlements_read", "person", "P", {"rows": 1}),
    ("/api/v1/funds/failures?state=all", "benefit.failures_read", "benefit_reissue", "*", {"state": "all"}),
    ("/api/v1/funds/contributions/months/2014-01/failures", "contrib.failures_read", "contrib_run", "2014-01", {}),
    ("/api/v1/funds/contributions/persons/{P}/history", "contrib.history", "person", "P", {}),
    ("/api/v1/audit/person/{P}", "audit.history_read", "audit", "person/P", {}),
]


@pytest.mark.parametrize(("route", "action", "entity_type", "entity_id", "details"), READS,
                         ids=[r[1] for r in READS])
def test_a_read_of_personal_data_advances_the_audit_sequence(
        city: City, client_and_person: tuple[TestClient, dict[str, str], int], route: str, action: str,
        entity_type: str, entity_id: str, details: dict[str, Any]) -> None:
    client, supervisor, person_id = client_and_person
    before = _tip(city)
    r = client.get(route.replace("{P}", str(person_id)), headers=supervisor)
    assert r.status_code == 200, r.text
    mine = [rec for rec in _since(city, before) if rec.operator == "t-super" and rec.action == action]
    assert len(mine) == 1, [(rec.action, rec.entity_id) for rec in _since(city, before)]
    rec = mine[0]
    assert rec.role == "supervisor" and rec.outlet == "T01"
    assert (rec.entity_type, rec.entity_id) == (entity_type, entity_id.replace("P", str(person_id)))
    after = json.loads(rec.after or "{}")
    assert after["purpose"] and all(after[k] == v for k, v in details.items())


def test_a_refused_read_writes_nothing(city: City, client_and_person: tuple[TestClient, dict[str, str], int]) -> None:
    client, _, person_id = client_and_person
    counter = bearer(client, "t-counter")
    before = _tip(city)
    r = client.get(f"/api/v1/funds/persons/{person_id}/entitlements", headers=counter)
    assert r.status_code == 403
    assert [rec.action for rec in _since(city, before) if rec.operator == "t-counter"] == []


def test_enrolments_read_is_audited(city: City, client_and_person: tuple[TestClient, dict[str, str], int]) -> None:
    _, _, person_id = client_and_person
    before = _tip(city)
    assert [e.scheme for e in contrib.enrolments(city.db, city.supervisor, person_id)] == ["flex_pension"]
    assert [rec.action for rec in _since(city, before) if rec.operator == "t-super"] == ["contrib.enrolments_read"]


def test_an_audit_trail_path_too_long_for_the_log_is_refused_not_a_500(
        city: City, client_and_person: tuple[TestClient, dict[str, str], int]) -> None:
    client, supervisor, _ = client_and_person
    for path in ("/api/v1/audit/person/" + "9" * 51, "/api/v1/audit/" + "x" * 31 + "/1", "/api/v1/audit/person/a%00b"):
        r = client.get(path, headers=supervisor)
        assert r.status_code == 422, (path, r.status_code, r.text)
