"""Signed requests end to end through the API on both databases: verification, query with masking, bulk, and
every refusal's stable code with nothing written but its audit record."""

from __future__ import annotations

import time
from typing import Any

import pytest
from exchange_world import BULK, QUERY, VERIFY, Dept, body_of, holder, new_department, post, signed_headers
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sscard.audit.models import AuditRecord
from sscard.exchange import service as exchange
from sscard.exchange.models import ExchangeAccess, ExchangeNonce, ExchangeUsage
from support.city import City
from support.factories import next_id_number


def _written(city: City) -> tuple[int, int, int]:
    with city.db.unit_of_work() as session:
        return (session.execute(select(func.count()).select_from(ExchangeNonce)).scalar_one(),
                session.execute(select(func.coalesce(func.sum(ExchangeUsage.used), 0))).scalar_one(),
                session.execute(select(func.count()).select_from(ExchangeAccess)).scalar_one())


def _last_audit(city: City) -> AuditRecord:
    with city.db.unit_of_work() as session:
        row = session.execute(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
        session.expunge(row)
        return row


def _refused(city: City, response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    record = _last_audit(city)
    assert record.action == "exchange.refused" and code in (record.after or "")


def test_verification_answers_yes_or_no_with_a_reason(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"], "person_basic": ["verification"]})
    normal, sealed, none = holder(city), holder(city, "sealed"), holder(city, None)
    cases = [(normal, normal.name, True, "CARD_NORMAL"), (sealed, sealed.name, False, "CARD_NOT_NORMAL"),
             (none, none.name, False, "NO_CARD"), (normal, "王另人", False, "NAME_MISMATCH")]
    for who, name, result, reason in cases:
        r = post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number, "name": name})
        assert r.status_code == 200, r.text
        assert r.json() == {"item": "card_status", "result": result, "reason": reason, "agreement": dept.agreement_no}
    r = post(client, dept, VERIFY, {"item": "card_status", "id_number": next_id_number(), "name": "无此人"})
    assert r.json()["result"] is False and r.json()["reason"] == "PERSON_UNKNOWN"
    r = post(client, dept, VERIFY, {"item": "person_basic", "id_number": normal.id_number, "name": normal.name})
    assert r.json()["reason"] == "REGISTERED" and r.json()["result"] is True
    # each answer is an access the holder sees, with the agreement's purpose
    uses = exchange.holder_uses(city.db, city.admin, normal.person_id)
    assert [u.agreement for u in uses] == [dept.agreement_no] * 3
    assert {u.item for u in uses} == {"card_status", "person_basic"} and uses[0].purpose.startswith("核验")


def test_query_answers_minimal_fields_masked_unless_agreed(city: City, client: TestClient) -> None:
    masked = new_department(city, {"person_basic": ["query"], "card_status": ["query"]})
    clear = new_department(city, {"person_basic": ["query"]}, masking="clear")
    who = holder(city, name="欧阳数据")
    r = post(client, masked, QUERY, {"item": "person_basic", "id_number": who.id_number})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"name", "sex", "birth_date", "region_code", "living_status"}
    assert data["name"] != who.name and data["name"].startswith("欧") and "*" in data["name"]
    r = post(client, clear, QUERY, {"item": "person_basic", "id_number": who.id_number})
    assert r.json()["data"]["name"] == who.name
    r = post(client, masked, QUERY, {"item": "card_status", "id_number": who.id_number})
    card = r.json()["data"]
    assert card["card_status"] == "1" and who.card_no is not None and card["card_no"] != who.card_no
    assert card["card_no"][:3] == who.card_no[:3] and card["card_no"][-2:] == who.card_no[-2:]


