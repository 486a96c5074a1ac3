"""Arrears: counted per unpaid month; collection suspended after the configured number of months (default 3,
policy ``contrib.arrears_suspend_months``); paying the arrears restores collection from the next run."""

from __future__ import annotations

import datetime as dt

import pytest
from contrib_world import MONTH, holder

from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions import history
from sscard.funds.contributions.arrears import pay_arrears
from sscard.funds.contributions.errors import NoArrears
from sscard.funds.contributions.models import ContribInsured
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from sscard.policy import service as policy
from support.city import City


def _insured(city: City, person_id: int) -> tuple[str, int, str | None]:
    with city.db.unit_of_work() as session:
        row = session.get(ContribInsured, person_id)
        assert row is not None
        return row.status, row.arrears_months, row.suspended_from


def test_three_months_of_arrears_suspend_collection_until_they_are_paid(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    poor = holder(city, bank, balance=0)
    holder(city, bank, balance=10 * MONTH)  # pays every month
    for n, period in enumerate(("2014-01", "2014-02"), start=1):
        run_withholding_month(city.db, city.admin, period)
        assert _insured(city, poor.person_id) == ("active", n, None)
    march = run_withholding_month(city.db, city.admin, "2014-03")
    assert _insured(city, poor.person_id) == ("suspended", 3, "2014-04")
    assert march.suspended_persons == 1

    april = run_withholding_month(city.db, city.admin, "2014-04")
    assert april.assessed == 3  # the payer only: the suspended person is neither assessed nor withheld
    assert {r.period for r in history.contribution_history(city.db, city.admin, poor.person_id)} == {
        "2014-01", "2014-02", "2014-03"}

    # Too little to pay the arrears: the first refusal stops the collection, nothing changes.
    bank.deposit("ICBC", poor.account_no, MONTH)
    short = pay_arrears(city.db, city.admin, poor.id_number)
    assert (short.paid_count, short.reason, short.status) == (3, "INSUFFICIENT_BALANCE", "suspended")
    assert (short.still_owed_count, short.still_owed_fen) == (6, 2 * MONTH)

    bank.deposit("ICBC", poor.account_no, 3 * MONTH)
    paid = pay_arrears(city.db, city.admin, poor.id_number)
    assert (paid.paid_count, paid.paid_fen, paid.still_owed_count, paid.status) == (6, 2 * MONTH, 0, "active")
    assert _insured(city, poor.person_id) == ("active", 0, None)
    assert bank.balance("ICBC", poor.account_no) == MONTH
    with pytest.raises(NoArrears):
        pay_arrears(city.db, city.admin, poor.id_number)

    may = run_withholding_month(city.db, city.admin, "2014-05")  # collection resumed
    assert may.assessed == 6 and may.withheld_count == 6 and may.failed_count == 0
    assert bank.balance("ICBC", poor.account_no) == 0
    at_bank = bank.bureau_balance("ICBC")
    with city.db.unit_of_work() as session:
        assert ledger.check_zero_sum(session).ok
        assert ledger.balance(session, "bank:ICBC:clearing").debit_balance == at_bank
        assert ledger.accounts_not_matching_journal(session) == []


def test_the_number_of_months_before_suspension_is_policy(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    policy.load_initial(city.db, city.admin, [  # the city's schedule, loaded before anyone is registered
        policy.InitialValue("contrib.arrears_suspend_months", 2, dt.date(2014, 1, 1), "stricter city")])
    poor = holder(city, bank, balance=0)
    run_withholding_month(city.db, city.admin, "2014-01")
    assert _insured(city, poor.person_id)[0] == "active"
    run_withholding_month(city.db, city.admin, "2014-02")
    assert _insured(city, poor.person_id) == ("suspended", 2, "2014-03")
