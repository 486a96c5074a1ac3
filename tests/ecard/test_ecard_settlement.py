"""Settling with a scanned e-card code in place of the card (2206/2207), on SQLite and PostgreSQL: the person is
identified by the e-card's token, the same policy, accumulators and account apply; the proof-of-presence rules
apply unchanged (a pharmacy takes the PIN, a hospital needs the chip); a code settles once, a refused settlement
does not spend it, a lost card's code is refused, and nothing is written by a refusal."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ecard.ecard_world import process_keys
from medical.world import PIN, Hospital, Insured, insured_person, new_hospital, position
from sscard import clock
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.ecard import service as ecard
from sscard.ecard.models import EcardCodeUse
from sscard.kms.signing import SigningKeys
from sscard.medical import presence
from sscard.medical.models import Settlement
from sscard.portal import ecards
from sscard.portal import service as portal
from support.city import City

NewId = Callable[..., str]
SMALL = [{"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]
PIN_PROOF = f"v=1;method=pin;pin={PIN}"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SigningKeys:
    return process_keys(monkeypatch, tmp_path)


@pytest.fixture
def client(city: City, keys: SigningKeys) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture
def pharmacy(city: City, client: TestClient) -> Hospital:
    return new_hospital(city, client, level=None, kind="pharmacy", services=("pharmacy",))


@pytest.fixture
def who(city: City, new_id: NewId) -> Insured:
    person = insured_person(city, new_id, balance_fen=50_000)
    ecards.activate_ecard(city.db, portal.cardholder_actor(person.person_id))
    return person


def _code(city: City, who: Insured) -> str:
    return ecard.issue_code(city.db, portal.cardholder_actor(who.person_id), who.person_id).text


def _body(code: str, msg_id: str | None = None, visit_type: str = "pharmacy") -> dict[str, Any]:
    return {"msg_id": msg_id or uuid.uuid4().hex, "ecard_code": code,
            "bill": {"date": clock.local_date().isoformat(), "visit_type": visit_type, "lines": SMALL}}


def _post(inst: Hospital, path: str, body: dict[str, Any], proof: str | None = PIN_PROOF) -> Any:
    headers = {**inst.headers, "Content-Type": "application/json"}
    if proof:
        headers[presence.HEADER] = proof
    return inst.client.post(f"/api/v1/medical/{path}", content=json.dumps(body).encode(), headers=headers)


def _uses(city: City) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(func.count()).select_from(EcardCodeUse)).scalar_one())


def test_a_pharmacy_settles_with_the_code_and_the_pin_once(city: City, pharmacy: Hospital, who: Insured) -> None:
    code = _code(city, who)
    before = position(city.db, who, pharmacy.code)
    pre = _post(pharmacy, "pre-settlements", _body(code))
    assert pre.status_code == 200, pre.text
    assert position(city.db, who, pharmacy.code) == before  # 2206 spends nothing, not even the code
    body = _body(code)
    settled = _post(pharmacy, "settlements", body)
    assert settled.status_code == 200, settled.text
    answer = settled.json()
    assert (answer["identified_by"], answer["card_no"]) == ("ecard", None)  # the card number is never told
    assert answer["split"] == pre.json()["split"] and answer["split"]["account_paid_fen"] > 0
    after = position(city.db, who, pharmacy.code)
    assert after != before
    with city.db.unit_of_work() as s:
        row = s.execute(select(Settlement).where(Settlement.setl_id == answer["setl_id"])).scalar_one()
        assert (row.identified_by, row.card_no, row.presence_method) == ("ecard", who.card_no, "pin")
    replay = _post(pharmacy, "settlements", body)  # the same message again: the first answer, nothing moves
    assert replay.status_code == 200 and replay.json()["setl_id"] == answer["setl_id"]
    again = _post(pharmacy, "settlements", _body(code))  # the same code in a new message
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ECARD_CODE_USED")
    assert position(city.db, who, pharmacy.code) == after


def test_presence_rules_apply_unchanged_and_a_refusal_does_not_spend_the_code(
        city: City, client: TestClient, pharmacy: Hospital, who: Insured) -> None:
    hospital = new_hospital(city, client)
    code = _code(city, who)
    before, uses = position(city.db, who, hospital.code), _uses(city)
    refused = _post(hospital, "settlements", _body(code, visit_type="outpatient"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "CARD_PRESENCE_REQUIRED")
    no_proof = _post(pharmacy, "settlements", _body(code), proof=None)
    assert no_proof.json()["error"]["code"] == "CARD_PRESENCE_REQUIRED"
    assert position(city.db, who, hospital.code) == before and _uses(city) == uses
    assert _post(pharmacy, "settlements", _body(code)).status_code == 200


def test_the_code_of_a_lost_card_does_not_settle(city: City, pharmacy: Hospital, who: Insured) -> None:
    code = _code(city, who)
    assert who.card_no is not None
    cards.report_temporary_loss(city.db, portal.cardholder_actor(who.person_id), who.card_no)
    before = position(city.db, who, pharmacy.code)
    refused = _post(pharmacy, "settlements", _body(code))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "ECARD_CODE_REVOKED")
    assert position(city.db, who, pharmacy.code) == before


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda b: {**b, "ecard_code": b["ecard_code"][:-4]}, "ECARD_CODE_MALFORMED"),
    (lambda b: {**b, "ecard_code": "ESSC1." + "A" * 130}, "ECARD_CODE_MALFORMED"),
    (lambda b: {**b, "card_no": "A12345678"}, "IDENTIFICATION_INVALID"),
])
def test_bad_codes_are_refused_with_stable_codes(city: City, pharmacy: Hospital, who: Insured,
                                                 mutate: Callable[[dict[str, Any]], dict[str, Any]],
                                                 error: str) -> None:
    before = position(city.db, who, pharmacy.code)
    refused = _post(pharmacy, "settlements", mutate(_body(_code(city, who))))
    assert refused.json()["error"]["code"] == error, refused.text
    assert refused.status_code in (400, 422)
    assert position(city.db, who, pharmacy.code) == before


def test_eligibility_by_code_tells_the_scheme_and_spends_nothing(city: City, pharmacy: Hospital,
                                                                 who: Insured) -> None:
    code = _code(city, who)
    r = pharmacy.client.post("/api/v1/medical/eligibility", json={"msg_id": uuid.uuid4().hex, "ecard_code": code},
                             headers=pharmacy.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["identified_by"], r.json()["card_no"]) == ("ecard", None)
    assert _post(pharmacy, "settlements", _body(code)).status_code == 200
