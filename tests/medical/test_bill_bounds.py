"""Money bounds: a bill priced beyond the policy's maxima is refused BILL_AMOUNT_EXCESSIVE (422) on 2206 and
2207 with nothing written; absurd numbers stop at the request schema; bill line names and line counts are
bounded; reconciliation, the dashboard and the ledger sums stay exact with extreme but allowed amounts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medical.world import Hospital, insured_person, position, settle_body
from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.portal import dashboard
from support.city import PASSWORD, City
from web.helpers import web_client

NewId = Callable[..., str]
HUGE = 10**18


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def test_a_line_priced_ten_to_the_eighteen_is_refused_and_changes_nothing(
        city: City, client: TestClient, hospital: Hospital, new_id: NewId) -> None:
    """The penetration test's replay: one 2207 line with unit_price_fen 10^18."""
    who = insured_person(city, new_id, balance_fen=50_000)
    before = position(city.db, who, hospital.code)
    line = [{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": HUGE}]
    for path in ("pre-settlements", "settlements"):
        r = hospital.post(path, settle_body(who, lines=line))
        assert r.status_code == 422, r.text
        assert _code(r) == "BILL_AMOUNT_EXCESSIVE"
        assert r.json()["error"]["context"]["limit"] == "max_unit_price_fen"
    assert position(city.db, who, hospital.code) == before
    # the same person still settles an ordinary bill, and reconciliation of the day balances
    ok = hospital.settle(settle_body(who, visit_type="outpatient",
                                     lines=[{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": 2000}]))
    s = ok["split"]
    totals = {"msg_id": uuid.uuid4().hex, "day": clock.local_date().isoformat(), "scheme": "employee",
              "count": 1, "total_fen": s["total_fen"], "fund_fen": s["fund_paid_fen"],
              "account_fen": s["account_paid_fen"], "cash_fen": s["cash_fen"]}
    run = hospital.post("reconciliation/totals", totals)
    assert run.status_code == 200, run.text
    assert run.json()["centre"]["count"] == 1


def test_the_dashboard_still_renders_after_the_refused_bill(sqlite_city: City, new_id: NewId) -> None:
    from medical.world import new_hospital
    from sscard.api.app import create_app
    api = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
    hospital = new_hospital(sqlite_city, api)
    who = insured_person(sqlite_city, new_id, balance_fen=50_000)
    for quantity in (1, 9):
        r = hospital.post("settlements", settle_body(who, lines=[
            {"code": "EX-D-A001", "quantity": quantity, "unit_price_fen": HUGE}]))
        assert r.status_code == 422 and _code(r) == "BILL_AMOUNT_EXCESSIVE", r.text
    page = web_client(sqlite_city, "t-admin").http.get("/dashboard")
    assert page.status_code == 200, page.text[:500]
    assert all(d.total_fen < HUGE for d in dashboard.settlements_by_day(sqlite_city.db, SYSTEM_ACTOR))


# ------------------------------------------------------------------------------ the policy's maxima, per visit type


def _line(unit: int, quantity: int | str = 1, code: str = "EX-D-A001", **kw: Any) -> dict[str, Any]:
    return {"code": code, "quantity": quantity, "unit_price_fen": unit, **kw}


@pytest.mark.parametrize(("visit_type", "lines", "limit"), [
    ("outpatient", [_line(100_000_000, 3), _line(100_000_000, 3)], "max_bill_fen"),  # 6e8 > outpatient 5e8
    ("inpatient", [_line(100_000_000, 6)], "max_line_fen"),  # one line of 6e8 > 5e8
    ("inpatient", [_line(100_000_001)], "max_unit_price_fen"),
    ("inpatient", [_line(1, 100_001)], "max_quantity"),
    ("inpatient", [_line(100_000_000, 4)] * 13, "max_bill_fen"),  # 5.2e9 > inpatient 5e9
])
def test_each_maximum_of_the_example_policy_refuses_the_bill(city: City, hospital: Hospital, new_id: NewId,
                                                             visit_type: str, lines: list[dict[str, Any]],
                                                             limit: str) -> None:
    who = insured_person(city, new_id, balance_fen=10_000)
    before = position(city.db, who, hospital.code)
    for path in ("pre-settlements", "settlements"):
        r = hospital.post(path, settle_body(who, visit_type=visit_type, lines=lines))
        assert r.status_code == 422, r.text
        assert (_code(r), r.json()["error"]["context"]["limit"]) == ("BILL_AMOUNT_EXCESSIVE", limit)
    assert position(city.db, who, hospital.code) == before


def test_the_visit_type_decides_the_maximum(city: City, hospital: Hospital, new_id: NewId) -> None:
    """6e8 fen is beyond an outpatient bill's maximum, within an inpatient one's."""
    who = insured_person(city, new_id)
    lines = [_line(100_000_000, 3), _line(100_000_000, 3)]
    assert hospital.post("pre-settlements", settle_body(who, visit_type="outpatient", lines=lines)).status_code == 422
    r = hospital.post("pre-settlements", settle_body(who, visit_type="inpatient", lines=lines))
    assert r.status_code == 200, r.text
    assert r.json()["split"]["total_fen"] == 600_000_000


def test_more_lines_than_the_policy_allows_are_refused(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    lines = [_line(100)] * 501  # the example allows 500 lines on an outpatient bill, 2000 on an inpatient one
    r = hospital.post("settlements", settle_body(who, visit_type="outpatient", lines=lines))
    assert r.status_code == 422 and _code(r) == "BILL_LINES_EXCESSIVE", r.text
    assert hospital.post("pre-settlements", settle_body(who, visit_type="inpatient", lines=lines)).status_code == 200


def _example_ended(city: City, policy_id: str, limits: Any) -> tuple[TestClient, Hospital, dt.date, Any]:
    """A hospital, and the example policy ended yesterday with its successor from today (not yet stored) that
    differs only in its bill limits."""
    from medical.world import new_hospital
    from sscard.api.app import create_app
    from sscard.medical import config
    api = TestClient(create_app(city.db), raise_server_exceptions=False)
    hospital = new_hospital(city, api)
    today = clock.local_date()
    example = next(p for p in config.list_policies(city.db, city.admin) if p.policy_id == "EXAMPLE-2013")
    config.end_policy(city.db, city.admin, "EXAMPLE-2013", today - dt.timedelta(days=1))
    successor = example.model_copy(update={"policy_id": policy_id, "effective_from": today, "effective_to": None,
                                           "bill_limits": limits})
    return api, hospital, today, successor


def test_the_maxima_are_effective_dated(fresh_city: City, new_id: NewId) -> None:
    """A successor policy with lower maxima: a bill dated before it is split, the same bill after it refused."""
    from sscard.medical.policy import BillLimits
    api, hospital, today, successor = _example_ended(fresh_city, "STRICT", BillLimits(max_unit_price_fen=1_000))
    admin = _admin_headers(api)
    put = api.put("/api/v1/medical/admin/policies", json=successor.model_dump(mode="json"), headers=admin)
    assert put.status_code == 200, put.text
    who = insured_person(fresh_city, new_id)
    lines = [_line(5_000)]
    yesterday = hospital.post("pre-settlements", settle_body(who, lines=lines, day=today - dt.timedelta(days=1)))
    assert yesterday.status_code == 200, yesterday.text
    now = hospital.post("pre-settlements", settle_body(who, lines=lines, day=today))
    assert now.status_code == 422 and _code(now) == "BILL_AMOUNT_EXCESSIVE"
    assert now.json()["error"]["context"] == {"limit": "max_unit_price_fen", "maximum": 1000, "line": 1,
                                              "visit_type": "inpatient"}


def _admin_headers(api: TestClient) -> dict[str, str]:
    token = api.post("/api/v1/auth/token", json={"username": "t-admin", "password": PASSWORD}).json()
    return {"Authorization": "Bearer " + token["access_token"]}


@pytest.mark.parametrize("limits", [
    {"max_bill_fen": 10**12 + 1},  # beyond the structural ceiling
    {"max_unit_price_fen": 0},
    {"by_visit_type": {"outpatient": {"max_lines": 2001}}},
    {"max_quantity": "0"},
])
def test_a_policy_cannot_set_a_maximum_beyond_the_ceilings(city: City, client: TestClient,
                                                           limits: dict[str, Any]) -> None:
    from sscard.medical.loading import load_policy
    from sscard.medical.policy import Policy
    from sscard.medical.terms import VisitType
    policy = load_policy().policies[0].model_dump(mode="json")
    body = {**policy, "policy_id": "ZZ-LIMITS", "effective_from": "2999-01-01", "bill_limits": limits}
    r = client.put("/api/v1/medical/admin/policies", json=body, headers=_admin_headers(client))
    assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR", r.text
    assert any(e["loc"][:2] == ["body", "bill_limits"] for e in r.json()["error"]["errors"]), r.text
    at_ceiling = Policy.model_validate({**body, "bill_limits": {"max_bill_fen": 10**12, "max_lines": 2000}})
    assert at_ceiling.limits_for(VisitType.OUTPATIENT).max_bill_fen == 10**12


# ------------------------------------------------------------------------ structural bounds of the request schema


@pytest.mark.parametrize("line", [
    _line(2**63),  # beyond a BIGINT: never reaches the arithmetic
    _line(1, "1e30"),
    _line(1, amount_fen=2**63),
    _line(1, name="药" * 201),
])
def test_absurd_lines_stop_at_the_schema(city: City, hospital: Hospital, new_id: NewId,
                                         line: dict[str, Any]) -> None:
    who = insured_person(city, new_id, balance_fen=10_000)
    before = position(city.db, who, hospital.code)
    for path in ("pre-settlements", "settlements"):
        r = hospital.post(path, settle_body(who, lines=[line]))
        assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR", r.text
    assert position(city.db, who, hospital.code) == before


def test_two_thousand_lines_of_five_thousand_character_names_are_refused_unstored(
        city: City, hospital: Hospital, new_id: NewId) -> None:
    """The penetration test's 10 MB bill (stored as ~21 MB before): refused before it is read (413, the body
    limit); a bill under that limit with over-long names is refused at the schema; no message row either way."""
    from sqlalchemy import func, select

    from sscard.medical.models import Message
    who = insured_person(city, new_id, balance_fen=10_000)
    with city.db.unit_of_work() as s:
        messages = s.execute(select(func.count()).select_from(Message)).scalar_one()
    huge = hospital.post("settlements", settle_body(who, lines=[_line(100, name="名" * 5000)] * 2000))
    assert huge.status_code == 413 and _code(huge) == "REQUEST_TOO_LARGE"
    r = hospital.post("settlements", settle_body(who, lines=[_line(100, name="名" * 5000)] * 100))  # ~1.5 MB
    assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR"
    assert any(e["loc"][-1] == "name" for e in r.json()["error"]["errors"])
    too_many = hospital.post("settlements", settle_body(who, lines=[_line(100)] * 2001))
    assert too_many.status_code == 422 and _code(too_many) == "VALIDATION_ERROR"
    with city.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == messages


# ------------------------------------------------------------------- aggregates with extreme but allowed amounts


def test_reconciliation_dashboard_and_ledger_sums_stay_exact_at_the_ceilings(fresh_city: City,
                                                                            new_id: NewId) -> None:
    """Bills at the structural ceiling (10^12 fen each) settle, reconcile and add up on both databases; and the
    dashboard's sums stay exact even beyond a BIGINT (rows a column allows, written directly)."""
    from sqlalchemy import select
    from sqlalchemy.orm import make_transient

    from sscard.ledger import service as ledger
    from sscard.medical import config
    from sscard.medical.models import Settlement
    from sscard.medical.policy import BillLimits
    _api, hospital, today, successor = _example_ended(fresh_city, "CEILINGS", BillLimits())
    config.put_policy(fresh_city.db, fresh_city.admin, successor)
    who = insured_person(fresh_city, new_id, balance_fen=10**6)
    ceiling = 10**12
    over = hospital.post("settlements", settle_body(who, lines=[_line(ceiling), _line(1)]))
    assert over.status_code == 422 and _code(over) == "BILL_AMOUNT_EXCESSIVE"
    answers = [hospital.settle(settle_body(who, lines=[_line(ceiling)])) for _ in range(3)]
    assert [a["split"]["total_fen"] for a in answers] == [ceiling] * 3
    sums = {k: sum(a["split"][f] for a in answers) for k, f in (
        ("total_fen", "total_fen"), ("fund_fen", "fund_paid_fen"), ("account_fen", "account_paid_fen"),
        ("cash_fen", "cash_fen"))}
    run = hospital.post("reconciliation/totals", {"msg_id": "CEIL-1", "day": today.isoformat(),
                                                  "scheme": "employee", "count": 3, **sums})
    assert run.status_code == 200 and run.json()["result"] == "balanced", run.text
    details = [{"setl_id": a["setl_id"], "total_fen": a["split"]["total_fen"], "fund_fen": a["split"]["fund_paid_fen"],
                "account_fen": a["split"]["account_paid_fen"], "cash_fen": a["split"]["cash_fen"] + 1}
               for a in answers]
    unbalanced = hospital.post("reconciliation/totals", {"msg_id": "CEIL-2", "day": today.isoformat(),
                                                         "scheme": "employee", "count": 3,
                                                         **{**sums, "cash_fen": sums["cash_fen"] + 3}}).json()
    compared = hospital.post(f"reconciliation/{unbalanced['run_id']}/details", {"msg_id": "CEIL-3", "lines": details})
    assert compared.status_code == 200 and compared.json()["differences"] == 3, compared.text
    assert [d.total_fen for d in dashboard.settlements_by_day(fresh_city.db, SYSTEM_ACTOR)] == [3 * ceiling]
    with fresh_city.db.unit_of_work() as s:
        assert ledger.check_zero_sum(s).ok and ledger.accounts_not_matching_journal(s) == []
        # beyond anything a bill may carry: three rows of 4·10^18 fen sum past 2^63 on the dashboard
        first = s.execute(select(Settlement).where(Settlement.setl_id == answers[0]["setl_id"])).scalar_one()
        s.expunge(first)
        for n in range(3):
            make_transient(first)
            first.id = None  # type: ignore[assignment]
            first.setl_id, first.msg_id = f"XBIG{n}", f"XBIG{n}"
            first.presence_atc = None  # each chip cryptogram settles once: these copies carry none
            first.total_fen = first.own_expense_fen = first.cash_fen = 4 * 10**18
            first.fund_paid_fen = first.self_pay_fen = first.account_paid_fen = 0
            s.add(first)
            s.flush()
            s.expunge(first)
    assert [d.total_fen for d in dashboard.settlements_by_day(fresh_city.db, SYSTEM_ACTOR)] == [
        3 * ceiling + 12 * 10**18]
    web = web_client(fresh_city, "t-admin").http.get("/dashboard")
    assert web.status_code == 200


@pytest.mark.parametrize("change", [{"count": 2**40}, {"total_fen": 2**63}, {"cash_fen": 10**30}])
def test_reconciliation_totals_beyond_the_columns_are_refused_with_a_code(hospital: Hospital,
                                                                         change: dict[str, int]) -> None:
    body = {"msg_id": uuid.uuid4().hex, "day": clock.local_date().isoformat(), "scheme": "employee", "count": 0,
            "total_fen": 0, "fund_fen": 0, "account_fen": 0, "cash_fen": 0, **change}
    r = hospital.post("reconciliation/totals", body)
    assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR", r.text
    assert hospital.post("reconciliation/totals", {**body, **dict.fromkeys(change, 0)}).status_code == 200
