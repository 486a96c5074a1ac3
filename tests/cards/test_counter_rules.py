"""Rules of the counter that hold for every role and every interface: a card is handed over only at the outlet
that holds it (the refusal says which), and a PIN of the wrong shape is refused without costing a try."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sscard.access import SYSTEM_ACTOR, PermissionDenied
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.cards.errors import CardNotAtOutlet, PinFormatInvalid
from sscard.cards.models import Card
from sscard.cards.states import ProductionStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import PASSWORD, City

NewId = Callable[..., str]
MALFORMED = ["12ab56", "12345", "1234567", "", " 24681", "２４６８１０", "٢٤٦٨١٠", "246810\n", "abcdef"]


def _headers(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _at_t01(city: City, new_id: NewId) -> str:
    number = new_id(region="441802")
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="领卡", region_code="441802"))
    card_no = cards.apply_new(city.db, city.counter, number).card.card_no
    for status in ("10", "20", "30"):
        cards.advance_production(city.db, city.admin, card_no, ProductionStatus(status))
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
    return card_no


def _active(city: City, new_id: NewId) -> str:
    card_no = _at_t01(city, new_id)
    cards.pick_up(city.db, city.counter, card_no)
    cards.activate(city.db, city.counter, card_no, "246810")
    return card_no


def _failures(city: City, card_no: str) -> int:
    with city.db.unit_of_work() as session:
        return session.execute(select(Card.pin_failures).where(Card.card_no == card_no)).scalar_one()


def test_an_administrator_with_no_outlet_cannot_pick_up_a_card_anywhere(city: City, new_id: NewId) -> None:
    card_no = _at_t01(city, new_id)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    r = client.post(f"/api/v1/cards/{card_no}/pickup", headers=_headers(client, "t-admin"))
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "CARD_NOT_AT_OUTLET" and error["context"]["outlet"] == "T01" and "T01" in error["detail"]
    with pytest.raises(CardNotAtOutlet) as elsewhere:  # another outlet's clerk is told where it waits
        cards.pick_up(city.db, city.other_counter, card_no)
    assert elsewhere.value.context["outlet"] == "T01"
    assert cards.get_card(city.db, SYSTEM_ACTOR, card_no).production_status == "60"
    # A supervisor of T01 (any role, at the right outlet) hands it over.
    assert cards.pick_up(city.db, city.supervisor, card_no).app_status == "0"


def test_the_system_actor_hands_over_only_at_the_cards_outlet(city: City, new_id: NewId) -> None:
    card_no = _at_t01(city, new_id)
    with pytest.raises(CardNotAtOutlet):
        cards.pick_up(city.db, SYSTEM_ACTOR, card_no)
    with pytest.raises(PermissionDenied):
        cards.at_outlet_of(city.db, city.admin, card_no)
    at_t01 = cards.at_outlet_of(city.db, SYSTEM_ACTOR, card_no)
    assert at_t01.outlet_code == "T01" and cards.pick_up(city.db, at_t01, card_no).app_status == "0"


@pytest.mark.parametrize("pin", MALFORMED)
def test_a_malformed_pin_is_refused_without_costing_a_try(city: City, new_id: NewId, pin: str) -> None:
    card_no = _active(city, new_id)
    cards.verify_pin(city.db, city.counter, card_no, "000000")  # one real wrong try
    assert _failures(city, card_no) == 1
    with pytest.raises(PinFormatInvalid):
        cards.verify_pin(city.db, city.counter, card_no, pin)
    with pytest.raises(PinFormatInvalid):
        cards.change_pin(city.db, city.counter, card_no, pin, "975310")
    assert _failures(city, card_no) == 1
    assert cards.verify_pin(city.db, city.counter, card_no, "246810").ok


def test_malformed_pins_over_the_api_never_lock_the_card(city: City, new_id: NewId) -> None:
    card_no = _active(city, new_id)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    headers = _headers(client, "t-counter")
    for pin in ["abcdef", "12", "1234567", "２４６８１０"] * 2:  # more than card.pin_max_tries (6)
        r = client.post(f"/api/v1/cards/{card_no}/verify-pin", headers=headers, json={"pin": pin})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "PIN_FORMAT_INVALID"), r.text
    r = client.post(f"/api/v1/cards/{card_no}/change-pin", headers=headers,
                    json={"old_pin": "24681x", "new_pin": "975310"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "PIN_FORMAT_INVALID")
    assert _failures(city, card_no) == 0
    assert cards.get_card(city.db, SYSTEM_ACTOR, card_no).app_status == "1"
    r = client.post(f"/api/v1/cards/{card_no}/verify-pin", headers=headers, json={"pin": "246810"})
    assert r.status_code == 200 and r.json()["ok"] is True


def test_a_new_pin_of_other_scripts_digits_is_refused(city: City, new_id: NewId) -> None:
    card_no = _at_t01(city, new_id)
    cards.pick_up(city.db, city.counter, card_no)
    with pytest.raises(PinFormatInvalid):
        cards.activate(city.db, city.counter, card_no, "２４６８１０")
