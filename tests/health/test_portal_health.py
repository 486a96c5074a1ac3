"""The holder's health-index page: who may read the index and who looked, revoking a grant (the hospital then
reads nothing), showing a sensitive category (the hospital then sees it) — through the real portal pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from health.index_world import encounter_body, grant, outcome_code, publish, search
from medical.world import Hospital, NewId, insured_person
from sscard.portal import service as portal
from support.city import City
from web.helpers import csrf_of
from web.portal_helpers import QUERY_PASSWORD, portal_client


def test_the_holder_sees_who_looked_revokes_and_opts_in(city: City, hospital_a: Hospital, hospital_b: Hospital,
                                                         new_id: NewId) -> None:
    who = insured_person(city, new_id)
    assert who.card_no is not None
    portal.set_query_password(city.db, city.counter, who.card_no, QUERY_PASSWORD)
    publish(hospital_a, encounter_body(who, code="J18.9"))
    publish(hospital_a, encounter_body(who, code="B20"))  # HIV: hidden by the policy list
    grant_id, patient = grant(hospital_b, who)
    assert search(hospital_b, "Encounter", patient, grant_id).json()["total"] == 1

    http: TestClient
    http, _ = portal_client(city, who.card_no)
    assert 'href="/portal/health"' in http.get("/portal").text
    page = http.get("/portal/health")
    assert page.status_code == 200
    assert f'data-grant="{grant_id}" data-state="active"' in page.text
    # the institution by its name (never its code), the time in Beijing time, what was read in words
    assert re.search(rf'<tr class="read" data-grant="{grant_id}"><td[^>]*>[^<]+</td><td[^>]*>测试{hospital_b.code}</td>'
                     r"<td[^>]*>dr.wang-01</td><td[^>]*>[^<]+</td><td[^>]*>就诊记录</td>", page.text)
    assert f">{hospital_b.code}<" not in page.text and ">Encounter<" not in page.text
    assert 'data-category="hiv" data-shown="no"' in page.text
    assert "艾滋病病毒感染" in page.text and "HIV disease" not in page.text  # the Chinese page names it in Chinese

    shown = http.post("/portal/health/sensitive", data={"csrf_token": csrf_of(page.text), "category": "hiv",
                                                        "show": "1"})
    assert shown.status_code == 200 and 'data-category="hiv" data-shown="yes"' in shown.text
    assert search(hospital_b, "Encounter", patient, grant_id).json()["total"] == 2

    revoked = http.post("/portal/health/revoke", data={"csrf_token": csrf_of(shown.text), "grant_id": grant_id})
    assert revoked.status_code == 200 and f'data-grant="{grant_id}" data-state="revoked"' in revoked.text
    assert outcome_code(search(hospital_b, "Encounter", patient, grant_id)) == "HEALTH_GRANT_REVOKED"

    someone_else = insured_person(city, new_id)
    their_grant, _ = grant(hospital_b, someone_else)
    refused = http.post("/portal/health/revoke", data={"csrf_token": csrf_of(revoked.text), "grant_id": their_grant})
    assert refused.status_code == 403 and 'id="health-error"' in refused.text
    assert search(hospital_b, "Encounter", _, their_grant).status_code == 200


def test_the_page_needs_a_portal_login(city: City) -> None:
    http, _ = portal_client(city)
    assert http.get("/portal/health", follow_redirects=False).status_code in (303, 401)
