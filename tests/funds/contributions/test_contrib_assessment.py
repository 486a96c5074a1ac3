"""Assessment arithmetic: bases within 60–300 % of the average wage and the city's floor and ceiling, amounts
rounded half up to the fen, parts that always add up; every number from effective-dated policy."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from contrib_world import AVG, MEDICAL, MEDICAL_PERSONAL, PENSION, PENSION_PERSONAL, UNEMPLOYMENT, holder
from hypothesis import given
from hypothesis import strategies as st

from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions import assessment, history
from sscard.funds.contributions.assessment import Rates, base_from_ratio, bp_of, split_amount
from sscard.funds.contributions.errors import BaseChoiceInvalid, LevelInvalid
from sscard.funds.contributions.terms import ContribScheme
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.policy import service as policy
from sscard.policy.errors import PolicyInvalid
from support.city import City

fen = st.integers(min_value=0, max_value=10**10)
bp = st.integers(min_value=0, max_value=50_000)


def exact_half_up(amount: int, rate_bp: int) -> int:
    return int((Decimal(amount) * rate_bp / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(fen, bp)
def test_a_rate_is_applied_rounding_half_up_to_the_fen(amount: int, rate_bp: int) -> None:
    assert bp_of(amount, rate_bp) == exact_half_up(amount, rate_bp)


@given(st.integers(10_000, 10**7), st.integers(1, 50_000), st.integers(10_000, 10**7), st.integers(0, 10**7))
def test_the_base_stays_within_the_citys_floor_and_ceiling(avg: int, ratio: int, floor: int, span: int) -> None:
    ceiling = floor + span
    base = base_from_ratio(avg, ratio, floor, ceiling)
    assert floor <= base <= ceiling
    if floor <= bp_of(avg, ratio) <= ceiling:
        assert base == bp_of(avg, ratio)
    assert base_from_ratio(avg, ratio + 1, floor, ceiling) >= base  # a higher choice never lowers the base


@given(fen, st.integers(0, 5_000), st.integers(0, 5_000))
def test_pool_and_personal_parts_always_add_up_to_the_amount(base: int, rate: int, personal: int) -> None:
    rate, personal = max(rate, personal), min(rate, personal)
    total, pool, mine = split_amount(base, rate, personal)
    assert pool + mine == total and pool >= 0 and mine >= 0
    assert total == exact_half_up(base, rate) and mine == exact_half_up(base, personal)


def seeded(**change: object) -> Rates:
    values: dict[str, object] = dict(
        avg_wage_fen=AVG, ratio_min_bp=6_000, ratio_max_bp=30_000, floor_fen=275_880, ceiling_fen=1_379_400,
        scheme_rate_bp={ContribScheme.FLEX_PENSION: 2_000, ContribScheme.EMPLOYEE_MEDICAL: 800,
                        ContribScheme.UNEMPLOYMENT: 100},
        scheme_personal_bp={ContribScheme.FLEX_PENSION: 800, ContribScheme.EMPLOYEE_MEDICAL: 200,
                            ContribScheme.UNEMPLOYMENT: 0},
        resident_levels_fen=(1_000, 2_000, 3_000, 5_000, 10_000), resident_pension_pool_bp=0,
        resident_medical_fen=1_500, employer_bp={}, employee_bp={}, arrears_suspend_months=3)
    values.update(change)
    return Rates(**values)  # type: ignore[arg-type]


@given(st.integers(6_000, 30_000))
def test_a_flexible_workers_pension_is_20_percent_split_12_pool_8_personal(ratio: int) -> None:
    split = assessment.assess(seeded(), ContribScheme.FLEX_PENSION, ratio, None)
    assert split.base_fen is not None and 275_880 <= split.base_fen <= 1_379_400
    assert split.amount_fen == bp_of(split.base_fen, 2_000)
    assert split.personal_fen == bp_of(split.base_fen, 800)
    assert split.pool_fen == split.amount_fen - split.personal_fen
    assert abs(split.pool_fen - split.base_fen * 12 / 100) <= 1


def test_known_answers_at_the_seeded_policy() -> None:
    rates = seeded()
    at_100 = assessment.assess(rates, ContribScheme.FLEX_PENSION, 10_000, None)
    assert (at_100.base_fen, at_100.amount_fen, at_100.pool_fen, at_100.personal_fen) == (
        AVG, PENSION, PENSION - PENSION_PERSONAL, PENSION_PERSONAL)
    medical = assessment.assess(rates, ContribScheme.EMPLOYEE_MEDICAL, 10_000, None)
    assert (medical.amount_fen, medical.personal_fen) == (MEDICAL, MEDICAL_PERSONAL)
    assert assessment.assess(rates, ContribScheme.UNEMPLOYMENT, 10_000, None).amount_fen == UNEMPLOYMENT
    assert assessment.assess(rates, ContribScheme.FLEX_PENSION, 6_000, None).base_fen == 275_880  # 60 % = the floor
    assert assessment.assess(rates, ContribScheme.FLEX_PENSION, 30_000, None).base_fen == 1_379_400  # 300 % = ceiling
    # 72.5 % of 459,800 = 333,355 fen; 20 % = 66,671; 8 % = 26,668.4 → 26,668 personal, 40,003 pool.
    odd = assessment.assess(rates, ContribScheme.FLEX_PENSION, 7_250, None)
    assert (odd.base_fen, odd.amount_fen, odd.personal_fen, odd.pool_fen) == (333_355, 66_671, 26_668, 40_003)
    level = assessment.assess(rates, ContribScheme.RESIDENT_PENSION, None, 4)
    assert (level.amount_fen, level.pool_fen, level.personal_fen) == (5_000, 0, 5_000)
    flat = assessment.assess(rates, ContribScheme.RESIDENT_MEDICAL, None, None)
    assert (flat.amount_fen, flat.pool_fen, flat.personal_fen) == (1_500, 1_500, 0)


@pytest.mark.parametrize("ratio", [5_999, 30_001, 0])
def test_a_base_outside_60_to_300_percent_is_refused(ratio: int) -> None:
    with pytest.raises(BaseChoiceInvalid):
        assessment.check_ratio(seeded(), ratio)


@pytest.mark.parametrize("level", [0, 6])
def test_an_unknown_level_is_refused(level: int) -> None:
    with pytest.raises(LevelInvalid):
        assessment.check_level(seeded(), level)


def test_rates_and_wages_are_effective_dated_policy(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    policy.load_initial(city.db, city.admin, [  # the city's schedule, loaded before anyone is registered
        policy.InitialValue("contrib.avg_wage_fen", 500_000, dt.date(2014, 7, 1), "2013 average wage, from July"),
        policy.InitialValue("contrib.flex_pension.personal_bp", 2_500, dt.date(2014, 8, 1))])
    someone = holder(city, bank, balance=10 * PENSION, schemes=(ContribScheme.FLEX_PENSION,))
    with city.db.unit_of_work() as session:
        assert assessment.load_rates(session, "2014-06").avg_wage_fen == AVG
        assert assessment.load_rates(session, "2014-07").avg_wage_fen == 500_000
    run_withholding_month(city.db, city.admin, "2014-06")
    run_withholding_month(city.db, city.admin, "2014-07")
    bases = {r.period: (r.base_fen, r.amount_fen) for r in history.contribution_history(city.db, city.admin,
                                                                                         someone.person_id)}
    assert bases == {"2014-06": (AVG, PENSION), "2014-07": (500_000, 100_000)}

    with city.db.unit_of_work() as session, pytest.raises(PolicyInvalid):
        assessment.load_rates(session, "2014-08")  # a personal share above the rate cannot be used
