"""The chart of accounts: each account's code is the one the platform has always used, ``parse`` gives back the
same typed value, kinds and limits are the chart's, and a code outside the chart is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard.ledger import chart
from sscard.ledger.errors import LedgerAccountInvalid
from support.city import City

part = st.from_regex(r"\A[A-Za-z0-9_.\-]{1,20}\Z")
person = st.integers(1, 10**12)
accounts = st.one_of(
    person.map(chart.PersonalMedical), person.map(chart.PersonalPension), part.map(chart.MedicalPool),
    part.map(chart.AccountAllocation), part.filter(lambda p: p not in ("pool", "account-allocation")).map(chart.Fund),
    part.map(chart.BankClearing), part.map(chart.InstitutionPayable))


def test_the_codes_are_those_in_use() -> None:
    assert [a.code for a in (chart.PersonalMedical(12), chart.PersonalPension(12), chart.MedicalPool("employee"),
                             chart.AccountAllocation("employee"), chart.Fund("pension"), chart.BankClearing("ICBC"),
                             chart.InstitutionPayable("H001"), chart.MEDICAL_REIMBURSEMENT)] == [
        "person:12:medical", "person:12:pension", "fund:pool:employee", "fund:account-allocation:employee",
        "fund:pension", "bank:ICBC:clearing", "institution:H001:payable", "fund:medical"]


@given(accounts)
def test_parse_gives_back_the_account(account: chart.Account) -> None:
    assert chart.parse(account.code) == account


def test_only_personal_accounts_are_limited() -> None:
    limited = {type(a) for a in (chart.PersonalMedical(1), chart.PersonalPension(1), chart.MedicalPool("resident"),
                                 chart.Fund("medical"), chart.BankClearing("ABC"), chart.InstitutionPayable("P1"))
               if a.never_negative}
    assert limited == {chart.PersonalMedical, chart.PersonalPension}


@pytest.mark.parametrize("code", ["person:0:medical", "person:x:medical", "person:1:other", "fund:pool",
                                  "fund:pool:a:b", "bank:ICBC", "institution:H1", "other:1", "", "fund:"])
def test_a_code_outside_the_chart_is_refused(code: str) -> None:
    with pytest.raises(LedgerAccountInvalid):
        chart.parse(code)


def test_opening_uses_the_charts_kind_and_flag(city: City) -> None:
    account = chart.InstitutionPayable(f"T{id(city) % 10**8}")
    pool = chart.MedicalPool("employee")
    with city.db.unit_of_work() as s:
        chart.open_missing(s, [account, pool])
        opened = chart.open_account(s, chart.PersonalMedical(10**15 + id(city) % 10**8))
    assert (opened.kind, opened.debits_must_not_exceed_credits) == ("medical_personal", True)
    with city.db.unit_of_work() as s:
        payable = chart.open_account(s, account)
    assert (payable.code, payable.kind, payable.debits_must_not_exceed_credits) == (
        account.code, "institution_payable", False)
