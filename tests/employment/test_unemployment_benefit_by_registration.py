"""The unemployment benefit follows the registration: opened from an open unemployment registration (amount and
longest duration from the policy in force on the registration day), paid by the month run into the card's bank
account as one balanced ledger transfer per month, never twice on a retry, and stopped when the registration
closes: owed through the month of the close (次月起停发), nothing after it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from employment_policy import LATER_MONTHLY_FEN
from sqlalchemy import select

from funds.benefits.benefit_world import Holder, assert_books_agree, card_holders, paid_lines, paid_months
from sscard.banks.simulated import SimulatedBank
from sscard.employment import service
from sscard.employment.errors import RegistrationInvalid, RegistrationState
from sscard.employment.schemas import BenefitIn, CloseIn, RegistrationIn
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.errors import EntitlementInvalid
from sscard.funds.benefits.models import Entitlement, EntitlementAmount
from sscard.ledger import chart
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from support.city import City

AUG_5, AUG_20, AUG_25 = (dt.datetime(2026, 8, d, 2, tzinfo=dt.UTC) for d in (5, 20, 25))
SEP_20, OCT_20 = dt.datetime(2026, 9, 20, 2, tzinfo=dt.UTC), dt.datetime(2026, 10, 20, 2, tzinfo=dt.UTC)


def _open_with_benefit(city: City, holder: Holder) -> int:
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=holder.id_number, kind="unemployment"))
    return service.open_unemployment_benefit(city.db, city.supervisor, reg.id).id


def _paid(city: City, person_id: int) -> list[tuple[str, int]]:
    return sorted((line.period_due, line.amount) for line in paid_lines(city) if line.person_id == person_id)


def test_open_registration_pays_and_a_closed_one_pays_nothing_from_the_next_month(jobs_city: City,
                                                                                   tmp_path: Path) -> None:
    city, bank = jobs_city, SimulatedBank(jobs_city.db)
    leaver, stayer = card_holders(city, tmp_path, ["失业甲", "失业乙"])
    opening = {h.bank: bank.holders_total(h.bank) for h in (leaver, stayer)}
    with time_machine.travel(AUG_5, tick=False):
        leaving = _open_with_benefit(city, leaver)
        staying = _open_with_benefit(city, stayer)
    with time_machine.travel(AUG_20, tick=False):
        august = benefits.run_disbursement_month(city.db, city.admin, "2026-08")
        assert august.owed == 2
        again = benefits.run_disbursement_month(city.db, city.admin, "2026-08")  # a retry
        assert again.resumed
    assert _paid(city, leaver.person_id) == [("2026-08", LATER_MONTHLY_FEN)]
    assert bank.balance(leaver.bank, leaver.account_no) == LATER_MONTHLY_FEN
    with time_machine.travel(AUG_25, tick=False):  # re-employed after the August run
        closed = service.close_registration(city.db, city.counter, leaving, CloseIn(reason="reemployed"))
    assert closed.status == "closed"
    with time_machine.travel(SEP_20, tick=False):
        september = benefits.run_disbursement_month(city.db, city.admin, "2026-09")
    assert september.owed == 1
    assert _paid(city, leaver.person_id) == [("2026-08", LATER_MONTHLY_FEN)]
    assert _paid(city, stayer.person_id) == [("2026-08", LATER_MONTHLY_FEN), ("2026-09", LATER_MONTHLY_FEN)]
    assert set(paid_months(city).values()) == {1}
    # The money: one balanced transfer per month paid, from the unemployment fund to the bank's clearing account.
    with city.db.unit_of_work() as s:
        fund = s.execute(select(LedgerAccount.id).where(
            LedgerAccount.code == chart.Fund("unemployment").code)).scalar_one()
        payouts = list(s.execute(select(LedgerTransfer.amount).where(
            LedgerTransfer.debit_account_id == fund, LedgerTransfer.code == "benefit.payout")).scalars())
        assert sorted(payouts) == [LATER_MONTHLY_FEN] * 3
        ent = s.get(Entitlement, closed.entitlement_id)
        assert ent is not None and (ent.status, ent.end_period) == ("ended", "2026-08")
    assert_books_agree(city, opening)
    # A close dated before a month already paid out is refused: what was paid is corrected, never kept silently.
    with time_machine.travel(OCT_20, tick=False), pytest.raises(EntitlementInvalid):
        service.close_registration(city.db, city.counter, staying,
                                   CloseIn(reason="flexible", closed_on=dt.date(2026, 8, 30)))


def test_the_amount_is_the_policy_of_the_registration_day_and_the_duration_at_most_its_maximum(
        jobs_city: City, tmp_path: Path) -> None:
    city = jobs_city
    early, late = card_holders(city, tmp_path, ["六月失业", "八月失业"], activated=False)
    with time_machine.travel(AUG_5, tick=False):
        june = service.register(city.db, city.counter, RegistrationIn(
            id_number=early.id_number, kind="unemployment", registered_on=dt.date(2026, 6, 15)))
        august = service.register(city.db, city.counter, RegistrationIn(id_number=late.id_number,
                                                                        kind="unemployment"))
        with pytest.raises(RegistrationInvalid):
            service.open_unemployment_benefit(city.db, city.supervisor, june.id, BenefitIn(months=25))
        first = service.open_unemployment_benefit(city.db, city.supervisor, june.id, BenefitIn(months=6))
        assert service.open_unemployment_benefit(city.db, city.supervisor, june.id) == first  # once per registration
        second = service.open_unemployment_benefit(city.db, city.supervisor, august.id)
    with city.db.unit_of_work() as s:
        rows = {ent.id: (ent.start_period, ent.end_period, ent.kind, ent.fund) for ent in s.execute(
            select(Entitlement).where(Entitlement.id.in_([first.entitlement_id, second.entitlement_id]))).scalars()}
        amounts = {ent_id: amount for ent_id, amount in s.execute(select(
            EntitlementAmount.entitlement_id, EntitlementAmount.amount).where(
            EntitlementAmount.entitlement_id.in_(list(rows))))}
    assert rows[first.entitlement_id] == ("2026-06", "2026-11", "unemployment", "unemployment")
    assert rows[second.entitlement_id] == ("2026-08", "2028-07", "unemployment", "unemployment")  # 24 months
    assert amounts == {first.entitlement_id: 180_000, second.entitlement_id: LATER_MONTHLY_FEN}


def test_no_benefit_without_an_open_unemployment_registration(jobs_city: City, tmp_path: Path) -> None:
    city = jobs_city
    (holder,) = card_holders(city, tmp_path, ["求职丙"], activated=False)
    seeker = service.register(city.db, city.counter, RegistrationIn(id_number=holder.id_number, kind="job_seeker"))
    with pytest.raises(RegistrationInvalid):
        service.open_unemployment_benefit(city.db, city.supervisor, seeker.id)
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=holder.id_number, kind="unemployment"))
    service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="withdrawn"))
    with pytest.raises(RegistrationState):
        service.open_unemployment_benefit(city.db, city.supervisor, reg.id)
