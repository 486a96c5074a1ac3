"""The holder's data-use record (/portal/data-use, zh_CN and en) with the departments' uses beside the health
index's reads, and the administrators' page where a supervisor approves what another operator requested."""

from __future__ import annotations

from exchange_world import VERIFY, holder, new_department, post
from fastapi.testclient import TestClient

from sscard.portal import service as portal
from support.city import City
from web.helpers import web_client
from web.portal_helpers import QUERY_PASSWORD, portal_client


def test_the_holder_sees_which_department_used_their_data_and_why(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"]})
    who = holder(city)
    other = holder(city)
    assert who.card_no is not None
    assert post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number,
                                       "name": who.name}).status_code == 200
    portal.set_query_password(city.db, city.counter, who.card_no, QUERY_PASSWORD)
    http, _ = portal_client(city, who.card_no)
    assert 'href="/portal/data-use"' in http.get("/portal").text
    page = http.get("/portal/data-use")
    assert page.status_code == 200
    assert f'<tr class="use" data-department="{dept.code}" data-mode="verification">' in page.text
    assert f"测试部门{dept.code}" in page.text and "社会保障卡状态" in page.text and "核验（是或否）" in page.text
    assert "核验社会保障卡状态以办理业务" in page.text and dept.agreement_no in page.text
    assert 'id="reads"' in page.text  # the health index's reads, the same section as /portal/health
    english = http.get("/lang/en?next=/portal/data-use").text
    assert "Who used my data" in english and "Social security card status" in english
    assert "Verification (yes or no)" in english
    # another holder's page shows none of it
    assert other.card_no is not None
    portal.set_query_password(city.db, city.counter, other.card_no, QUERY_PASSWORD)
    theirs, _ = portal_client(city, other.card_no)
    assert 'id="uses-none"' in theirs.get("/portal/data-use").text


def test_the_page_needs_a_portal_login(city: City) -> None:
    http, _ = portal_client(city)
    assert http.get("/portal/data-use", follow_redirects=False).status_code in (303, 401)


def test_a_supervisor_approves_on_the_page_and_the_requester_cannot(city: City) -> None:
    dept = new_department(city, {"card_status": ["verification"]}, approve=False)
    admin = web_client(city, "t-admin")
    page = admin.http.get("/exchange")
    assert page.status_code == 200 and dept.agreement_no in page.text
    assert "您是申请人：须由另一位主管批准。" in page.text
    refused = admin.post(f"/exchange/agreements/{dept.agreement_no}/approve", {})
    assert refused.status_code == 403 and 'id="form-error"' in refused.text
    supervisor = web_client(city, "t-super")
    page = supervisor.http.get("/exchange")
    assert f'data-agreement="{dept.agreement_no}" data-status="requested"' in page.text
    assert '<span title="card_status">社会保障卡状态</span>: 核验' in page.text  # items by name, not by code
    done = supervisor.post(f"/exchange/agreements/{dept.agreement_no}/approve", {})
    assert done.status_code == 200 and f'data-agreement="{dept.agreement_no}" data-status="approved"' in done.text
    no_reason = supervisor.post(f"/exchange/agreements/{dept.agreement_no}/revoke", {"reason": ""})
    assert no_reason.status_code == 422
    counter = web_client(city, "t-counter")
    assert counter.http.get("/exchange").status_code == 403
