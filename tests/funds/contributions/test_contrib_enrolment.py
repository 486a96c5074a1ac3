"""Enrolment with a chosen base or level, and signed withholding authorisations (one active per person)."""

from __future__ import annotations

import datetime as dt

import pytest
from contrib_world import new_person

from sscard.access import PermissionDenied
from sscard.banks import service as banks
from sscard.errors import DomainError
from sscard.funds.contributions import service as contrib
from sscard.funds.contributions.terms import ContribScheme
from support.city import City

SIGNED = dt.date(2014, 3, 1)


@pytest.mark.parametrize(("scheme", "choice", "code"), [
    (ContribScheme.FLEX_PENSION, {"base_ratio_bp": 5_999}, "CONTRIB_BASE_INVALID"),
    (ContribScheme.FLEX_PENSION, {"base_ratio_bp": 30_001}, "CONTRIB_BASE_INVALID"),
    (ContribScheme.FLEX_PENSION, {"level": 2}, "CONTRIB_BASE_INVALID"),
    (ContribScheme.RESIDENT_PENSION, {"level": 6}, "CONTRIB_LEVEL_INVALID"),
    (ContribScheme.RESIDENT_PENSION, {"base_ratio_bp": 10_000}, "CONTRIB_LEVEL_INVALID"),
    (ContribScheme.RESIDENT_MEDICAL, {"level": 1}, "CONTRIB_SCHEME_INVALID"),
    ("maternity", {}, "CONTRIB_SCHEME_INVALID"),
])
def test_a_choice_outside_the_policy_is_refused(city: City, scheme: str, choice: dict[str, int], code: str) -> None:
    _, number = new_person(city)
    with pytest.raises(DomainError) as refused:
        contrib.enrol(city.db, city.admin, number, scheme, "2014-03", **choice)
    assert refused.value.code == code


def test_enrolment_choices_are_dated_and_one_category_per_person(city: City) -> None:
    person_id, number = new_person(city)
    first = contrib.enrol(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-03", base_ratio_bp=6_000)
    with pytest.raises(DomainError) as twice:
        contrib.enrol(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-05", base_ratio_bp=8_000)
    assert twice.value.code == "CONTRIB_ALREADY_ENROLLED"
    with pytest.raises(DomainError) as other:
        contrib.enrol(city.db, city.admin, number, ContribScheme.RESIDENT_PENSION, "2014-03", level=1)
    assert other.value.code == "CONTRIB_CATEGORY_MISMATCH"

    changed = contrib.change_choice(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-07",
                                    base_ratio_bp=15_000)
    rows = contrib.enrolments(city.db, city.admin, person_id)
    assert [(r.start_period, r.end_period, r.base_ratio_bp) for r in rows] == [
        ("2014-03", "2014-06", 6_000), ("2014-07", None, 15_000)]
    assert changed.id != first.id
    ended = contrib.end_enrolment(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-12")
    assert ended.end_period == "2014-12"
    with pytest.raises(PermissionDenied):
        contrib.enrol(city.db, city.counter, number, ContribScheme.EMPLOYEE_MEDICAL, "2014-03", base_ratio_bp=6_000)


def test_a_new_authorisation_replaces_the_old_and_can_be_revoked(city: City) -> None:
    person_id, number = new_person(city)
    with pytest.raises(DomainError) as not_insured:
        contrib.sign_authorisation(city.db, city.admin, number, signed_on=SIGNED, signature_ref="F-1",
                                   bank_code="ICBC", account_no="6200000000000001")
    assert not_insured.value.code == "CONTRIB_INSURED_NOT_FOUND"
    contrib.enrol(city.db, city.admin, number, ContribScheme.RESIDENT_PENSION, "2014-03", level=3)
    with pytest.raises(DomainError) as unsigned:
        contrib.sign_authorisation(city.db, city.admin, number, signed_on=SIGNED, signature_ref=" ",
                                   bank_code="ICBC", account_no="6200000000000001")
    assert unsigned.value.code == "CONTRIB_AUTHORISATION_INVALID"
    with pytest.raises(DomainError) as no_account:
        contrib.sign_authorisation(city.db, city.admin, number, signed_on=SIGNED, signature_ref="F-1")
    assert no_account.value.code == "CONTRIB_NO_PAYMENT_ACCOUNT"

    first = contrib.sign_authorisation(city.db, city.admin, number, signed_on=SIGNED, signature_ref="F-1",
                                       bank_code="ICBC", account_no="6200000000000001")
    # The "old way" account registered at the agency is the default account of the next authorisation.
    banks.register_payment_account(city.db, city.admin, person_id, "other", "CCB", "6217000000000002", "缴费人")
    second = contrib.sign_authorisation(city.db, city.admin, number, signed_on=SIGNED, signature_ref="F-2")
    assert (second.bank_code, second.account_no, second.status) == ("CCB", "6217000000000002", "active")
    with city.db.unit_of_work() as session:
        active = contrib.active_authorisation(session, person_id)
        assert active is not None and active.id == second.id
        assert active.id != first.id
    revoked = contrib.revoke_authorisation(city.db, city.admin, number)
    assert revoked.status == "revoked"
    with pytest.raises(DomainError) as none_left:
        contrib.revoke_authorisation(city.db, city.admin, number)
    assert none_left.value.code == "CONTRIB_AUTHORISATION_NOT_FOUND"
