"""Benefit amounts keep their history: an amount for a month some run already covered is refused (what was paid
stays what was paid; corrections go through re-issue / correction), a second amount for a month not run yet is
the next version with the old one kept, and the database refuses UPDATE and DELETE of amounts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from funds.benefits.benefit_world import assert_books_agree, grant, registered_holder
from sscard.funds.benefits import entitlements
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.errors import AmountMonthRun
from sscard.funds.benefits.models import DisbursementLine, EntitlementAmount
from support.city import City


def _amounts(city: City, ent_id: int) -> list[tuple[str, int, int]]:
    with city.db.unit_of_work() as s:
        return [(a.from_period, a.version, a.amount) for a in s.execute(
            select(EntitlementAmount).where(EntitlementAmount.entitlement_id == ent_id)
            .order_by(EntitlementAmount.from_period, EntitlementAmount.version)).scalars()]


def _paid(city: City, ent_id: int) -> list[tuple[str, int]]:
    with city.db.unit_of_work() as s:
        return [(line.period_due, line.amount) for line in s.execute(
            select(DisbursementLine).where(DisbursementLine.entitlement_id == ent_id)
            .order_by(DisbursementLine.period_due)).scalars()]


def test_a_paid_month_cannot_be_re_amounted_and_a_future_one_is_versioned(benefit_city: City) -> None:
    city = benefit_city
    holder = registered_holder(city, "调待人", bank="ABC")
    ent = grant(city, holder, "pension", 200_000, "2014-07")
    benefits.run_disbursement_month(city.db, city.admin, "2014-07")
    # the replay: the month already paid, and the grant's own month, re-amounted after the fact
    for month in ("2014-07", "2014-06", "2013-01"):
        with pytest.raises(AmountMonthRun) as refused:
            entitlements.adjust_amount(city.db, city.admin, ent, month, 1)
        assert refused.value.code == "BENEFIT_AMOUNT_MONTH_RUN"
    assert _amounts(city, ent) == [("2014-07", 1, 200_000)]
    # a month not run yet: appended, and replaced before its run as the next version (the old kept)
    entitlements.adjust_amount(city.db, city.admin, ent, "2014-08", 210_000, note="调待")
    entitlements.adjust_amount(city.db, city.admin, ent, "2014-08", 212_000, note="调待更正")
    assert _amounts(city, ent) == [("2014-07", 1, 200_000), ("2014-08", 1, 210_000), ("2014-08", 2, 212_000)]
    benefits.run_disbursement_month(city.db, city.admin, "2014-08")
    assert _paid(city, ent) == [("2014-07", 200_000), ("2014-08", 212_000)]
    assert_books_agree(city)
    for statement in ("UPDATE benefit_amounts SET amount = 1", "DELETE FROM benefit_amounts"):
        with pytest.raises(DBAPIError, match="append-only"), city.db.unit_of_work() as s:
            s.execute(text(statement))
    assert _amounts(city, ent)[-1] == ("2014-08", 2, 212_000)
