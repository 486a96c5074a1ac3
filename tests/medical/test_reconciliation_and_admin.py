"""Daily reconciliation with each kind of difference and its workflow; administrator edits audited; malformed
institution requests refused with stable 4xx codes and nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medical.world import Hospital, ensure_config, insured_person, position, settle_body
from sscard import clock
from sscard.audit import service as audit
from sscard.medical import config, reconciliation
from sscard.medical.catalogue import CatalogueItem
from sscard.medical.loading import load_policy
from support.city import PASSWORD, City

NewId = Callable[..., str]
LINES = [{"code": "EX-D-A001", "quantity": 10, "unit_price_fen": 2000}]


def _amounts(answer: dict[str, Any]) -> dict[str, Any]:
    s = answer["split"]
    return {"setl_id": answer["setl_id"], "total_fen": s["total_fen"], "fund_fen": s["fund_paid_fen"],
            "account_fen": s["account_paid_fen"], "cash_fen": s["cash_fen"]}


def _totals(lines: list[dict[str, Any]], msg_id: str) -> dict[str, Any]:
    return {"msg_id": msg_id, "day": clock.local_date().isoformat(), "scheme": "employee", "count": len(lines),
            **{k: sum(x[k] for x in lines) for k in ("total_fen", "fund_fen", "account_fen", "cash_fen")}}


def test_balanced_totals_need_no_details(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=1_000)
    ours = [_amounts(hospital.settle(settle_body(who, visit_type="outpatient", lines=LINES))) for _ in range(3)]
    r = hospital.post("reconciliation/totals", _totals(ours, "T-1"))
    assert r.status_code == 200, r.text
    assert (r.json()["result"], r.json()["stmt_rslt"]) == ("balanced", "000000")


def test_unbalanced_day_is_compared_line_by_line_into_each_kind_of_difference(
        city: City, client: TestClient, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=1_000)
    answers = [_amounts(hospital.settle(settle_body(who, visit_type="outpatient", lines=LINES))) for _ in range(3)]
    reversed_ = hospital.settle(settle_body(who, visit_type="outpatient", lines=LINES))
    hospital.post("reversals", {"msg_id": "RC-REV", "setl_id": reversed_["setl_id"]})
    theirs = [answers[0], {**answers[1], "cash_fen": answers[1]["cash_fen"] + 1},  # amount differs
              {**answers[0], "setl_id": "20990101UNKNOWN1"}]  # extra at hospital; answers[2] extra at centre
    run = hospital.post("reconciliation/totals", _totals(theirs, "T-2")).json()
    assert run["result"] == "unbalanced" and run["centre"]["count"] == 3  # the reversed one does not count
    details = hospital.post(f"reconciliation/{run['run_id']}/details", {"msg_id": "D-2", "lines": theirs})
    assert details.status_code == 200, details.text
    assert details.json()["differences"] == 3
    admin = {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={
        "username": "t-admin", "password": PASSWORD}).json()["access_token"]}
    diffs = client.get(f"/api/v1/medical/admin/reconciliation/{run['run_id']}/differences", headers=admin).json()
    assert {d["setl_id"]: d["kind"] for d in diffs} == {answers[1]["setl_id"]: "amount_differs",
                                                         answers[2]["setl_id"]: "extra_at_centre",
                                                         "20990101UNKNOWN1": "extra_at_hospital"}
    first = diffs[0]["id"]
    skip = client.post(f"/api/v1/medical/admin/reconciliation/differences/{first}/resolve",
                       json={"status": 2, "note": "跳步"}, headers=admin)
    assert skip.status_code == 409 and skip.json()["error"]["code"] == "RECON_STATE_INVALID"
    for status in (1, 2):
        ok = client.post(f"/api/v1/medical/admin/reconciliation/differences/{first}/resolve",
                         json={"status": status, "note": "已与医院核对"}, headers=admin)
        assert ok.status_code == 200 and ok.json()["status"] == status
    rows = list(csv.reader(io.StringIO(hospital.client.get(
        f"/api/v1/medical/reconciliation/{run['run_id']}/result.csv", headers=hospital.headers).text)))
    assert rows[1][4] == "details_compared" and len(rows) == 6 + 3
    again = hospital.post(f"reconciliation/{run['run_id']}/details", {"msg_id": "D-3", "lines": theirs})
    assert again.json()["error"]["code"] == "RECON_STATE_INVALID"
    rerun = hospital.post("reconciliation/totals", _totals(answers, "T-3")).json()
    assert rerun["result"] == "balanced"  # a forced re-reconciliation supersedes the first run


def test_catalogue_and_policy_edits_are_effective_dated_and_audited(city: City) -> None:
    ensure_config(city.db)  # the example policy (open-ended from 2013) must be there, whichever test ran first
    item = CatalogueItem(code="ZZ-TEST-1", name="测试项目", item_type="drug", catalogue_class="乙",
                         price_cap_fen=100, effective_from=clock.local_date() + dt.timedelta(days=1))
    config.put_catalogue_item(city.db, city.admin, item)
    with pytest.raises(Exception) as overlap:
        config.put_catalogue_item(city.db, city.admin, item.model_copy(update={"effective_from":
                                                                               clock.local_date()}))
    assert getattr(overlap.value, "code", None) == "CATALOGUE_INVALID"
    assert [h.action for h in audit.history(city.db, city.admin, "medical_catalogue", "ZZ-TEST-1")] == [
        "medical.catalogue.put"]
    policy = load_policy().policies[0].model_copy(update={"policy_id": "ZZ-P", "effective_from":
                                                          clock.local_date().replace(year=2999)})
    with pytest.raises(Exception) as clash:
        config.put_policy(city.db, city.admin, policy)  # the example runs open-ended from 2013
    assert getattr(clash.value, "code", None) == "POLICY_OVERLAP"
    with pytest.raises(Exception) as denied:
        config.put_policy(city.db, city.counter, policy)
    assert getattr(denied.value, "code", None) == "PERMISSION_DENIED"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"msg_id": "bad id!", "card_no": "X"}, 422, "VALIDATION_ERROR"),
    ({"msg_id": "M1"}, 422, "IDENTIFICATION_INVALID"),
    ({"msg_id": "M1", "card_no": "NOPE00000000"}, 404, "CARD_NOT_FOUND"),
    ({"msg_id": "M1", "id_number": "123"}, 422, None),
])
def test_malformed_eligibility_requests_get_stable_codes(hospital: Hospital, body: dict[str, Any], status: int,
                                                         code: str | None) -> None:
    r = hospital.post("eligibility", body)
    assert r.status_code == status, r.text
    assert code is None or r.json()["error"]["code"] == code


def test_malformed_settlements_are_refused_and_write_nothing(city: City, hospital: Hospital,
                                                            new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=1_000)
    before = position(city.db, who, hospital.code)
    cases: list[tuple[dict[str, Any], int, str]] = [
        (settle_body(who, lines=[{"code": "NOT-IN-CATALOGUE", "quantity": 1, "unit_price_fen": 1}]), 422,
         "CATALOGUE_ITEM_UNKNOWN"),
        (settle_body(who, lines=[{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": 1.5}]), 422,
         "VALIDATION_ERROR"),
        (settle_body(who, day=clock.local_date().replace(year=clock.local_date().year + 1)), 422,
         "BILL_DATE_INVALID"),
        (settle_body(who, total_fen=1), 422, "BILL_INVALID"),
        (settle_body(who, visit_type="pharmacy"), 403, "SERVICE_NOT_ALLOWED"),
        ({**settle_body(who), "terminal_no": "T-NONE"}, 422, "TERMINAL_UNKNOWN"),
        ({**settle_body(who), "extra": 1}, 422, "VALIDATION_ERROR"),
    ]
    for body, status, code in cases:
        r = hospital.post("settlements", body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert position(city.db, who, hospital.code) == before
    r = hospital.client.post("/api/v1/medical/settlements", json=settle_body(who), headers={"X-Institution-Key": "x"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INSTITUTION_AUTH_FAILED")
    r = hospital.post("reversals", {"msg_id": "NF", "setl_id": "NOSUCH"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "SETTLEMENT_NOT_FOUND")


def test_reconciliation_csv_is_only_for_the_own_institution(city: City, client: TestClient, hospital: Hospital,
                                                            new_id: NewId) -> None:
    from medical.world import new_hospital

    run = hospital.post("reconciliation/totals", _totals([], "T-OWN")).json()
    other = new_hospital(city, client)
    r = other.client.get(f"/api/v1/medical/reconciliation/{run['run_id']}/result.csv", headers=other.headers)
    assert r.status_code == 404
    assert reconciliation.run_for(city.db, city.admin, run["run_id"]).result == "balanced"
