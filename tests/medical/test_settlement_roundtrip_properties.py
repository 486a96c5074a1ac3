"""Property (hypothesis, bounded): for any bill of catalogue items, settle then reverse returns the person's
accumulators, account, the institution's payable and the pool to exactly where they were."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medical.world import balance_of, insured_person, new_hospital, position, settle_body
from support.city import City

CODES = ["EX-D-A001", "EX-D-A002", "EX-D-B001", "EX-D-B002", "EX-D-C001", "EX-S-A002", "EX-S-B001", "EX-M-B001"]
line = st.fixed_dictionaries({"code": st.sampled_from(CODES), "quantity": st.integers(1, 20),
                              "unit_price_fen": st.integers(1, 2_000_000)})
visit = st.sampled_from(["outpatient", "inpatient"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=1, max_size=5), visit_type=visit, use_account=st.booleans(),
       balance=st.integers(0, 500_000), earlier=st.booleans())
def test_settle_then_reverse_returns_to_the_start(city: City, client: TestClient, new_id: Callable[..., str],
                                                  lines: list[dict[str, Any]], visit_type: str, use_account: bool,
                                                  balance: int, earlier: bool) -> None:
    hospital = new_hospital(city, client)
    who = insured_person(city, new_id, balance_fen=balance)
    if earlier:  # a settlement already this year: the accumulators do not start at zero
        hospital.settle(settle_body(who, visit_type="outpatient", lines=[{"code": "EX-D-A001", "quantity": 5,
                                                                          "unit_price_fen": 3000}]))
    before = position(city.db, who, hospital.code)
    credit = {c: balance_of(city.db, c) for c in ("fund:pool:employee", f"person:{who.person_id}:medical",
                                                   f"institution:{hospital.code}:payable")}
    body = settle_body(who, lines=lines, visit_type=visit_type)
    body["use_account"] = use_account
    answer = hospital.settle(body)
    split = answer["split"]
    assert split["fund_paid_fen"] + split["self_pay_fen"] + split["own_expense_fen"] == split["total_fen"]
    assert split["account_paid_fen"] <= balance and (use_account or split["account_paid_fen"] == 0)
    r = hospital.post("reversals", {"msg_id": "P-REV", "setl_id": answer["setl_id"]})
    assert r.status_code == 200, r.text
    assert position(city.db, who, hospital.code)["accumulators"] == before["accumulators"]
    assert {c: balance_of(city.db, c) for c in credit} == credit
    assert position(city.db, who, hospital.code)["zero_sum"]
