"""Settlement through the institution API: the worked example end to end, eligibility by card state, message-id
replay, pre-settlement changing nothing, reversal restoring every balance, no cross-year reversal, 2601."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from fastapi.testclient import TestClient

from medical.world import Hospital, balance_of, insured_person, new_hospital, position, settle_body
from sscard import clock
from sscard.api.fast import FastRoute
from sscard.ledger import service as ledger
from support.city import City

NewId = Callable[..., str]


def test_worked_example_settles_end_to_end_and_the_ledger_agrees(city: City, hospital: Hospital,
                                                                   new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=200_000)
    pool_before = balance_of(city.db, "fund:pool:employee")
    answer = hospital.settle(settle_body(who, bill_no="EX-3.4"))
    split = answer["split"]
    assert (split["total_fen"], split["fund_paid_fen"], split["self_pay_fen"], split["own_expense_fen"],
            split["account_paid_fen"], split["cash_fen"]) == (2_000_000, 1_192_000, 508_000, 300_000, 200_000,
                                                              608_000)
    assert (split["out_of_catalogue_fen"], split["first_self_pay_fen"], split["in_scope_fen"],
            split["deductible_paid_fen"]) == (300_000, 50_000, 1_650_000, 160_000)
    assert answer["setl_id"] and answer["identified_by"] == "card" and answer["replayed"] is False
    assert answer["accumulators_after"] == {"year": clock.local_date().year, "fund_paid_fen": 1_192_000,
                                            "deductible_paid_fen": 160_000, "in_scope_fen": 1_650_000,
                                            "account_spent_fen": 200_000, "admissions": 1, "settlements": 1}
    assert answer["account_balance_after_fen"] == 0
    after = position(city.db, who, hospital.code)
    assert balance_of(city.db, f"person:{who.person_id}:medical") == 0
    assert balance_of(city.db, f"institution:{hospital.code}:payable") == 1_192_000 + 200_000
    assert pool_before - balance_of(city.db, "fund:pool:employee") == 1_192_000
    assert after["zero_sum"]
    with city.db.unit_of_work() as s:
        assert ledger.accounts_not_matching_journal(s) == []
    stored = hospital.client.get(f"/api/v1/medical/settlements/{answer['setl_id']}", headers=hospital.headers)
    assert stored.status_code == 200 and stored.json()["split"]["fund_paid_fen"] == 1_192_000


@pytest.mark.parametrize(("card", "by", "expected"), [
    ("normal", "card", None),
    ("normal", "id_number", "ID_SETTLEMENT_NOT_ALLOWED"),
    ("formal_loss", "id_number", None),
    ("formal_loss", "card", "CARD_NOT_NORMAL"),
    ("not_made", "id_number", None),
    ("none", "id_number", None),
    ("temp_loss", "card", "CARD_NOT_NORMAL"),
    ("temp_loss", "id_number", "CARD_NOT_NORMAL"),
    ("sealed", "card", "CARD_NOT_NORMAL"),
])
def test_eligibility_follows_the_card_state(city: City, hospital: Hospital, new_id: NewId, card: str, by: str,
                                            expected: str | None) -> None:
    who = insured_person(city, new_id, card=card)
    ident = {"card_no": who.card_no} if by == "card" else {"id_number": who.id_number}
    response = hospital.post("eligibility", {"msg_id": "E1", **ident})
    if expected is None:
        assert response.status_code == 200, response.text
        assert response.json()["identified_by"] == by
        assert response.json()["id_number_masked"].count("*") == 10
        settled = hospital.post("settlements", settle_body(who, by=by))
        assert settled.status_code == 200, settled.text
    else:
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == expected
        refused = hospital.post("settlements", settle_body(who, by=by))
        assert refused.json()["error"]["code"] == expected


def test_a_repeated_message_id_returns_the_first_answer_and_pays_once(city: City, hospital: Hospital,
                                                                       new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    body = settle_body(who, msg_id="MSG-REPLAY-1")
    first = hospital.settle(body)
    once = position(city.db, who, hospital.code)
    again = hospital.settle(body)
    assert again["replayed"] is True
    assert {**again, "replayed": False} == first
    assert position(city.db, who, hospital.code) == once
    changed = {**body, "bill": {**body["bill"], "bill_no": "other"}}
    reused = hospital.post("settlements", changed)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "MESSAGE_ID_REUSED"
    assert position(city.db, who, hospital.code) == once


def test_2207_is_served_by_its_plain_route_documented_and_labelled_by_its_template(city: City, client: TestClient,
                                                                                    hospital: Hospital,
                                                                                    new_id: NewId) -> None:
    first = client.app.router.routes[0]  # type: ignore[attr-defined]
    assert isinstance(first, FastRoute) and first.path == "/api/v1/medical/settlements"
    who = insured_person(city, new_id, balance_fen=50_000)
    hospital.settle(settle_body(who))
    assert 'route="/api/v1/medical/settlements",status="200"' in client.get("/metrics").text
    spec = client.get("/openapi.json").json()["paths"]["/api/v1/medical/settlements"]["post"]
    assert spec["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SettleIn")
    assert hospital.post("settlements/extra", settle_body(who)).status_code in (404, 405)  # no prefix match


def test_pre_settlement_returns_the_split_and_changes_nothing(city: City, hospital: Hospital,
                                                               new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=200_000)
    before = position(city.db, who, hospital.code)
    trial = hospital.post("pre-settlements", settle_body(who))
    assert trial.status_code == 200, trial.text
    assert trial.json()["setl_id"] is None and trial.json()["split"]["fund_paid_fen"] == 1_192_000
    assert position(city.db, who, hospital.code) == before
    real = hospital.settle(settle_body(who))
    assert real["split"] == trial.json()["split"]


def test_reversal_restores_every_balance_and_accumulator_and_is_idempotent(city: City, hospital: Hospital,
                                                                          new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=150_000)
    hospital.settle(settle_body(who, visit_type="outpatient", lines=[{"code": "EX-D-A001", "quantity": 3,
                                                                      "unit_price_fen": 2000}]))
    before = position(city.db, who, hospital.code)
    pool_before = balance_of(city.db, "fund:pool:employee")
    account_before = balance_of(city.db, f"person:{who.person_id}:medical")
    payable_before = balance_of(city.db, f"institution:{hospital.code}:payable")
    answer = hospital.settle(settle_body(who))
    assert position(city.db, who, hospital.code) != before
    reversed_ = hospital.post("reversals", {"msg_id": "REV-1", "setl_id": answer["setl_id"]})
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["fund_returned_fen"] == answer["split"]["fund_paid_fen"]
    assert position(city.db, who, hospital.code)["accumulators"] == before["accumulators"]
    assert balance_of(city.db, f"person:{who.person_id}:medical") == account_before
    assert balance_of(city.db, f"institution:{hospital.code}:payable") == payable_before
    assert pool_before == balance_of(city.db, "fund:pool:employee")
    twice = hospital.post("reversals", {"msg_id": "REV-2", "setl_id": answer["setl_id"]})
    assert twice.status_code == 200 and twice.json()["reversal_msg_id"] == "REV-1"
    replay = hospital.post("reversals", {"msg_id": "REV-1", "setl_id": answer["setl_id"]})
    assert replay.json()["replayed"] is True
    assert position(city.db, who, hospital.code)["accumulators"] == before["accumulators"]
    assert position(city.db, who, hospital.code)["zero_sum"]


def test_a_settlement_of_last_year_cannot_be_reversed(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    last_year = dt.date(clock.local_date().year - 1, 12, 30)
    answer = hospital.settle(settle_body(who, day=last_year))
    assert answer["accumulators_after"]["year"] == last_year.year
    refused = hospital.post("reversals", {"msg_id": "REV-X", "setl_id": answer["setl_id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "REVERSAL_CROSS_YEAR"
    assert position(city.db, who, hospital.code, last_year.year)["accumulators"]["settlements"] == 1


def test_after_new_year_this_years_settlement_can_no_longer_be_reversed(city: City, client: TestClient,
                                                                         new_id: NewId) -> None:
    hospital = new_hospital(city, client)
    who = insured_person(city, new_id)
    answer = hospital.settle(settle_body(who))
    next_year = dt.datetime(clock.local_date().year + 1, 1, 2, 4, 0, tzinfo=dt.UTC)
    with time_machine.travel(next_year, tick=False):
        refused = hospital.post("reversals", {"msg_id": "REV-NY", "setl_id": answer["setl_id"]})
    assert refused.json()["error"]["code"] == "REVERSAL_CROSS_YEAR"


def test_partial_refund_is_reverse_then_settle_the_rest(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=200_000)
    full = hospital.settle(settle_body(who))
    hospital.post("reversals", {"msg_id": "PR-REV", "setl_id": full["setl_id"]})
    rest = hospital.settle(settle_body(who, lines=[{"code": "EX-S-A002", "quantity": 1, "unit_price_fen": 600000}]))
    fresh = insured_person(city, new_id, balance_fen=200_000)
    alone = hospital.settle(settle_body(fresh, lines=[{"code": "EX-S-A002", "quantity": 1,
                                                       "unit_price_fen": 600000}]))
    assert rest["split"]["fund_paid_fen"] == alone["split"]["fund_paid_fen"]
    assert rest["accumulators_after"] == alone["accumulators_after"]


def test_void_2601_reverses_a_settlement_or_blocks_a_message_that_never_arrived(city: City, hospital: Hospital,
                                                                               new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=10_000)
    before = position(city.db, who, hospital.code)
    body = settle_body(who, msg_id="LOST-1")
    hospital.settle(body)
    voided = hospital.post("voids", {"msg_id": "V-1", "original_msg_id": "LOST-1"})
    assert voided.status_code == 200 and voided.json()["outcome"] == "reversed", voided.text
    assert position(city.db, who, hospital.code)["accumulators"] == before["accumulators"]
    never = hospital.post("voids", {"msg_id": "V-2", "original_msg_id": "NEVER-1"})
    assert never.json()["outcome"] == "voided_unknown"
    late = hospital.post("settlements", settle_body(who, msg_id="NEVER-1"))
    assert late.status_code == 409 and late.json()["error"]["code"] == "MESSAGE_ID_REUSED"
    assert position(city.db, who, hospital.code)["accumulators"] == before["accumulators"]


def test_pharmacy_settles_pharmacy_bills_from_the_account_only(city: City, client: TestClient,
                                                                new_id: NewId) -> None:
    pharmacy = new_hospital(city, client, level=None, kind="pharmacy", services=("pharmacy",))
    who = insured_person(city, new_id, balance_fen=5_000)
    answer = pharmacy.settle(settle_body(who, visit_type="pharmacy", lines=[
        {"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]))
    assert answer["split"]["fund_paid_fen"] == 0 and answer["split"]["account_paid_fen"] == 4000
    inpatient = pharmacy.post("settlements", settle_body(who))
    assert inpatient.status_code == 403 and inpatient.json()["error"]["code"] == "SERVICE_NOT_ALLOWED"


def test_resident_outpatient_has_no_account_and_an_annual_deductible(city: City, hospital: Hospital,
                                                                     new_id: NewId) -> None:
    who = insured_person(city, new_id, scheme="resident", person_type="resident")
    one = hospital.settle(settle_body(who, visit_type="outpatient", lines=[
        {"code": "EX-D-A001", "quantity": 4, "unit_price_fen": 2000}]))
    two = hospital.settle(settle_body(who, visit_type="outpatient", lines=[
        {"code": "EX-D-A001", "quantity": 4, "unit_price_fen": 2000}]))
    assert one["split"]["deductible_paid_fen"] == 8000 and two["split"]["deductible_paid_fen"] == 2000
    assert one["split"]["account_paid_fen"] == 0 and two["accumulators_after"]["deductible_paid_fen"] == 10000
