"""The administrators' side of the index over HTTP: break-the-glass review (supervisors), the sensitive-category
list (effective-dated, policy administrators), and the department's de-identified statistics (small cells
suppressed), each refused to a role without its permission and changing nothing then."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from health.index_world import OPERATOR, encounter_body, post, publish
from medical.world import Hospital, NewId, insured_person
from sscard import clock
from sscard.health.models import HealthGrant, HealthSensitivePolicy
from support.api import bearer
from support.city import City

HEALTH = "/api/v1/health"


def test_supervisors_review_break_the_glass_counters_may_not(city: City, client: TestClient,
                                                              hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    opened = post(hospital_b, "$break-glass", {"card_no": who.card_no, "reason": "patient unconscious, no family"},
                  {"X-Health-Operator": OPERATOR})
    grant_id = opened.json()["id"]
    counter = bearer(client, "t-counter")
    assert client.get(f"{HEALTH}/emergency-grants", headers=counter).json()["error"]["code"] == "PERMISSION_DENIED"
    refused = client.post(f"{HEALTH}/emergency-grants/{grant_id}/review", headers=counter)
    assert refused.status_code == 403
    with city.db.unit_of_work() as s:
        assert s.execute(select(HealthGrant.needs_review).where(HealthGrant.grant_id == grant_id)).scalar_one()
    supervisor = bearer(client, "t-super")
    listed = client.get(f"{HEALTH}/emergency-grants", headers=supervisor).json()
    assert grant_id in {g["grant_id"] for g in listed}
    reviewed = client.post(f"{HEALTH}/emergency-grants/{grant_id}/review", headers=supervisor)
    assert reviewed.status_code == 200 and reviewed.json()["needs_review"] is False
    assert grant_id not in {g["grant_id"] for g in client.get(f"{HEALTH}/emergency-grants", headers=supervisor).json()}
    assert grant_id in {g["grant_id"] for g in client.get(f"{HEALTH}/emergency-grants", params={"all": "true"},
                                                          headers=supervisor).json()}


def _lists(city: City) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(func.count()).select_from(HealthSensitivePolicy)).scalar_one())


def test_the_sensitive_list_is_dated_policy(city: City, client: TestClient) -> None:
    tomorrow = (clock.local_date() + dt.timedelta(days=1)).isoformat()
    body = {"effective_from": tomorrow, "categories": [
        {"name": "mental_health", "label_zh": "精神和行为障碍", "label_en": "Mental health",
         "ranges": [["F00", "F99"]]}]}
    before = _lists(city)
    supervisor, admin = bearer(client, "t-super"), bearer(client, "t-admin")
    assert client.put(f"{HEALTH}/sensitive-categories", json=body, headers=supervisor).status_code == 403
    bad = [{**body["categories"][0], "ranges": [["F99", "F00"]]}]  # type: ignore[dict-item]
    invalid = client.put(f"{HEALTH}/sensitive-categories", json={**body, "categories": bad}, headers=admin)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "HEALTH_SENSITIVE_POLICY_INVALID"
    past = client.put(f"{HEALTH}/sensitive-categories", json={**body, "effective_from": "2020-01-01"}, headers=admin)
    assert past.json()["error"]["code"] == "POLICY_BACKDATED"
    assert _lists(city) == before
    first = client.put(f"{HEALTH}/sensitive-categories", json=body, headers=admin)
    second = client.put(f"{HEALTH}/sensitive-categories", json=body, headers=admin)
    assert (first.json(), second.json()) == ({"version": 1}, {"version": 2})
    assert _lists(city) == before + 2


def test_statistics_count_by_division_month_and_type_and_suppress_small_cells(
        city: City, client: TestClient, hospital_a: Hospital, new_id: NewId) -> None:
    people = [insured_person(city, new_id) for _ in range(6)]
    for who in people:
        publish(hospital_a, encounter_body(who, day="2020-03-05"))
    publish(hospital_a, encounter_body(people[0], kind="inpatient", klass="IMP", day="2020-03-20"))
    query = {"first": "2020-03-01", "last": "2020-03-31"}
    assert client.get(f"{HEALTH}/stats/encounters", params=query,
                      headers=bearer(client, "t-super")).status_code == 403
    cells = client.get(f"{HEALTH}/stats/encounters", params=query, headers=bearer(client, "t-admin")).json()
    assert cells == [
        {"division": "441802", "month": "2020-03", "encounter_type": "inpatient", "count": None},
        {"division": "441802", "month": "2020-03", "encounter_type": "outpatient", "count": 6},
    ]
