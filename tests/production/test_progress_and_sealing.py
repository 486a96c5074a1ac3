"""Progress against the plan's targets (by division, bank, month) and the overdue-seal job: a card picked up and
left unactivated for the configured months (an effective-dated policy) is sealed once, by ``jobs.run_due``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from sscard import clock, jobs
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.errors import DomainError
from sscard.policy import service as policy
from sscard.production import progress
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City


def _picked_up(city: City, id_no: str, region: str) -> str:
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="何领卡", region_code=region))
    card_no = cards.apply_new(city.db, city.counter, id_no).card.card_no
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(city.db, city.admin, card_no, status, bank_code="CCB")
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
    cards.pick_up(city.db, city.counter, card_no)
    return card_no


def test_progress_counts_issued_and_active_cards_against_the_targets(fresh_city: City,
                                                                     new_id: Callable[..., str]) -> None:
    city = fresh_city
    first = _picked_up(city, new_id(region="441821"), "441821")
    _picked_up(city, new_id(region="441821"), "441821")
    cards.activate(city.db, city.counter, first, "246810")
    report = progress.progress(city.db, city.supervisor)
    assert (report.issued, report.active, report.valid, report.residents) == (2, 1, 2, 2)
    assert report.coverage_pct == 100.0
    assert report.by_division["441821"].issued == 2 and report.by_division["441802"].issued == 0
    assert report.by_bank["CCB"].active == 1 and set(report.by_bank) >= {"ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB"}
    assert list(report.by_month.values())[-1].issued == 2
    three_m, four_m, coverage = report.targets
    assert (three_m.target, three_m.actual, three_m.met) == (3_000_000, 2, False)
    assert four_m.target == 4_000_000 and coverage.kind == "coverage_pct" and coverage.met
    with pytest.raises(DomainError, match="PERMISSION_DENIED"):
        progress.progress(city.db, city.counter)


def test_an_unactivated_card_is_sealed_once_after_the_policy_period(fresh_city: City,
                                                                    new_id: Callable[..., str]) -> None:
    city = fresh_city
    idle = _picked_up(city, new_id(region="441823"), "441823")
    used = _picked_up(city, new_id(region="441823"), "441823")
    cards.activate(city.db, city.counter, used, "246810")
    now = dt.datetime.now(dt.UTC)
    early = jobs.run_due(city.db, city.admin, now + dt.timedelta(days=170))
    assert early == {"temporary_losses_lapsed": 0, "unactivated_cards_sealed": 0}
    due = jobs.run_due(city.db, city.admin, now + dt.timedelta(days=190))
    assert due == {"temporary_losses_lapsed": 0, "unactivated_cards_sealed": 1}
    assert progress.seal_overdue(city.db, city.admin, now + dt.timedelta(days=400)) == 0  # sealed once
    assert progress.progress(city.db, city.admin).overdue_sealed == 1
    assert cards.get_card(city.db, city.admin, idle).app_status == "0"

    # The period is an effective-dated policy: three months from today on.
    policy.set_parameter(city.db, city.admin, "card.seal_unactivated_months", 3, clock.local_date())
    later = _picked_up(city, new_id(region="441823"), "441823")
    assert progress.seal_overdue(city.db, city.admin, now + dt.timedelta(days=100)) == 1
    assert later
