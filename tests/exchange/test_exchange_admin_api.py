"""The administrators' API under /api/v1/exchange with bearer tokens: department, key (secret once), agreement
requested by one operator and approved by another, usage report, a person's data-use record, outbox delivery;
and the role each step needs."""

from __future__ import annotations

import uuid

from exchange_world import VERIFY, Dept, holder, post
from fastapi.testclient import TestClient

from sscard import clock
from support.api import bearer
from support.city import City


def test_the_admin_api_from_department_to_usage(city: City, client: TestClient) -> None:
    admin, supervisor, counter = (bearer(client, u) for u in ("t-admin", "t-super", "t-counter"))
    code = f"A{uuid.uuid4().hex[:6].upper()}"
    assert client.post("/api/v1/exchange/departments", headers=counter,
                       json={"code": code, "name": "x"}).status_code == 403
    made = client.post("/api/v1/exchange/departments", headers=admin, json={"code": code, "name": "清远市教育局"})
    assert made.status_code == 201, made.text
    again = client.post("/api/v1/exchange/departments", headers=admin, json={"code": code, "name": "重复"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "EXCHANGE_DEPARTMENT_EXISTS"
    key = client.post(f"/api/v1/exchange/departments/{code}/keys", headers=admin)
    assert key.status_code == 201 and len(key.json()["secret_hex"]) == 64
    listed = client.get(f"/api/v1/exchange/departments/{code}/keys", headers=supervisor).json()
    assert [k["key_id"] for k in listed] == [key.json()["key_id"]] and "secret_hex" not in listed[0]
    today = clock.local_date()
    body = {"department": code, "items": [{"item": "card_status", "modes": ["verification"]}],
            "purpose": "学生资助资格核验", "legal_basis": "《学生资助资金管理办法》", "valid_from": str(today),
            "valid_until": str(today.replace(year=today.year + 1)), "daily_quota": 10}
    requested = client.post("/api/v1/exchange/agreements", headers=admin, json=body)
    assert requested.status_code == 201, requested.text
    number = requested.json()["agreement_no"]
    own = client.post(f"/api/v1/exchange/agreements/{number}/approve", headers=admin)
    assert own.status_code == 403 and own.json()["error"]["code"] == "EXCHANGE_SELF_APPROVAL"
    assert client.post(f"/api/v1/exchange/agreements/{number}/approve", headers=counter).status_code == 403
    approved = client.post(f"/api/v1/exchange/agreements/{number}/approve", headers=supervisor)
    assert approved.status_code == 200 and approved.json()["in_force"] is True

    dept = Dept(code, key.json()["key_id"], bytes.fromhex(key.json()["secret_hex"]), number)
    who = holder(city)
    assert post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number,
                                       "name": who.name}).status_code == 200
    usage = client.get("/api/v1/exchange/usage", headers=supervisor,
                       params={"month": f"{today:%Y-%m}", "department": code})
    assert usage.status_code == 200
    [row] = usage.json()["rows"]
    assert row == {"department": code, "agreement": number, "purpose": "学生资助资格核验", "requests": 1, "persons": 1,
                   "by_item_mode": {"card_status/verification": 1}, "daily_quota": 10}
    uses = client.get(f"/api/v1/exchange/persons/{who.person_id}/uses", headers=supervisor).json()
    assert [(u["department"], u["mode"], u["agreement"]) for u in uses] == [(code, "verification", number)]
    assert client.get(f"/api/v1/exchange/persons/{who.person_id}/uses", headers=counter).status_code == 403
    delivered = client.post("/api/v1/exchange/outbox/deliver", headers=admin)
    assert delivered.status_code == 200 and set(delivered.json()) == {"delivered", "failed", "pending"}
    revoked = client.post(f"/api/v1/exchange/agreements/{number}/revoke", headers=supervisor,
                          json={"reason": "学期结束"})
    assert revoked.json()["status"] == "revoked" and revoked.json()["in_force"] is False
    catalogue = client.get("/api/v1/exchange/catalogue", headers=supervisor).json()
    assert {"card_status", "bank_account"} <= {i["code"] for i in catalogue}
