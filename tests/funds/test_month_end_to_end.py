"""The funds' end-to-end check: a month of contributions and benefits for a small city (card holders made by the
production pipeline) through the simulated bank with every pay-out failure kind; after correction and re-issue
every entitled person is paid exactly once; the bank's side, the clearing accounts and the funds agree; the
ledger sums to zero; the original batches never change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import time_machine

from funds.benefits.benefit_world import (
    assert_books_agree,
    card_holders,
    grant,
    paid_months,
    registered_holder,
)
from funds.contributions.contrib_world import MONTH
from funds.contributions.contrib_world import holder as contributor
from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from sscard.funds.benefits import entitlements, reissue
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.schemas import CorrectionIn
from sscard.funds.month import run_month
from sscard.registry import service as registry
from sscard.registry.schemas import LivingStatus, PersonUpdate
from support.city import City

JULY_2014 = dt.datetime(2014, 7, 20, 2, tzinfo=dt.UTC)


def test_a_month_with_every_failure_is_paid_exactly_once_after_reissue(fresh_city: City, tmp_path: Path) -> None:
    city, bank = fresh_city, SimulatedBank(fresh_city.db)
    holders = card_holders(city, tmp_path, ["张伟", "李芳", "王娜", "刘秀", "陈英", "杨敏", "赵静", "黄丽"])
    sealed = card_holders(city, tmp_path / "s", ["周强"], activated=False)[0]  # card never activated
    old_way = registered_holder(city, "吴磊")
    nowhere = registered_holder(city, "郑军", open_at_bank=False)  # the bank has no such account
    frozen, closed, lost, renamed, dead, stale, *rest = holders
    # Contributions in the same month: a flexible worker withheld by her bank, one whose balance is too low.
    payer = contributor(city, bank, bank_code="ICBC", balance=2 * MONTH, start="2014-07", name="缴费甲")
    contributor(city, bank, bank_code="ICBC", balance=0, start="2014-07", name="缴费乙")
    opening = {"ICBC": 2 * MONTH}
    with time_machine.travel(dt.datetime(2013, 6, 1, 2, tzinfo=dt.UTC), tick=False):
        pensions = {stale.person_id: grant(city, stale, "pension", 240_000, "2013-07")}  # certified at the award
    with time_machine.travel(dt.datetime(2014, 7, 1, 2, tzinfo=dt.UTC), tick=False):
        pensions |= {h.person_id: grant(city, h, "pension", 250_000 + i * 100, "2014-07")
                     for i, h in enumerate([*holders, sealed, old_way, nowhere]) if h is not stale}
        jobless = grant(city, rest[0], "unemployment", 120_000, "2014-07", months=3)
        injury = grant(city, rest[1], "work_injury", 90_000, "2014-07")
        lump = grant(city, old_way, "lump_sum", 500_000, "2014-07")
        refund = grant(city, renamed, "reimbursement", 31_415, "2014-06")  # due since June: paid in July
        subsidy = grant(city, frozen, "employment_subsidy", 60_000, "2014-07")
    registry.update(city.db, city.admin, dead.id_number, PersonUpdate(living_status=LivingStatus.DECEASED))
    bank.set_state(frozen.bank, frozen.account_no, AccountState.FROZEN)
    bank.set_state(closed.bank, closed.account_no, AccountState.CLOSED)
    bank.set_state(lost.bank, lost.account_no, AccountState.LOST)
    bank.set_holder_name(renamed.bank, renamed.account_no, "李芳芳")

    with time_machine.travel(JULY_2014, tick=False):
        month = run_month(city.db, city.admin, "2014-07")
    assert month.contributions is not None and month.contributions_skipped is None
    assert (month.contributions["withheld_count"], month.contributions["withheld_fen"]) == (3, MONTH)
    assert bank.balance("ICBC", payer.account_no) == MONTH
    july = month.benefits
    # The stale pensioner was last certified at the award in June 2013: no pension from July 2014 (12 months
    # later) until certified again. The deceased pensioner is suspended by the registry's death data.
    assert july.held == 2
    assert all(b.success_count + b.failure_count == b.line_count for b in july.batches)
    reasons = {f.person_id: f.reason_code for f in reissue.failures(city.db, city.supervisor)}
    assert reasons == {frozen.person_id: "ACCOUNT_FROZEN", closed.person_id: "ACCOUNT_CLOSED",
                       lost.person_id: "ACCOUNT_LOST", renamed.person_id: "NAME_MISMATCH",
                       sealed.person_id: "FINANCIAL_NOT_ACTIVATED", nowhere.person_id: "NO_ACCOUNT"}
    assert len(reissue.failures(city.db, city.supervisor)) == 8  # + the subsidy (frozen) and the refund (renamed)
    assert_books_agree(city, opening)
    before = benefits.list_batches(city.db, city.supervisor, "2014-07")

    # Running the month again changes nothing and pays no one twice.
    with time_machine.travel(JULY_2014, tick=False):
        again = benefits.run_disbursement_month(city.db, city.admin, "2014-07")
    assert again.resumed and again.batches == before

    # The business section gets each failure corrected, then pays again in a supplementary batch.
    bank.set_state(frozen.bank, frozen.account_no, AccountState.NORMAL)
    bank.set_state(lost.bank, lost.account_no, AccountState.NORMAL)
    bank.set_holder_name(renamed.bank, renamed.account_no, renamed.name)
    bank.set_financial_activated(sealed.bank, sealed.account_no, True)
    bank.open_account(nowhere.bank, nowhere.account_no, nowhere.name, nowhere.id_number)
    bank.open_account("BOC", "8800000000000001", closed.name, closed.id_number)
    for f in reissue.failures(city.db, city.supervisor):
        change = {"bank_code": "BOC", "account_no": "8800000000000001", "holder_name": closed.name} \
            if f.person_id == closed.person_id else {}
        reissue.correct_failure(city.db, city.supervisor, f.id, CorrectionIn(note=f"fixed {f.reason_code}", **change))
    with time_machine.travel(JULY_2014, tick=False):
        redo = reissue.run_reissues(city.db, city.admin, "2014-07")
    assert redo.reissued == 8 and redo.waiting_for_account == 0
    assert all(b.failure_count == 0 for b in redo.batches)
    assert reissue.failures(city.db, city.supervisor) == []
    assert benefits.list_batches(city.db, city.supervisor, "2014-07", "regular") == \
        [b for b in before if b.kind == "regular"]  # the original batches never change

    paid = paid_months(city)
    owed_july = {(e, "2014-07") for p, e in pensions.items() if p not in (dead.person_id, stale.person_id)}
    owed_july |= {(jobless, "2014-07"), (injury, "2014-07"), (lump, "2014-07"), (subsidy, "2014-07"),
                  (refund, "2014-06")}
    assert set(paid) == owed_july and set(paid.values()) == {1}
    assert_books_agree(city, opening)
    lines = reissue.payments_for_person(city.db, city.supervisor, frozen.person_id)
    assert {(p.kind, p.status, p.attempts) for p in lines} == {("pension", "paid", 2),
                                                               ("employment_subsidy", "paid", 2)}

    # August: the uncertified pensioner certifies and is back-paid July with August; the deceased stays stopped.
    with time_machine.travel(dt.datetime(2014, 8, 10, 2, tzinfo=dt.UTC), tick=False):
        entitlements.certify(city.db, city.counter, stale.person_id, method="counter")
        august = run_month(city.db, city.admin, "2014-08", contributions=False).benefits
    assert august.released == 1 and august.held == 1
    paid = paid_months(city)
    assert paid[(pensions[stale.person_id], "2014-07")] == 1 and paid[(pensions[stale.person_id], "2014-08")] == 1
    assert (pensions[dead.person_id], "2014-08") not in paid
    stopped = reissue.payments_for_person(city.db, city.supervisor, dead.person_id)
    assert {(p.period_due, p.status, p.reason_code) for p in stopped} == {("2014-07", "stopped", "DECEASED"),
                                                                         ("2014-08", "stopped", "DECEASED")}
    assert_books_agree(city, opening)
