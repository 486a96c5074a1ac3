"""Administrators can edit every parameter the migrations seed: each seeded name is a known parameter
(``sscard.policy.parameters.KNOWN``) and each seeded value lies within its bounds."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sscard.policy import service as policy
from sscard.policy.errors import PolicyInvalid
from sscard.policy.models import PolicyParameter
from sscard.policy.parameters import KNOWN
from support.city import City


def _seeded(city: City) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    with city.db.unit_of_work() as session:
        for name, value in session.execute(select(PolicyParameter.name, PolicyParameter.value)
                                           .order_by(PolicyParameter.name, PolicyParameter.effective_from)):
            values.setdefault(name, []).append(value)
    return values


def test_every_seeded_parameter_is_known_and_within_its_bounds(city: City) -> None:
    seeded = _seeded(city)
    # The migrations of every domain seed parameters; these are the ones KNOWN once lacked.
    assert {"benefits.certification_months", "portal.max_failed_logins", "portal.session_minutes",
            "portal.kiosk_idle_seconds", "card.pin_max_tries"} <= set(seeded)
    assert sorted(set(seeded) - set(KNOWN)) == []
    for name, values in seeded.items():
        spec = KNOWN[name]
        for value in values:
            assert spec.minimum <= int(value) <= spec.maximum, (name, value)


@pytest.mark.parametrize("name", ["benefits.certification_months", "portal.max_failed_logins",
                                  "portal.session_minutes", "portal.kiosk_idle_seconds"])
def test_an_administrator_can_set_the_benefits_and_portal_parameters(city: City, name: str) -> None:
    current = int(_seeded(city)[name][-1])
    # Far in the future and equal to the current value: harmless for every other test on this database.
    row = policy.set_parameter(city.db, city.admin, name, current, dt.date(2999, 1, 1), note="policy test")
    assert (row.name, int(row.value)) == (name, current)
    with pytest.raises(PolicyInvalid):
        policy.set_parameter(city.db, city.admin, name, KNOWN[name].maximum + 1, dt.date(2999, 1, 1))
