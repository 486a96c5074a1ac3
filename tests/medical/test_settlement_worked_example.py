"""domain_rules.md §3.4 reproduces exactly — through the shipped example policy, catalogue and bill files, and
through a policy built in code — and so does the capped variant (YTD 295,000 of a 300,000 cap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from settlement_builders import bill, catalogue, line, person, policy, rule

from sscard.medical.engine import settle
from sscard.medical.engine_schemas import Split
from sscard.medical.loading import load_bill, load_catalogue, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _from_files(name: str) -> Split:
    bill_file = load_bill(EXAMPLES / name)
    in_effect = load_policy().in_effect(bill_file.date)
    assert in_effect is not None
    return settle(bill_file.bill(), in_effect, load_catalogue(), bill_file.person)


def _in_code(fund_paid_ytd_fen: int = 0) -> Split:
    the_rule = rule(deductible_fen=160_000, ratio_bp=8000, annual_cap_fen=30_000_000)
    the_bill = bill(line("JIA", 1_200_000), line("YI", 500_000), line("BING", 300_000))
    who = person(account_balance_fen=200_000, fund_paid_ytd_fen=fund_paid_ytd_fen)
    return settle(the_bill, policy(the_rule, yi_self_pay_bp=1000), catalogue(), who)


@pytest.mark.parametrize("split", [_from_files("bill-worked-example.json"), _in_code()], ids=["files", "code"])
def test_worked_example_reproduces_exactly(split: Split) -> None:
    assert split.total_fen == 2_000_000
    assert split.out_of_catalogue_fen == 300_000  # 丙类 3,000
    assert split.first_self_pay_fen == 50_000  # 乙类 5,000 × 10 %
    assert split.in_scope_fen == 1_650_000  # 12,000 + 4,500
    assert split.deductible_paid_fen == 160_000
    assert split.fund_paid_fen == 1_192_000  # (16,500 − 1,600) × 80 %
    assert split.copay_fen == 298_000  # 14,900 × 20 %
    assert split.self_pay_fen == 508_000  # 500 + 1,600 + 2,980
    assert split.own_expense_fen == 300_000
    assert split.patient_total_fen == 808_000
    assert split.account_paid_fen == 200_000
    assert split.cash_fen == 608_000
    assert split.account_balance_after_fen == 0
    assert split.fund_paid_fen + split.patient_total_fen == split.total_fen


@pytest.mark.parametrize("split", [_from_files("bill-worked-example-capped.json"), _in_code(29_500_000)],
                         ids=["files", "code"])
def test_worked_example_capped_variant_pays_only_what_is_left_under_the_cap(split: Split) -> None:
    assert split.remaining_cap_before_fen == 500_000
    assert split.fund_before_cap_fen == 1_192_000
    assert split.fund_paid_fen == 500_000
    assert split.over_annual_cap_fen == 692_000  # to 大额 insurance or the patient
    assert split.self_pay_fen == 508_000 + 692_000
    assert (split.account_paid_fen, split.cash_fen) == (200_000, 1_300_000)
    assert split.accumulators.fund_paid_fen == 500_000