def test_bulk_verification_answers_each_line(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["bulk"]})
    a, b, c = holder(city), holder(city, "sealed"), holder(city, None)
    lines = ["id_number,name", f"{a.id_number},{a.name}", f"{b.id_number},{b.name}", "", "not-an-id,某人",
             f"{c.id_number},{c.name}", f"{a.id_number},别人"]
    body = ("\n".join(lines) + "\n").encode()
    r = post(client, dept, BULK, body, params={"item": "card_status"}, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.text.splitlines() == ["line,result,reason", "1,0,SKIPPED", "2,1,CARD_NORMAL", "3,0,CARD_NOT_NORMAL",
                                   "4,0,SKIPPED", "5,0,LINE_MALFORMED", "6,0,NO_CARD", "7,0,NAME_MISMATCH"]
    assert r.headers["x-agreement"] == dept.agreement_no
    assert [u.mode for u in exchange.holder_uses(city.db, city.admin, a.person_id)] == ["bulk", "bulk"]


def test_bulk_service_streams_over_any_iterable_of_lines(city: City) -> None:
    dept = new_department(city, {"card_status": ["bulk"]})
    a = holder(city)
    granted = exchange.grant_for_department(city.db, dept.code, "card_status")
    answer = exchange.bulk_answer(city.db, granted, (f"{a.id_number},{a.name}" for _ in range(3)))
    assert next(answer) == "line,result,reason\n"
    assert "".join(answer).splitlines() == ["1,1,CARD_NORMAL", "2,1,CARD_NORMAL", "3,1,CARD_NORMAL"]


def _refusals(city: City, client: TestClient) -> list[tuple[str, int, Any]]:
    dept = new_department(city, {"card_status": ["verification"]})
    who = holder(city)
    doc = {"item": "card_status", "id_number": who.id_number, "name": who.name}
    body = body_of(doc)
    unapproved = new_department(city, {"card_status": ["verification"]}, approve=False)
    other_item = new_department(city, {"person_basic": ["verification"]})
    stranger = Dept("NOPE", "dk_nope_0000000000000000", b"x" * 32, "-")
    good = signed_headers(dept, "POST", VERIFY, None, body)
    tampered = {**good, "X-Signature": "0" * 64}

    def raw(headers: dict[str, str], content: bytes = body) -> Any:
        return client.post(VERIFY, content=content, headers={**headers, "Content-Type": "application/json"})

    replay_headers = signed_headers(dept, "POST", VERIFY, None, body)
    assert raw(replay_headers).status_code == 200
    return [
        ("EXCHANGE_SIGNATURE_INVALID", 401, lambda: raw(tampered)),
        ("EXCHANGE_SIGNATURE_INVALID", 401, lambda: raw(good, body.replace(b"card_status", b"card_statuS"))),
        ("EXCHANGE_REPLAY", 409, lambda: raw(replay_headers)),
        ("EXCHANGE_CLOCK_SKEW", 401, lambda: post(client, dept, VERIFY, doc, timestamp=int(time.time()) - 301)),
        ("EXCHANGE_CLOCK_SKEW", 401, lambda: post(client, dept, VERIFY, doc, timestamp=int(time.time()) + 400)),
        ("EXCHANGE_DEPARTMENT_UNKNOWN", 401, lambda: post(client, stranger, VERIFY, doc)),
        ("EXCHANGE_AGREEMENT_MISSING", 403, lambda: post(client, unapproved, VERIFY, doc)),
        ("EXCHANGE_ITEM_NOT_AGREED", 403, lambda: post(client, other_item, VERIFY, doc)),
        ("EXCHANGE_ITEM_NOT_AGREED", 403, lambda: post(client, dept, QUERY, {"item": "card_status",
                                                                              "id_number": who.id_number})),
        ("EXCHANGE_SIGNATURE_INVALID", 401, lambda: raw({**good, "X-Nonce": "short"})),
        ("EXCHANGE_SIGNATURE_INVALID", 401, lambda: raw({**good, "X-Signature": good["X-Signature"].upper()})),
        ("EXCHANGE_DEPARTMENT_UNKNOWN", 401, lambda: raw({**good, "X-Dept-Key": "a b"})),
        ("EXCHANGE_REQUEST_MALFORMED", 400, lambda: post(client, dept, VERIFY, b"[1, 2]")),
    ]


def test_each_refusal_has_its_code_and_writes_nothing_but_the_audit_record(city: City,
                                                                              client: TestClient) -> None:
    for code, status, call in _refusals(city, client):
        before = _written(city)
        _refused(city, call(), status, code)
        assert _written(city) == before, code


@pytest.mark.parametrize("missing", ["X-Dept-Key", "X-Timestamp", "X-Nonce", "X-Signature"])
def test_a_missing_header_is_refused(city: City, client: TestClient, missing: str) -> None:
    dept = new_department(city, {"card_status": ["verification"]})
    body = body_of({"item": "card_status", "id_number": "441802199001011234", "name": "某"})
    headers = signed_headers(dept, "POST", VERIFY, None, body)
    del headers[missing]
    before = _written(city)
    r = client.post(VERIFY, content=body, headers=headers)
    assert r.status_code == 401, r.text
    # without X-Dept-Key the API's credential check answers first; without another header the signature's
    assert r.json()["error"]["code"] == ("AUTH_FAILED" if missing == "X-Dept-Key" else "EXCHANGE_SIGNATURE_INVALID")
    assert _written(city) == before


def test_participation_and_pension_answers_for_someone_without_either(city: City, client: TestClient) -> None:
    dept = new_department(city, {"participation_status": ["verification", "query"],
                                 "pension_receipt": ["verification", "query"]})
    who = holder(city)
    doc = {"item": "participation_status", "id_number": who.id_number, "name": who.name, "insurance": "pension"}
    r = post(client, dept, VERIFY, doc)
    assert r.status_code == 200 and (r.json()["result"], r.json()["reason"]) == (False, "NOT_ENROLLED"), r.text
    no_type = post(client, dept, VERIFY, {**doc, "insurance": None})
    assert no_type.status_code == 400 and no_type.json()["error"]["code"] == "EXCHANGE_REQUEST_MALFORMED"
    r = post(client, dept, QUERY, {"item": "participation_status", "id_number": who.id_number})
    assert r.json()["data"] == {"schemes": []}
    r = post(client, dept, VERIFY, {"item": "pension_receipt", "id_number": who.id_number, "name": who.name})
    assert (r.json()["result"], r.json()["reason"]) == (False, "NOT_RECEIVING"), r.text
    r = post(client, dept, QUERY, {"item": "pension_receipt", "id_number": who.id_number})
    assert r.json()["data"] == {"receiving": False, "since_period": None}, r.text


def test_a_seen_nonce_is_refused_in_the_documented_order(city: City, client: TestClient) -> None:
    """The request's first statement stores the nonce before the signature is checked: a seen nonce under a
    wrong signature or a stale clock is still refused for those, and a refused request spends no nonce."""
    dept = new_department(city, {"card_status": ["verification"]})
    who = holder(city)
    body = body_of({"item": "card_status", "id_number": who.id_number, "name": who.name})
    first = signed_headers(dept, "POST", VERIFY, None, body)
    assert client.post(VERIFY, content=body, headers=first).status_code == 200
    before = _written(city)
    _refused(city, client.post(VERIFY, content=body, headers={**first, "X-Signature": "0" * 64}), 401,
             "EXCHANGE_SIGNATURE_INVALID")
    _refused(city, client.post(VERIFY, content=body, headers=first), 409, "EXCHANGE_REPLAY")
    assert _written(city) == before
    other = new_department(city, {"person_basic": ["verification"]})
    refused = signed_headers(other, "POST", VERIFY, None, body)
    _refused(city, client.post(VERIFY, content=body, headers=refused), 403, "EXCHANGE_ITEM_NOT_AGREED")
    assert _written(city) == before  # the refused request's nonce was rolled back with the rest
