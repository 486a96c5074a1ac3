"""The scripted journey of the foundation issue, through HTTP, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient

from sscard.registry.idnumber import check_digit


def _code(response: object) -> str:
    return response.json()["error"]["code"]  # type: ignore[attr-defined,no-any-return]


def test_full_lifecycle_journey(client: TestClient, login: Callable[[str], dict[str, str]],
                                new_id: Callable[..., str]) -> None:
    counter, admin = login("t-counter"), login("t-admin")
    id_no = new_id(region="441802")

    # An ID number with a wrong check digit is refused with its code, in Chinese by default.
    wrong = id_no[:17] + ("0" if id_no[17] != "0" else "1")
    r = client.post("/api/v1/persons", headers=counter, json={"id_number": wrong, "name": "张三",
                                                              "region_code": "441802"})
    assert r.status_code == 422 and _code(r) == "ID_CHECK_DIGIT_INVALID"
    assert r.json()["error"]["message"] == "身份证号码校验位错误"
    r = client.post("/api/v1/persons", headers={**counter, "Accept-Language": "en"},
                    json={"id_number": wrong, "name": "张三", "region_code": "441802"})
    assert r.json()["error"]["message"] == "The ID number's check digit is wrong"

    r = client.post("/api/v1/persons", headers=counter,
                    json={"id_number": id_no, "name": "欧阳𬌗", "region_code": "441802", "phone": "13800138000"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "欧阳𬌗"
    r = client.post("/api/v1/persons", headers=counter,
                    json={"id_number": id_no, "name": "欧阳𬌗", "region_code": "441802"})
    assert r.status_code == 409 and _code(r) == "PERSON_EXISTS"

    r = client.post("/api/v1/applications", headers=counter, json={"id_number": id_no})
    assert r.status_code == 201, r.text
    first = r.json()
    card_no = first["card"]["card_no"]
    assert first["fee"]["amount_fen"] == 0 and first["fee"]["receipt_no"].startswith("R")
    assert first["card"]["production_status"] == "00" and first["card"]["app_status"] is None

    # A second application for the same person is refused while one is in progress.
    r = client.post("/api/v1/applications", headers=counter, json={"id_number": id_no})
    assert r.status_code == 409 and _code(r) == "APPLICATION_PENDING"

    # Production (a service call for now): the counter may not drive it; an administrator does.
    r = client.post(f"/api/v1/cards/{card_no}/production", headers=counter, json={"to_status": "10"})
    assert r.status_code == 403 and _code(r) == "PERMISSION_DENIED"
    for status in ("10", "20", "30"):
        r = client.post(f"/api/v1/cards/{card_no}/production", headers=admin, json={"to_status": status})
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/cards/{card_no}/production", headers=admin,
                    json={"to_status": "60", "outlet_code": "T01"})
    assert r.json()["production_status"] == "60"

    # Pickup only at the outlet holding the card.
    r = client.post(f"/api/v1/cards/{card_no}/pickup", headers=login("t-counter2"))
    assert r.status_code == 409 and _code(r) == "CARD_NOT_AT_OUTLET"
    r = client.post(f"/api/v1/cards/{card_no}/pickup", headers=counter)
    assert r.status_code == 200 and r.json()["app_status"] == "0"

    # With a valid card, a new application is refused: one person, one card.
    r = client.post("/api/v1/applications", headers=counter, json={"id_number": id_no})
    assert r.status_code == 409 and _code(r) == "CARD_ALREADY_HELD"

    r = client.post(f"/api/v1/cards/{card_no}/activate", headers=counter, json={"pin": "123456"})
    assert r.status_code == 422 and _code(r) == "PIN_TOO_WEAK"
    r = client.post(f"/api/v1/cards/{card_no}/activate", headers=counter, json={"pin": "408213"})
    assert r.status_code == 200 and r.json()["app_status"] == "1"

    # Temporary loss, then it lapses when the jobs run after the configured period.
    r = client.post(f"/api/v1/cards/{card_no}/temporary-loss", headers=counter)
    assert r.json()["app_status"] == "4"
    expires = dt.datetime.fromisoformat(r.json()["temp_loss_expires_at"])
    r = client.post("/api/v1/jobs/run", headers=counter, json={})
    assert r.status_code == 403
    r = client.post("/api/v1/jobs/run", headers=admin,
                    json={"now": (expires - dt.timedelta(seconds=1)).isoformat()})
    assert client.get(f"/api/v1/cards/{card_no}", headers=counter).json()["app_status"] == "4"
    r = client.post("/api/v1/jobs/run", headers=admin, json={"now": (expires + dt.timedelta(seconds=1)).isoformat()})
    assert r.status_code == 200 and r.json()["temporary_losses_lapsed"] >= 1
    assert client.get(f"/api/v1/cards/{card_no}", headers=counter).json()["app_status"] == "1"

    # Formal loss; a replacement is requested (20 yuan); lifting is refused from then on.
    r = client.post(f"/api/v1/cards/{card_no}/formal-loss", headers=counter)
    assert r.json()["app_status"] == "2"
    r = client.post(f"/api/v1/cards/{card_no}/replacement", headers={**counter, "Idempotency-Key": f"rep-{card_no}"})
    assert r.status_code == 201, r.text
    replacement = r.json()
    assert replacement["fee"]["amount_fen"] == 2000 and replacement["application"]["business"] == "replacement"
    new_no = replacement["card"]["card_no"]
    assert new_no != card_no
    # The retried request returns the first answer and charges nothing twice.
    r = client.post(f"/api/v1/cards/{card_no}/replacement", headers={**counter, "Idempotency-Key": f"rep-{card_no}"})
    assert r.status_code == 201 and r.json()["fee"]["receipt_no"] == replacement["fee"]["receipt_no"]
    assert r.json()["card"]["card_no"] == new_no
    r = client.post(f"/api/v1/cards/{card_no}/lift-loss", headers=counter)
    assert r.status_code == 409 and _code(r) == "REPLACEMENT_REQUESTED"

    for status in ("10", "20", "30"):
        client.post(f"/api/v1/cards/{new_no}/production", headers=admin, json={"to_status": status})
    client.post(f"/api/v1/cards/{new_no}/production", headers=admin, json={"to_status": "60", "outlet_code": "T01"})
    r = client.post(f"/api/v1/cards/{new_no}/pickup", headers=counter)
    assert r.status_code == 200 and r.json()["app_status"] == "0"
    old = client.get(f"/api/v1/cards/{card_no}", headers=counter).json()
    assert old["app_status"] == "9" and old["cancel_reason"] == "replaced"

    person = client.post("/api/v1/persons/lookup", headers=counter, json={"id_number": id_no}).json()
    cards = client.get(f"/api/v1/persons/{person['id']}/cards", headers=counter).json()
    assert [c["card_no"] for c in cards] == [card_no, new_no]
    history = client.get(f"/api/v1/audit/card/{card_no}", headers=login("t-super")).json()
    actions = [h["action"] for h in history]
    assert {"card.temporary_loss", "card.temporary_loss_lapsed", "card.formal_loss", "card.cancel"} <= set(actions)
    assert all(h["operator"] for h in history)


def test_bad_input_never_gives_500(client: TestClient, login: Callable[[str], dict[str, str]]) -> None:
    counter = login("t-counter")
    bodies = [{}, {"id_number": None}, {"id_number": "x" * 39, "name": "", "region_code": "1"},
              {"id_number": "441802199001010017", "name": "a" * 51, "region_code": "441802"},
              {"id_number": "441802199013010015", "name": "甲", "region_code": "441802"}]
    for body in bodies:
        r = client.post("/api/v1/persons", headers=counter, json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert r.json()["error"]["code"]
    r = client.post("/api/v1/persons", headers={**counter, "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422
    r = client.post("/api/v1/cards/NOPE/activate", headers=counter, json={"pin": "12"})
    assert r.status_code in (404, 422)


def test_requests_without_valid_token_are_refused(client: TestClient) -> None:
    r = client.get("/api/v1/persons")
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH_FAILED"
    r = client.get("/api/v1/persons", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "t-counter", "password": "wrong-password"})
    assert r.status_code == 401


def test_legacy_15_digit_number_is_upgraded(client: TestClient, login: Callable[[str], dict[str, str]],
                                            new_id: Callable[..., str]) -> None:
    eighteen = new_id(region="441881")
    fifteen = eighteen[:6] + eighteen[8:17]
    assert eighteen[6:8] == "19"
    r = client.post("/api/v1/persons", headers=login("t-counter"),
                    json={"id_number": fifteen, "name": "李四", "region_code": "441881"})
    assert r.status_code == 201, r.text
    assert r.json()["id_number"] == eighteen[:17] + check_digit(eighteen[:17])
    assert r.json()["legacy_id_number"] == fifteen


def test_openapi_and_landing_page(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/cards/{card_no}/formal-loss" in spec["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "清远市社会保障卡管理系统" in page.text
    assert client.get("/healthz").text == "ok"
    assert "sscard_http_requests_total" in client.get("/metrics").text
