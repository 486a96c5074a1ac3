"""Property tests: for any bill, policy and person the split adds up exactly, nothing is negative, the fund stays
within the annual cap, the personal account within its balance and its scheme's rights, and it is deterministic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.engine import person_after, settle
from sscard.medical.engine_schemas import Bill, BillLine, PersonContext, Split
from sscard.medical.policy import Policy
from sscard.medical.terms import FundExclusion, Scheme

DAY = dt.date(2013, 6, 30)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

fen = st.integers(min_value=0, max_value=5_000_000)
bp = st.integers(min_value=0, max_value=10_000)


@st.composite
def catalogues(draw: st.DrawFn) -> Catalogue:
    rows = []
    for i in range(6):  # every code a bill may name (C0…C5) exists
        klass = draw(st.sampled_from(["甲", "乙", "丙"]))
        rows.append(CatalogueItem.model_validate({
            "code": f"C{i}", "name": f"item {i}", "item_type": draw(st.sampled_from(["drug", "service", "material"])),
            "catalogue_class": klass, "price_cap_fen": draw(st.none() | st.integers(min_value=0, max_value=200_000)),
            "yi_self_pay_bp": draw(st.none() | bp) if klass == "乙" else None}))
    return Catalogue(rows)


@st.composite
def ratio_bands(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=3_000_000), max_size=3)))
    return [{"up_to_fen": b, "ratio_bp": draw(bp)} for b in [*bounds, None]]


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    repeat = draw(st.none() | st.fixed_dictionaries({
        "factors_bp": st.lists(bp, min_size=1, max_size=4), "step_down_fen": st.integers(0, 50_000),
        "floor_fen": st.integers(0, 100_000), "annual_cap_fen": st.none() | fen}))
    the_rule = {
        "deductible_fen": draw(st.integers(0, 300_000)),
        "deductible_basis": draw(st.sampled_from(["per_visit", "annual"])),
        "repeat_admission": repeat, "ratio_bands": draw(ratio_bands()),
        "band_basis": draw(st.sampled_from(["bill", "year_to_date"])),
        "annual_cap_fen": draw(st.integers(0, 10_000_000)),
        "remote_reduction_bp": draw(st.dictionaries(st.sampled_from(["long_term", "referred", "unreferred"]), bp)),
        "account": draw(st.fixed_dictionaries({"enabled": st.booleans(), "pays_in_scope_share": st.booleans(),
                                               "pays_first_self_pay": st.booleans(),
                                               "pays_own_expense": st.booleans()})),
    }
    return Policy.model_validate({
        "policy_id": "P", "effective_from": dt.date(2013, 1, 1), "yi_self_pay_bp": draw(bp),
        "yi_self_pay_bp_by_item_type": draw(st.dictionaries(st.sampled_from(["drug", "service", "material"]), bp)),
        "rules": [the_rule]})


@st.composite
def bills(draw: st.DrawFn) -> Bill:
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        quantity = draw(st.integers(1, 50).map(Decimal) | st.decimals(min_value=Decimal("0.0001"),
                        max_value=Decimal(20), places=4, allow_nan=False, allow_infinity=False))
        lines.append(BillLine(code=f"C{draw(st.integers(0, 5))}", quantity=quantity,
                              unit_price_fen=draw(st.integers(0, 300_000)), out_of_catalogue=draw(st.booleans())))
    visit = draw(st.sampled_from(["outpatient", "inpatient", "pharmacy"]))
    return Bill.model_validate({
        "date": DAY, "visit_type": visit, "lines": lines,
        "hospital_level": draw(st.sampled_from(["community", "1", "2", "3"])),
        "remote": draw(st.sampled_from(["none", "long_term", "referred", "unreferred"])),
        "admission_no_in_year": draw(st.none() | st.integers(5, 8)) if visit == "inpatient" else None,
        "fund_exclusion": draw(st.none() | st.sampled_from(list(FundExclusion)))})


@st.composite
def persons(draw: st.DrawFn) -> PersonContext:
    employee = draw(st.booleans())
    return PersonContext(
        scheme=Scheme.EMPLOYEE if employee else Scheme.RESIDENT,
        person_type=draw(st.sampled_from(["in_service", "retired"])) if employee else "resident",
        fund_paid_ytd_fen=draw(st.integers(0, 12_000_000)), deductible_paid_ytd_fen=draw(fen),
        in_scope_ytd_fen=draw(st.integers(0, 4_000_000)),
        account_balance_fen=draw(st.integers(0, 1_000_000)) if employee else 0,
        admissions_this_year=draw(st.integers(0, 4)))


def _every_int(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [i for v in value.values() for i in _every_int(v)]
    if isinstance(value, list):
        return [i for v in value for i in _every_int(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _check_split(split: Split, bill: Bill, policy: Policy, who: PersonContext) -> None:
    rule = policy.rules[0]
    assert split.total_fen == bill.lines_total_fen
    assert (split.out_of_catalogue_fen + split.over_price_cap_fen + split.fund_excluded_fen
            + split.first_self_pay_fen + split.in_scope_fen) == split.total_fen
    assert (split.deductible_paid_fen + split.fund_paid_fen + split.copay_fen
            + split.over_annual_cap_fen) == split.in_scope_fen
    assert split.fund_paid_fen + split.self_pay_fen + split.own_expense_fen == split.total_fen
    assert split.account_paid_fen + split.cash_fen == split.patient_total_fen == split.self_pay_fen \
        + split.own_expense_fen
    assert split.fund_paid_fen + split.account_paid_fen + split.cash_fen == split.total_fen
    for x in split.lines:
        assert (x.out_of_catalogue_fen + x.over_price_cap_fen + x.fund_excluded_fen + x.first_self_pay_fen
                + x.in_scope_fen) == x.amount_fen
    assert sum(b.amount_fen for b in split.bands) == split.in_scope_fen - split.deductible_paid_fen
    assert min(_every_int(split.model_dump())) >= 0, "no part is negative"
    remaining = max(0, rule.annual_cap_fen - who.fund_paid_ytd_fen)
    assert split.fund_paid_fen <= remaining
    assert split.account_paid_fen <= who.account_balance_fen
    assert split.account_balance_after_fen == who.account_balance_fen - split.account_paid_fen >= 0
    may_use_account = who.scheme is Scheme.EMPLOYEE and rule.account.enabled
    if not may_use_account or split.fund_excluded_fen:
        assert split.account_paid_fen == 0
    if not rule.account.pays_own_expense:
        assert split.account_paid_own_expense_fen == 0
    if split.fund_excluded_fen:
        assert split.fund_paid_fen == 0 and split.fund_excluded_fen == split.total_fen


@SETTINGS
@given(cat=catalogues(), pol=policies(), the_bill=bills(), who=persons())
def test_any_split_adds_up_and_respects_caps_balances_and_scheme(cat: Catalogue, pol: Policy, the_bill: Bill,
                                                                 who: PersonContext) -> None:
    split = settle(the_bill, pol, cat, who)
    _check_split(split, the_bill, pol, who)
    assert settle(the_bill, pol, cat, who) == split, "deterministic"
    reordered = the_bill.model_copy(update={"lines": list(reversed(the_bill.lines))})
    again = settle(reordered, pol, cat, who)
    assert again.model_dump(exclude={"lines"}) == split.model_dump(exclude={"lines"}), "line order is irrelevant"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cat=catalogues(), pol=policies(), the_bills=st.lists(bills(), min_size=2, max_size=5), who=persons())
def test_a_year_of_bills_never_passes_the_cap_nor_empties_the_account_below_zero(
        cat: Catalogue, pol: Policy, the_bills: list[Bill], who: PersonContext) -> None:
    start = who
    for the_bill in the_bills:
        the_bill = the_bill.model_copy(update={"admission_no_in_year": None})
        split = settle(the_bill, pol, cat, who)
        _check_split(split, the_bill, pol, who)
        who = person_after(who, split)
        assert who.account_balance_fen >= 0
        assert who.fund_paid_ytd_fen <= max(pol.rules[0].annual_cap_fen, start.fund_paid_ytd_fen)
