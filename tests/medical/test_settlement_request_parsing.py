"""2207 parses its body itself (``model_validate_json`` on the raw bytes, no FastAPI dependencies): bad input
still answers FastAPI's 422 shape with ``loc`` under ``body`` and writes nothing; the key is checked first."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from medical.world import Hospital, insured_person, position, presence_header, settle_body
from sscard import clock
from sscard.medical import presence
from support.city import City

NewId = Callable[..., str]
URL = "/api/v1/medical/settlements"


def _error(response: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = response.json()["error"]
    return data


def test_bad_bodies_are_422_in_fastapis_shape_and_write_nothing(city: City, client: TestClient, hospital: Hospital,
                                                                new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    before = position(city.db, who, hospital.code)
    body = settle_body(who)
    cases = [
        (client.post(URL, json={**body, "surprise": 1}, headers=hospital.headers), ["body", "surprise"]),
        (client.post(URL, json={**body, "msg_id": "has space"}, headers=hospital.headers), ["body", "msg_id"]),
        (client.post(URL, json={**body, "bill": {**body["bill"], "lines": []}}, headers=hospital.headers),
         ["body", "bill", "lines"]),
        (client.post(URL, content=b'{"msg_id": ', headers={**hospital.headers, "Content-Type": "application/json"}),
         ["body"]),
        (client.post(URL, content=b"", headers={**hospital.headers, "Content-Type": "application/json"}), ["body"]),
        (client.post(URL, content=b"msg_id=1", headers={**hospital.headers, "Content-Type": "text/plain"}),
         ["body"]),
    ]
    for response, loc in cases:
        assert response.status_code == 422, response.text
        error = _error(response)
        assert error["code"] == "VALIDATION_ERROR"
        locs = [e["loc"] for e in error["errors"]]
        assert any(found[:len(loc)] == loc for found in locs), (loc, locs)
    assert position(city.db, who, hospital.code) == before
    # A JSON media type with parameters is still JSON.
    raw = json.dumps(settle_body(who)).encode()
    ok = client.post(URL, content=raw,
                     headers={**hospital.headers, "Content-Type": "application/json; charset=utf-8",
                              presence.HEADER: presence_header(str(who.card_no), raw, clock.local_date())})
    assert ok.status_code == 200, ok.text
    assert ok.json()["setl_id"] and ok.json()["replayed"] is False


def test_the_key_is_checked_before_the_body(client: TestClient) -> None:
    for headers in ({}, {"X-Institution-Key": "forged"}):
        response = client.post(URL, content=b"not json", headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 401, response.text
        assert _error(response)["code"]

