"""The month's bank withholding through the simulated bank: every failure reason, the order when the balance
is short, the retry of a failed month with the next month's run, the ledger, and an idempotent re-run."""

from __future__ import annotations

import datetime as dt

import pytest
from contrib_world import (
    MEDICAL,
    MEDICAL_PERSONAL,
    MONTH,
    PENSION,
    PENSION_PERSONAL,
    UNEMPLOYMENT,
    holder,
)

from sscard.access import Actor, PermissionDenied, Role
from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from sscard.db import Database
from sscard.funds.contributions import history
from sscard.funds.contributions.terms import ContribScheme
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from support.city import City


def _balance(db: Database, code: str) -> int:
    with db.unit_of_work() as session:
        return ledger.balance(session, code).credit_balance


def _zero_sum_and_journal(db: Database) -> None:
    with db.unit_of_work() as session:
        assert ledger.check_zero_sum(session).ok
        assert ledger.accounts_not_matching_journal(session) == []


def _reasons(city: City, period: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for failure in history.failures(city.db, city.admin, period):
        found.setdefault(failure.person_id, set()).add(failure.reason)
    return found


def test_every_failure_reason_comes_back_per_line_and_only_successes_are_posted(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    ok = holder(city, bank, balance=MONTH)
    cases = {
        "ACCOUNT_FROZEN": holder(city, bank, balance=MONTH, state=AccountState.FROZEN),
        "ACCOUNT_CLOSED": holder(city, bank, balance=MONTH, state=AccountState.CLOSED),
        "ACCOUNT_LOST": holder(city, bank, balance=MONTH, state=AccountState.LOST),
        "NAME_MISMATCH": holder(city, bank, balance=MONTH, bank_name="另一个人"),
        "FINANCIAL_NOT_ACTIVATED": holder(city, bank, balance=MONTH, activated=False),
        "INSUFFICIENT_BALANCE": holder(city, bank, balance=0),
        "NO_ACCOUNT": holder(city, bank, open_account=False),
        "AUTHORISATION_MISSING": holder(city, bank, balance=MONTH, authorise=False),
        "AUTHORISATION_LAPSED": holder(city, bank, balance=MONTH, valid_until=dt.date(2014, 5, 31)),
    }
    result = run_withholding_month(city.db, city.admin, "2014-06")

    assert result.status == "done" and result.assessed == 3 * (len(cases) + 1)
    assert (result.withheld_count, result.withheld_fen) == (3, MONTH)
    assert result.failed_count == 3 * len(cases) and result.failed_fen == MONTH * len(cases)
    assert result.not_authorised == 6
    [batch] = result.batches
    assert batch.line_count == batch.ok_count + batch.failed_count  # header = Σ successes + Σ failures
    assert batch.total_fen == batch.ok_fen + batch.failed_fen
    reasons = _reasons(city, "2014-06")
    assert ok.person_id not in reasons
    assert reasons == {h.person_id: {reason} for reason, h in cases.items()}

    # Only the one success moved money: bank side and ledger side agree, and the ledger sums to zero.
    assert bank.balance("ICBC", ok.account_no) == 0
    assert bank.balance("ICBC", cases["ACCOUNT_FROZEN"].account_no) == MONTH
    assert bank.bureau_balance("ICBC") == MONTH
    with city.db.unit_of_work() as session:
        assert ledger.balance(session, "bank:ICBC:clearing").debit_balance == MONTH
    assert _balance(city.db, f"person:{ok.person_id}:pension") == PENSION_PERSONAL
    assert _balance(city.db, f"person:{ok.person_id}:medical") == MEDICAL_PERSONAL
    assert _balance(city.db, "fund:unemployment") == UNEMPLOYMENT
    assert _balance(city.db, "fund:pension") == PENSION - PENSION_PERSONAL
    assert _balance(city.db, "fund:pool:employee") == MEDICAL - MEDICAL_PERSONAL
    _zero_sum_and_journal(city.db)

    # A closed account lapses its authorisation: next month nothing goes to the bank for that person.
    bank.set_state("ICBC", cases["ACCOUNT_FROZEN"].account_no, AccountState.NORMAL)
    bank.deposit("ICBC", cases["ACCOUNT_FROZEN"].account_no, MONTH)
    bank.deposit("ICBC", ok.account_no, MONTH)
    july = run_withholding_month(city.db, city.admin, "2014-07")
    reasons = _reasons(city, "2014-07")
    assert reasons[cases["ACCOUNT_CLOSED"].person_id] == {"AUTHORISATION_LAPSED"}
    assert reasons[cases["NO_ACCOUNT"].person_id] == {"AUTHORISATION_LAPSED"}
    assert ok.person_id not in reasons
    assert cases["ACCOUNT_FROZEN"].person_id not in reasons  # unfrozen: June paid with July's run (retry)
    assert bank.balance("ICBC", cases["ACCOUNT_FROZEN"].account_no) == 0
    assert july.withheld_fen == 2 * MONTH + MONTH  # ok's July + unfrozen's June and July, no more
    _zero_sum_and_journal(city.db)


def test_short_balance_pays_pension_then_medical_then_unemployment(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    all_but_unemployment = holder(city, bank, balance=MONTH - 1)
    pension_only = holder(city, bank, balance=PENSION + MEDICAL - 1)  # unemployment still fits after medical fails
    pension_short = holder(city, bank, balance=PENSION - 1)
    run_withholding_month(city.db, city.admin, "2014-06")
    reasons = _reasons(city, "2014-06")

    records = {h.person_id: {r.insurance_type: r.status
                             for r in history.contribution_history(city.db, city.admin, h.person_id)}
               for h in (all_but_unemployment, pension_only, pension_short)}
    assert records[all_but_unemployment.person_id] == {"pension": "paid", "medical": "paid",
                                                        "unemployment": "failed"}
    assert records[pension_only.person_id] == {"pension": "paid", "medical": "failed", "unemployment": "paid"}
    assert records[pension_short.person_id] == {"pension": "failed", "medical": "paid", "unemployment": "paid"}
    assert all(r == {"INSUFFICIENT_BALANCE"} for r in reasons.values())
    assert bank.balance("ICBC", all_but_unemployment.account_no) == UNEMPLOYMENT - 1
    _zero_sum_and_journal(city.db)


def test_a_failed_month_is_retried_with_the_next_months_run(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    poor = holder(city, bank, balance=0)
    run_withholding_month(city.db, city.admin, "2014-06")
    [june] = [r for r in history.contribution_history(city.db, city.admin, poor.person_id) if r.scheme ==
              "flex_pension"]
    assert (june.status, june.last_reason, june.attempts) == ("failed", "INSUFFICIENT_BALANCE", 1)
    assert june.advice_en and "next month" in june.advice_en

    bank.deposit("ICBC", poor.account_no, 2 * MONTH)
    july = run_withholding_month(city.db, city.admin, "2014-07")
    assert (july.withheld_count, july.withheld_fen, july.failed_count) == (6, 2 * MONTH, 0)
    records = history.contribution_history(city.db, city.admin, poor.person_id)
    assert [(r.period, r.status) for r in records if r.scheme == "flex_pension"] == [("2014-07", "paid"),
                                                                                    ("2014-06", "paid")]
    assert [r.attempts for r in records if r.period == "2014-06"] == [2, 2, 2]
    assert _balance(city.db, f"person:{poor.person_id}:pension") == 2 * PENSION_PERSONAL
    _zero_sum_and_journal(city.db)


def test_running_a_finished_month_again_changes_nothing(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    someone = holder(city, bank, balance=5 * MONTH)
    resident = holder(city, bank, balance=10_000,
                      schemes=(ContribScheme.RESIDENT_PENSION, ContribScheme.RESIDENT_MEDICAL))
    first = run_withholding_month(city.db, city.admin, "2014-06")
    # A resident at level 2 (20 yuan, all to the personal account) and the flat residents' medical amount.
    assert _balance(city.db, f"person:{resident.person_id}:pension") == 2_000
    assert _balance(city.db, "fund:pool:resident") == 1_500
    assert bank.balance("ICBC", resident.account_no) == 10_000 - 3_500
    with city.db.unit_of_work() as session:
        journal = len(ledger.history(session, "bank:ICBC:clearing", limit=1000))
    again = run_withholding_month(city.db, city.admin, "2014-06")

    assert again.replayed and not first.replayed
    assert again.model_dump(exclude={"replayed"}) == first.model_dump(exclude={"replayed"})
    assert bank.balance("ICBC", someone.account_no) == 4 * MONTH
    with city.db.unit_of_work() as session:
        assert len(ledger.history(session, "bank:ICBC:clearing", limit=1000)) == journal == 5 + 2
    _zero_sum_and_journal(city.db)


def test_a_cardholder_reads_only_their_own_history_and_counters_cannot_read_funds(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    mine, theirs = holder(city, bank, balance=MONTH), holder(city, bank, balance=MONTH)
    run_withholding_month(city.db, city.admin, "2014-06")
    me = Actor(operator_id=None, username="portal:me", role=Role.CARDHOLDER, person_id=mine.person_id)

    records = history.contribution_history(city.db, me, mine.person_id)
    assert {(r.insurance_type, r.status, r.amount_fen) for r in records} == {
        ("pension", "paid", PENSION), ("medical", "paid", MEDICAL), ("unemployment", "paid", UNEMPLOYMENT)}
    with pytest.raises(PermissionDenied):
        history.contribution_history(city.db, me, theirs.person_id)
    with pytest.raises(PermissionDenied):
        history.contribution_history(city.db, city.counter, mine.person_id)
    with pytest.raises(PermissionDenied):
        run_withholding_month(city.db, city.supervisor, "2014-07")
