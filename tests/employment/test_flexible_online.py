"""灵活就业人员 online: a cardholder registers for pension and medical insurance as a flexible worker and
declares a base within the policy's bounds; the record is the contributions enrolment (so the month's
withholding assesses it); an operator account or another person's data is refused."""

from __future__ import annotations

import pytest

from sscard import clock
from sscard.access import Actor, PermissionDenied, Role
from sscard.employment import flexible
from sscard.employment.errors import FlexibleInvalid
from sscard.employment.schemas import DeclarationIn, FlexibleIn
from sscard.funds import add_months
from sscard.funds.contributions import service as contributions
from sscard.funds.contributions.errors import AlreadyEnrolled, BaseChoiceInvalid
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number


def _holder(city: City) -> Actor:
    person = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="灵活己",
                                                             region_code="441802"))
    return Actor(operator_id=None, username=f"card:{person.id}", role=Role.CARDHOLDER, person_id=person.id)


def _month() -> str:
    today = clock.local_date()
    return f"{today.year:04d}-{today.month:02d}"


def test_a_flexible_worker_registers_and_declares_a_base_online(city: City) -> None:
    me = _holder(city)
    assert me.person_id is not None
    out = flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=6_000))
    # 60 % of the seeded average wage 4 598.00 yuan is 2 758.80 yuan, exactly the seeded floor.
    assert (out.schemes, out.base_fen, out.from_period) == (["flex_pension", "employee_medical"], 275_880, _month())
    with pytest.raises(AlreadyEnrolled):
        flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=6_000))
    nxt = add_months(_month(), 1)
    declared = flexible.declare_base(city.db, me, DeclarationIn(base_ratio_bp=10_000, from_period=nxt))
    assert (declared.base_fen, declared.from_period) == (459_800, nxt)
    rows = contributions.enrolments(city.db, city.supervisor, me.person_id)
    assert sorted((r.scheme, r.start_period, r.end_period, r.base_ratio_bp) for r in rows) == [
        ("employee_medical", _month(), _month(), 6_000), ("employee_medical", nxt, None, 10_000),
        ("flex_pension", _month(), _month(), 6_000), ("flex_pension", nxt, None, 10_000)]


def test_a_base_outside_the_policy_bounds_or_a_past_month_is_refused_and_nothing_is_written(city: City) -> None:
    me = _holder(city)
    assert me.person_id is not None
    with pytest.raises(BaseChoiceInvalid):
        flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=30_001))
    with pytest.raises(FlexibleInvalid):
        flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=6_000, start_period=add_months(_month(), -1)))
    with pytest.raises(FlexibleInvalid):
        flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=6_000, pension=False, medical=False))
    with pytest.raises(FlexibleInvalid):  # nothing to declare for
        flexible.declare_base(city.db, me, DeclarationIn(base_ratio_bp=8_000, from_period=_month()))
    assert contributions.enrolments(city.db, city.supervisor, me.person_id) == []
    only_pension = flexible.register_flexible(city.db, me, FlexibleIn(base_ratio_bp=30_000, medical=False))
    assert (only_pension.schemes, only_pension.base_fen) == (["flex_pension"], 1_379_400)  # 300 %: the ceiling


def test_only_the_cardholder_registers_online(city: City) -> None:
    with pytest.raises(PermissionDenied):
        flexible.register_flexible(city.db, city.counter, FlexibleIn(base_ratio_bp=6_000))
