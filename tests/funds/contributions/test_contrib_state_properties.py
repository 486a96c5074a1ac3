"""Months of withholding with random deposits: nobody pays a month twice, the bank's books and the ledger agree
after every month, and suspension follows the arrears count."""

from __future__ import annotations

from collections.abc import Callable

from contrib_world import MONTH, PENSION, holder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions.models import ContribAssessment, ContribInsured, WithholdingLine
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.ledger.models import LedgerTransfer
from support.city import City


def _clearing(session: Session) -> int:
    try:
        return ledger.balance(session, "bank:ICBC:clearing").debit_balance
    except LedgerAccountNotFound:
        return 0


deposit = st.sampled_from([0, 0, PENSION, MONTH, 2 * MONTH, 4 * MONTH])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(deposit, deposit, deposit), min_size=5, max_size=5))
def test_random_months_never_collect_twice_and_keep_bank_and_ledger_equal(
        new_month_city: Callable[[], City], deposits: list[tuple[int, int, int]]) -> None:
    city = new_month_city()
    bank = SimulatedBank(city.db)
    people = [holder(city, bank) for _ in range(3)]
    paid_in = 0
    for month, amounts in enumerate(deposits, start=1):
        for person, amount in zip(people, amounts, strict=True):
            if amount:
                bank.deposit("ICBC", person.account_no, amount)
                paid_in += amount
        run_withholding_month(city.db, city.admin, f"2014-{month:02d}")

        at_bank = bank.bureau_balance("ICBC")
        left = sum(bank.balance("ICBC", p.account_no) for p in people)
        assert paid_in - left == at_bank  # the bank moved only what it reports
        with city.db.unit_of_work() as session:
            assert ledger.check_zero_sum(session).ok
            assert _clearing(session) == at_bank  # the account opens with the first collection
            paid = session.execute(select(func.count(), func.coalesce(func.sum(ContribAssessment.amount_fen), 0))
                                   .where(ContribAssessment.status == "paid")).one()
            ok_lines = session.execute(select(func.count(), func.count(func.distinct(WithholdingLine.assessment_id)))
                                       .where(WithholdingLine.status == "ok")).one()
            assert ok_lines[0] == ok_lines[1] == paid[0]  # one successful line per paid month, never two
            assert int(paid[1]) == at_bank
            transfers = session.execute(select(func.count()).select_from(LedgerTransfer)).scalar_one()
            parts = session.execute(select(func.count()).select_from(ContribAssessment).where(
                ContribAssessment.status == "paid", ContribAssessment.personal_fen > 0)).scalar_one()
            assert transfers == paid[0] + parts  # a pool and (if any) a personal transfer per paid month
            for row in session.execute(select(ContribInsured)).scalars():
                assert (row.status == "suspended") == (row.arrears_months >= 3)
