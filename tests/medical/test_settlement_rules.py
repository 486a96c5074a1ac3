"""Each settlement rule in isolation: catalogue classes, price caps, 乙类 self-pay, deductibles, bands, the annual
cap, the personal account, remote care, visit types, fund exclusions, effective dates and rounding."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from settlement_builders import DAY, bill, catalogue, line, person, policy, rule, run

from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.engine import person_after, settle
from sscard.medical.engine_schemas import BillLine
from sscard.medical.errors import (
    BillInvalid,
    CatalogueItemUnknown,
    PersonContextInvalid,
    PolicyMissing,
    PolicyRuleMissing,
)
from sscard.medical.loading import load_catalogue, load_policy
from sscard.medical.policy import PolicyBook

# ---- bill decomposition -------------------------------------------------------------------------------------


def test_bing_class_is_all_own_expense_and_never_reaches_the_fund() -> None:
    split = run(bill(line("BING", 10_000), line("JIA", 5_000)))
    assert (split.out_of_catalogue_fen, split.in_scope_fen, split.fund_paid_fen) == (10_000, 5_000, 5_000)
    assert split.own_expense_fen == 10_000 and split.self_pay_fen == 0


def test_a_line_marked_out_of_catalogue_is_own_expense_without_a_catalogue_row() -> None:
    split = run(bill(line("HOSPITAL-OWN-42", 7_700, out_of_catalogue=True)))
    assert split.out_of_catalogue_fen == 7_700 and split.lines[0].catalogue_class == "丙"
    assert split.fund_paid_fen == 0


def test_an_unknown_code_is_refused_rather_than_silently_self_paid() -> None:
    with pytest.raises(CatalogueItemUnknown) as caught:
        run(bill(line("TYPO", 100)))
    assert caught.value.code == "CATALOGUE_ITEM_UNKNOWN"


def test_the_part_above_the_unit_price_cap_is_own_expense() -> None:
    split = run(bill(line("JIA-CAP", 18_000, quantity=3)))  # 6,000 a unit against a cap of 5,000
    assert (split.over_price_cap_fen, split.in_scope_fen) == (3_000, 15_000)
    assert split.own_expense_fen == 3_000


def test_price_cap_with_a_fractional_quantity_rounds_half_up() -> None:
    # 0.5 × 5,001 = 2,500.5 → 2,501 billed; 0.5 × 5,000 cap = 2,500 allowed → 1 fen over the cap
    split = run(bill(line("JIA-CAP", 5_001, quantity="0.5")))
    assert (split.total_fen, split.over_price_cap_fen, split.in_scope_fen) == (2_501, 1, 2_500)


def test_yi_class_first_self_pay_uses_the_policy_rate() -> None:
    split = run(bill(line("YI", 10_000)), rule(ratio_bp=0))
    assert (split.first_self_pay_fen, split.in_scope_fen) == (1_000, 9_000)
    assert split.lines[0].yi_self_pay_bp == 1000


def test_yi_class_item_rate_beats_item_type_rate_beats_policy_rate() -> None:
    by_type = {"drug": 3000, "material": 500}
    split = run(bill(line("YI", 10_000), line("YI-OWN", 10_000)), yi_self_pay_bp_by_item_type=by_type)
    assert [x.first_self_pay_fen for x in split.lines] == [3_000, 2_000]


def test_yi_class_self_pay_is_taken_after_the_price_cap() -> None:
    split = run(bill(line("YI-CAP", 12_000)))  # cap 10,000: 2,000 over, 10 % of 10,000 = 1,000
    assert (split.over_price_cap_fen, split.first_self_pay_fen, split.in_scope_fen) == (2_000, 1_000, 9_000)


@pytest.mark.parametrize(("amount", "self_pay"), [(5, 1), (4, 0), (15, 2), (14, 1)])
def test_yi_class_self_pay_rounds_half_up_per_line(amount: int, self_pay: int) -> None:
    assert run(bill(line("YI", amount))).first_self_pay_fen == self_pay


# ---- deductible ---------------------------------------------------------------------------------------------


def test_deductible_is_paid_before_the_fund_and_never_exceeds_the_in_scope_amount() -> None:
    split = run(bill(line("JIA", 100_000)), rule(deductible_fen=160_000, ratio_bp=8000))
    assert (split.deductible_due_fen, split.deductible_paid_fen, split.fund_paid_fen) == (160_000, 100_000, 0)
    assert split.self_pay_fen == 100_000


@pytest.mark.parametrize(("admission", "due"), [(1, 160_000), (2, 120_000), (3, 80_000), (7, 80_000)])
def test_repeat_admission_reduces_the_deductible(admission: int, due: int) -> None:
    r = rule(deductible_fen=160_000, repeat_admission={"factors_bp": [10000, 7500, 5000]})
    split = run(bill(line("JIA", 1_000_000), admission_no_in_year=admission), r)
    assert split.deductible_due_fen == due and split.deductible_paid_fen == due


def test_admission_number_defaults_to_the_next_one_after_those_already_settled() -> None:
    r = rule(deductible_fen=160_000, repeat_admission={"factors_bp": [10000, 7500, 5000]})
    split = run(bill(line("JIA", 1_000_000)), r, person(admissions_this_year=1))
    assert (split.admission_no, split.deductible_due_fen, split.accumulators.admissions) == (2, 120_000, 1)


def test_repeat_admission_step_down_stops_at_the_floor() -> None:
    r = rule(deductible_fen=100_000, repeat_admission={"step_down_fen": 10_000, "floor_fen": 70_000})
    dues = [run(bill(line("JIA", 1_000_000), admission_no_in_year=n), r).deductible_due_fen for n in (1, 2, 4, 6)]
    assert dues == [100_000, 90_000, 70_000, 70_000]


def test_repeat_admission_annual_deductible_cap_counts_what_was_paid_this_year() -> None:
    r = rule(deductible_fen=160_000, repeat_admission={"annual_cap_fen": 200_000})
    split = run(bill(line("JIA", 1_000_000)), r, person(deductible_paid_ytd_fen=160_000))
    assert split.deductible_due_fen == 40_000


def test_repeat_admission_rule_does_not_touch_outpatient_visits() -> None:
    r = rule(deductible_fen=50_000, repeat_admission={"factors_bp": [5000]})
    split = run(bill(line("JIA", 100_000), visit_type="outpatient"), r)
    assert split.deductible_due_fen == 50_000 and split.admission_no is None


@pytest.mark.parametrize(("paid_ytd", "due"), [(0, 10_000), (6_000, 4_000), (12_000, 0)])
def test_annual_deductible_is_paid_once_a_year(paid_ytd: int, due: int) -> None:
    r = rule(deductible_fen=10_000, deductible_basis="annual", ratio_bp=5000)
    split = run(bill(line("JIA", 30_000), visit_type="outpatient"), r, person(deductible_paid_ytd_fen=paid_ytd))
    assert split.deductible_paid_fen == due
    assert split.fund_paid_fen == (30_000 - due) // 2


def test_chained_admissions_carry_the_accumulators() -> None:
    pol = load_policy().in_effect(DAY)
    assert pol is not None
    who = person(account_balance_fen=50_000, year=2013)
    first = settle(bill(line("JIA", 1_000_000)), pol, catalogue(), who)
    who = person_after(who, first)
    second = settle(bill(line("JIA", 1_000_000)), pol, catalogue(), who)
    assert (first.deductible_due_fen, second.deductible_due_fen) == (160_000, 120_000)  # 2nd admission at 75 %
    assert who.fund_paid_ytd_fen == first.fund_paid_fen and who.account_balance_fen == 0
    assert second.account_paid_fen == 0


# ---- ratio bands and the annual cap -------------------------------------------------------------------------

BANDS = [{"up_to_fen": 100_000, "ratio_bp": 5000}, {"up_to_fen": 200_000, "ratio_bp": 8000},
         {"up_to_fen": None, "ratio_bp": 0}]


def test_bands_pay_each_slice_at_its_own_ratio() -> None:
    split = run(bill(line("JIA", 250_000)), rule(ratio_bands=BANDS))
    assert split.fund_paid_fen == 50_000 + 80_000
    assert [(b.from_fen, b.to_fen, b.ratio_bp) for b in split.bands] == [
        (0, 100_000, 5000), (100_000, 200_000, 8000), (200_000, 250_000, 0)]


def test_the_deductible_sits_at_the_bottom_of_the_first_band() -> None:
    split = run(bill(line("JIA", 250_000)), rule(ratio_bands=BANDS, deductible_fen=20_000))
    assert split.fund_paid_fen == 80_000 * 5000 // 10000 + 100_000 * 8000 // 10000


def test_year_to_date_bands_start_where_the_year_stands() -> None:
    split = run(bill(line("JIA", 100_000)), rule(ratio_bands=BANDS, band_basis="year_to_date"),
                person(in_scope_ytd_fen=150_000))
    assert split.fund_paid_fen == 50_000 * 8000 // 10000  # the rest lies above 200,000, at 0 %
    assert split.accumulators.in_scope_fen == 100_000


def test_bands_must_ascend_and_end_open() -> None:
    with pytest.raises(ValidationError):
        rule(ratio_bands=[{"up_to_fen": 100, "ratio_bp": 5000}])
    with pytest.raises(ValidationError):
        rule(ratio_bands=[{"up_to_fen": 100, "ratio_bp": 5000}, {"up_to_fen": 50, "ratio_bp": 5000},
                          {"up_to_fen": None, "ratio_bp": 0}])


@pytest.mark.parametrize(("ytd", "fund", "over_cap"), [(0, 80_000, 0), (995_000, 5_000, 75_000),
                                                       (1_000_000, 0, 80_000), (2_000_000, 0, 80_000)])
def test_annual_cap_limits_the_fund_to_what_is_left_this_year(ytd: int, fund: int, over_cap: int) -> None:
    split = run(bill(line("JIA", 100_000)), rule(ratio_bp=8000, annual_cap_fen=1_000_000),
                person(fund_paid_ytd_fen=ytd))
    assert (split.fund_paid_fen, split.over_annual_cap_fen) == (fund, over_cap)
    assert split.self_pay_fen == 20_000 + over_cap
    assert split.remaining_cap_before_fen == max(0, 1_000_000 - ytd)


@pytest.mark.parametrize(("segment", "ratio", "fund"), [(5, 5000, 3), (5, 3000, 2), (3, 5000, 2), (1, 4999, 0)])
def test_the_fund_share_rounds_half_up_and_the_copay_takes_the_remainder(segment: int, ratio: int,
                                                                         fund: int) -> None:
    split = run(bill(line("JIA", segment)), rule(ratio_bp=ratio))
    assert (split.fund_paid_fen, split.copay_fen) == (fund, segment - fund)


# ---- personal account ---------------------------------------------------------------------------------------


def test_account_pays_first_up_to_the_balance_then_cash() -> None:
    split = run(bill(line("JIA", 100_000)), rule(ratio_bp=8000), person(account_balance_fen=5_000))
    assert (split.account_paid_fen, split.cash_fen, split.account_balance_after_fen) == (5_000, 15_000, 0)


def test_residents_have_no_personal_account() -> None:
    with pytest.raises(ValidationError):
        person(scheme="resident", person_type="resident", account_balance_fen=1)
    with pytest.raises(ValidationError):
        rule(scheme="resident", account={"enabled": True})
    # a rule open to every scheme still pays nothing from an account for a resident
    split = run(bill(line("JIA", 10_000)), rule(ratio_bp=5000), person(scheme="resident", person_type="resident"))
    assert split.account_paid_fen == 0 and split.cash_fen == 5_000


def test_account_switch_off_means_all_cash() -> None:
    split = run(bill(line("JIA", 10_000)), rule(ratio_bp=5000, account={"enabled": False}),
                person(account_balance_fen=100_000))
    assert (split.account_paid_fen, split.cash_fen) == (0, 5_000)


def test_account_switches_choose_which_parts_it_may_pay() -> None:
    the_bill = bill(line("JIA", 10_000), line("YI", 10_000), line("BING", 10_000))
    rich = person(account_balance_fen=1_000_000)
    default = run(the_bill, rule(ratio_bp=5000), rich)  # in-scope share and 乙类 self-pay, not own expense
    assert (default.account_paid_self_pay_fen, default.account_paid_own_expense_fen) == (9_500 + 1_000, 0)
    no_first = run(the_bill, rule(ratio_bp=5000, account={"pays_first_self_pay": False}), rich)
    assert no_first.account_paid_fen == 9_500
    everything = run(the_bill, rule(ratio_bp=5000, account={"pays_own_expense": True}), rich)
    assert everything.account_paid_fen == everything.patient_total_fen == 20_500 and everything.cash_fen == 0


# ---- remote care, visit types, exclusions --------------------------------------------------------------------

REDUCTIONS = {"long_term": 0, "referred": 1000, "unreferred": 2000}


@pytest.mark.parametrize(("remote", "fund"), [("none", 80_000), ("long_term", 80_000), ("referred", 70_000),
                                              ("unreferred", 60_000)])
def test_remote_care_lowers_the_ratio_by_points(remote: str, fund: int) -> None:
    split = run(bill(line("JIA", 100_000), remote=remote), rule(ratio_bp=8000, remote_reduction_bp=REDUCTIONS))
    assert split.fund_paid_fen == fund


def test_remote_reduction_never_takes_a_ratio_below_zero() -> None:
    split = run(bill(line("JIA", 100_000), remote="unreferred"),
                rule(ratio_bp=1000, remote_reduction_bp={"unreferred": 2000}))
    assert split.fund_paid_fen == 0 and split.bands[0].ratio_bp == 0


def test_example_policy_qingyuan_residents_outside_the_city_get_70_60_50_percent() -> None:
    pol = load_policy().in_effect(DAY)
    assert pol is not None
    resident = person(scheme="resident", person_type="resident")
    funds = [settle(bill(line("JIA", 1_000_000), hospital_level=lv, remote="referred"), pol, catalogue(),
                     resident) for lv in ("1", "2", "3")]
    assert [(s.bands[0].ratio_bp, s.deductible_paid_fen) for s in funds] == [(7000, 30_000), (6000, 75_000),
                                                                             (5000, 120_000)]


def test_example_policy_pharmacy_purchase_is_paid_from_the_account_not_the_fund() -> None:
    pol = load_policy().in_effect(DAY)
    assert pol is not None
    the_bill = bill(line("JIA", 3_000), line("YI", 2_000), line("BING", 1_000), visit_type="pharmacy",
                    hospital_level=None)
    split = settle(the_bill, pol, catalogue(), person(account_balance_fen=100_000))
    assert (split.fund_paid_fen, split.account_paid_fen, split.cash_fen) == (0, 5_000, 1_000)
    resident = settle(the_bill, pol, catalogue(), person(scheme="resident", person_type="resident"))
    assert (resident.fund_paid_fen, resident.cash_fen) == (0, 6_000)


@pytest.mark.parametrize(("level", "ratio"), [("community", 8000), ("1", 5500), ("3", 5500)])
def test_example_policy_employee_outpatient_ratio_by_level(level: str, ratio: int) -> None:
    pol = load_policy().in_effect(DAY)
    assert pol is not None
    split = settle(bill(line("JIA", 10_000), visit_type="outpatient", hospital_level=level), pol, catalogue(),
                   person())
    assert split.fund_paid_fen == 10_000 * ratio // 10_000 and split.deductible_paid_fen == 0


def test_work_injury_costs_are_never_paid_by_the_medical_fund_or_account() -> None:
    split = run(bill(line("JIA", 10_000), line("YI", 10_000), fund_exclusion="work_injury"), rule(),
                person(account_balance_fen=100_000))
    assert (split.fund_paid_fen, split.fund_excluded_fen, split.own_expense_fen) == (0, 20_000, 20_000)
    assert (split.account_paid_fen, split.cash_fen, split.accumulators.in_scope_fen) == (0, 20_000, 0)


def test_an_unidentified_third_party_is_paid_first_and_flagged_for_recovery() -> None:
    split = run(bill(line("JIA", 10_000), fund_exclusion="third_party_unidentified"), rule(ratio_bp=8000))
    assert split.fund_paid_fen == 8_000 and split.recover_from_third_party


def test_no_matching_rule_is_a_policy_error() -> None:
    with pytest.raises(PolicyRuleMissing):
        run(bill(line("JIA", 100)), rule(visit_type="outpatient"))


def test_the_first_matching_rule_wins() -> None:
    pol = policy(rule(hospital_level="3", ratio_bp=8000), rule(ratio_bp=9000))
    assert settle(bill(line("JIA", 100)), pol, catalogue(), person()).fund_paid_fen == 80
    assert settle(bill(line("JIA", 100), hospital_level="2"), pol, catalogue(), person()).fund_paid_fen == 90


# ---- effective dates and consistency ------------------------------------------------------------------------


def test_a_policy_outside_its_window_is_refused() -> None:
    with pytest.raises(PolicyMissing):
        settle(bill(line("JIA", 100), date=dt.date(2012, 12, 31)), policy(), catalogue(), person())


def test_policy_versions_must_not_overlap_and_the_book_picks_the_one_in_effect() -> None:
    old = policy(policy_id="2013", effective_to=dt.date(2013, 12, 31))
    new = policy(policy_id="2014", effective_from=dt.date(2014, 1, 1))
    book = PolicyBook(policies=[new, old])
    assert [book.in_effect(dt.date(y, 6, 1)).policy_id for y in (2013, 2014)] == ["2013", "2014"]  # type: ignore[union-attr]
    assert book.in_effect(dt.date(2012, 6, 1)) is None
    with pytest.raises(ValidationError):
        PolicyBook(policies=[policy(policy_id="a"), policy(policy_id="b", effective_from=dt.date(2014, 1, 1))])


def test_catalogue_rows_are_effective_dated() -> None:
    shipped = load_catalogue()
    bed = [shipped.item("EX-S-A001", dt.date(y, 6, 1)) for y in (2013, 2014)]
    assert [b.price_cap_fen for b in bed if b] == [5000, 6000]
    assert shipped.item("EX-S-A001", dt.date(2012, 6, 1)) is None
    row = CatalogueItem(code="X", name="x", item_type="drug", catalogue_class="甲")
    with pytest.raises(ValueError, match="overlap"):
        Catalogue([row, row])


def test_accumulators_of_another_year_are_refused() -> None:
    with pytest.raises(PersonContextInvalid):
        run(bill(line("JIA", 100)), who=person(year=2012))


def test_an_admission_number_below_the_admissions_already_settled_is_refused() -> None:
    with pytest.raises(BillInvalid):
        run(bill(line("JIA", 100), admission_no_in_year=1), who=person(admissions_this_year=3))


def test_bill_lines_must_agree_with_their_amounts_and_total() -> None:
    with pytest.raises(ValidationError, match="quantity"):
        BillLine.model_validate({"code": "JIA", "quantity": 2, "unit_price_fen": 50, "amount_fen": 99})
    with pytest.raises(ValidationError, match="total_fen"):
        bill(line("JIA", 100), total_fen=101)
    with pytest.raises(ValidationError, match="hospital_level"):
        bill(line("JIA", 100), visit_type="outpatient", hospital_level=None)
