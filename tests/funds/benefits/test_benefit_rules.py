"""Entitlements and eligibility rules: periods, the 12-month certification window, death data, grants,
permissions. Pure rules are checked as properties; grants go through the services on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funds.benefits.benefit_world import registered_holder
from sscard.access import PermissionDenied
from sscard.funds import PeriodInvalid, add_months, first_day, parse_period, period_index, period_of
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.dues import certification_cutoff, stop_reason
from sscard.funds.benefits.errors import (
    BenefitPersonNotFound,
    CertificationInvalid,
    EntitlementInvalid,
    EntitlementNotFound,
)
from sscard.funds.benefits.schemas import EntitlementIn
from support.city import City

periods = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2010, 2079), st.integers(1, 12))


@given(periods, st.integers(-240, 240))
def test_months_add_and_count_consistently(period: str, months: int) -> None:
    later = add_months(period, months)
    assert period_index(later) - period_index(period) == months
    assert add_months(later, -months) == period
    assert period_of(first_day(later)) == later == parse_period(later)


@pytest.mark.parametrize("raw", ["2014-13", "2014-7", "14-07", "2014/07", "", "2014-00", "1899-01"])
def test_a_malformed_period_is_refused(raw: str) -> None:
    with pytest.raises(PeriodInvalid):
        parse_period(raw)


@given(periods, st.dates(dt.date(1990, 1, 1), dt.date(2095, 1, 1)))
def test_a_month_is_payable_iff_certified_within_the_twelve_months_before_it_or_later(
        period: str, certified_on: dt.date) -> None:
    payable = certified_on >= certification_cutoff(period, 12)
    # Certified on day d: the months up to 12 months after d's month are paid, the 13th stops (and is back-paid
    # once a later certification exists, since any later date satisfies the rule).
    months_after = period_index(period) - period_index(period_of(certified_on))
    assert payable == (months_after <= 12)
    assert stop_reason("1", payable, "pension") == (None if payable else "NOT_CERTIFIED")
    assert stop_reason("1", payable, "unemployment") is None  # no survival certification for it


@pytest.mark.parametrize(("living", "reason"), [("2", "DECEASED"), ("3", "LIVING_STATUS_3"), ("4", "LIVING_STATUS_4"),
                                                ("5", "LIVING_STATUS_5"), ("1", None)])
def test_death_and_other_registry_status_suspend_every_kind(living: str, reason: str | None) -> None:
    for kind in ("pension", "unemployment", "lump_sum"):
        assert stop_reason(living, True, kind) == reason


def test_grants_check_kind_duration_fund_and_person(city: City) -> None:
    holder = registered_holder(city, "核定人")
    pension = entitlements.grant_entitlement(city.db, city.supervisor, EntitlementIn(
        person_id=holder.person_id, kind="pension", amount=300_000, start_period="2030-01"))
    assert (pension.fund, pension.end_period, pension.status) == ("pension", None, "active")
    jobless = entitlements.grant_entitlement(city.db, city.supervisor, EntitlementIn(
        person_id=holder.person_id, kind="unemployment", amount=150_000, start_period="2030-01", months=6))
    assert (jobless.fund, jobless.end_period) == ("unemployment", "2030-06")
    once = entitlements.grant_entitlement(city.db, city.supervisor, EntitlementIn(
        person_id=holder.person_id, kind="lump_sum", amount=1_000_000, start_period="2030-02", fund="work_injury"))
    assert (once.fund, once.end_period) == ("work_injury", "2030-02")
    bad = [dict(kind="unemployment", amount=1, start_period="2030-01"),  # no duration
           dict(kind="lump_sum", amount=1, start_period="2030-01", months=3),
           dict(kind="pension", amount=1, start_period="2030-01", fund="lottery")]
    for fields in bad:
        with pytest.raises(EntitlementInvalid):
            entitlements.grant_entitlement(city.db, city.supervisor, EntitlementIn(person_id=holder.person_id,
                                                                                   **fields))  # type: ignore[arg-type]
    with pytest.raises(BenefitPersonNotFound):
        entitlements.grant_entitlement(city.db, city.supervisor, EntitlementIn(
            person_id=2**31 - 7, kind="pension", amount=1, start_period="2030-01"))
    with pytest.raises(EntitlementNotFound):
        entitlements.adjust_amount(city.db, city.supervisor, 2**40, "2030-01", 100)
    with pytest.raises(EntitlementInvalid):
        entitlements.adjust_amount(city.db, city.supervisor, pension.id, "2030-03", 0)
    ended = entitlements.end_entitlement(city.db, city.supervisor, pension.id, "2030-12")
    assert (ended.end_period, ended.status) == ("2030-12", "ended")
    assert [e.id for e in entitlements.entitlements_of(city.db, city.supervisor, holder.person_id)] == \
        [pension.id, jobless.id, once.id]


def test_counter_clerks_certify_but_do_not_grant_or_run(city: City) -> None:
    holder = registered_holder(city, "认证人")
    assert entitlements.certify(city.db, city.counter, holder.person_id, method="kiosk") > 0
    with pytest.raises(CertificationInvalid):
        entitlements.certify(city.db, city.counter, holder.person_id, dt.date(2999, 1, 1))
    with pytest.raises(CertificationInvalid):
        entitlements.certify(city.db, city.counter, holder.person_id, method="guess")
    with pytest.raises(PermissionDenied):
        entitlements.grant_entitlement(city.db, city.counter, EntitlementIn(
            person_id=holder.person_id, kind="pension", amount=1, start_period="2030-01"))
    from sscard.funds.benefits import service as benefits

    with pytest.raises(PermissionDenied):
        benefits.run_disbursement_month(city.db, city.supervisor, "2030-01")  # supervisors read, admins run
