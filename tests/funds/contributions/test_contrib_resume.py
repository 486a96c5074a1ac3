"""A month killed part-way resumes where it stopped, and a tampered return file is refused whole: no one is
debited twice or skipped, nothing is posted twice, the ledger stays balanced."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from contrib_world import MONTH, PENSION_PERSONAL, Holder, holder
from sqlalchemy import func, select

from sscard.banks.errors import BankFileRejected
from sscard.banks.gateway import AccountStatus, BankGateway, CallResult
from sscard.banks.simulated import EmbeddedGateway, SimulatedBank
from sscard.funds.contributions import postings
from sscard.funds.contributions.models import ContribAssessment, WithholdingBatch
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from sscard.ledger.models import LedgerTransfer
from support.city import City
from support.filemac import reseal, resha


class Killed(RuntimeError):
    """The process dies here."""


class FaultyGateway:
    """The real embedded bank, with the process killed after a chosen call or the return file altered."""

    def __init__(self, real: EmbeddedGateway, *, kill_after_submit: bool = False, kill_on_fetch: bool = False,
                 alter: Callable[[bytes], bytes] | None = None) -> None:
        self.real, self.bank_code = real, real.bank_code
        self.kill_after_submit, self.kill_on_fetch, self.alter = kill_after_submit, kill_on_fetch, alter

    def submit(self, batch_file: bytes) -> str:
        handle = self.real.submit(batch_file)
        if self.kill_after_submit:
            raise Killed("after the bank took the file, before its handle was recorded")
        return handle

    def fetch_return(self, handle: str) -> bytes | None:
        if self.kill_on_fetch:
            raise Killed("before the return was imported")
        data = self.real.fetch_return(handle)
        return self.alter(data) if self.alter and data is not None else data

    def account_status(self, account_no: str) -> AccountStatus:
        return self.real.account_status(account_no)

    def debit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self.real.debit(account_no, name, amount, ref)

    def credit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self.real.credit(account_no, name, amount, ref)


def _setup(city: City) -> tuple[SimulatedBank, list[Holder]]:
    bank = SimulatedBank(city.db)
    return bank, [holder(city, bank, balance=3 * MONTH // 2) for _ in range(3)] + [holder(city, bank, balance=0)]


def _transfers(city: City) -> int:
    with city.db.unit_of_work() as session:
        return int(session.execute(select(func.count()).select_from(LedgerTransfer)).scalar_one())


def _assert_once(city: City, bank: SimulatedBank, people: list[Holder]) -> None:
    payers, poor = people[:3], people[3]
    assert [bank.balance("ICBC", h.account_no) for h in payers] == [MONTH // 2] * 3
    assert bank.balance("ICBC", poor.account_no) == 0
    assert bank.bureau_balance("ICBC") == 3 * MONTH
    assert _transfers(city) == 3 * 5
    with city.db.unit_of_work() as session:
        assert ledger.check_zero_sum(session).ok
        assert ledger.balance(session, "bank:ICBC:clearing").debit_balance == 3 * MONTH
        assert ledger.balance(session, f"person:{payers[0].person_id}:pension").credit_balance == PENSION_PERSONAL
        assert ledger.accounts_not_matching_journal(session) == []


def _gateways(city: City, **faults: object) -> Callable[[str], BankGateway]:
    return lambda code: FaultyGateway(EmbeddedGateway(city.db, code), **faults)  # type: ignore[arg-type]


@pytest.mark.parametrize("fault", ["kill_after_submit", "kill_on_fetch"])
def test_a_run_killed_between_file_export_and_return_import_resumes_without_double_debits(
        month_city: City, fault: str) -> None:
    bank, people = _setup(month_city)
    with pytest.raises(Killed):
        run_withholding_month(month_city.db, month_city.admin, "2014-06",
                              gateways=_gateways(month_city, **{fault: True}))
    assert bank.bureau_balance("ICBC") == 3 * MONTH  # the bank did its part …
    assert _transfers(month_city) == 0  # … the bureau has not imported it yet

    result = run_withholding_month(month_city.db, month_city.admin, "2014-06")
    assert result.status == "done" and (result.withheld_count, result.failed_count) == (9, 3)
    _assert_once(month_city, bank, people)


def test_a_run_killed_in_the_middle_of_posting_leaves_nothing_half_written(month_city: City,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bank, people = _setup(month_city)
    real_post = postings.post

    def post_then_die(session: object, transfers: object) -> int:
        real_post(session, transfers)  # type: ignore[arg-type]
        raise Killed("in the middle of the import transaction, after the ledger rows were written")

    monkeypatch.setattr(postings, "post", post_then_die)
    with pytest.raises(Killed):
        run_withholding_month(month_city.db, month_city.admin, "2014-06")
    assert _transfers(month_city) == 0
    with month_city.db.unit_of_work() as session:
        statuses = set(session.execute(select(ContribAssessment.status)).scalars())
        assert statuses == {"sent"}

    monkeypatch.setattr(postings, "post", real_post)
    run_withholding_month(month_city.db, month_city.admin, "2014-06")
    _assert_once(month_city, bank, people)


def _reseal(data: bytes) -> bytes:
    """Recompute the checksum and MAC after an edit, as a careless or malicious bank (holding its key) would."""
    return reseal(data)


def _edit_line(data: bytes, index: int, edit: Callable[[list[str]], list[str]]) -> bytes:
    lines = data.decode().split("\n")
    lines[index] = "|".join(edit(lines[index].split("|")))
    return "\n".join(lines).encode()


TAMPERING: dict[str, Callable[[bytes], bytes]] = {
    "BANK_FILE_MAC": lambda d: resha(_edit_line(d, 1, lambda f: [*f[:5], "F", "ACCOUNT_FROZEN"])),
    "BANK_FILE_TOTALS": lambda d: _reseal(_edit_line(d, 1, lambda f: [*f[:5], "F", "ACCOUNT_FROZEN"])),
    "BANK_FILE_UNKNOWN_LINE": lambda d: _reseal(_edit_line(d, 1, lambda f: [f[0], f[1], "A999999", *f[3:]])),
    "BANK_FILE_DUPLICATE_LINE": lambda d: _reseal(_edit_line(d, 2, lambda f: [f[0], "1", *f[2:]])),
    "BANK_FILE_TRUNCATED": lambda d: d[:-40],
    "BANK_FILE_ENCODING": lambda d: _reseal(d.replace(b"|S|", b"|\xff|", 1)),
}


def test_tampered_return_files_are_refused_whole_and_the_run_resumes_with_the_honest_one(month_city: City) -> None:
    bank, people = _setup(month_city)
    for code, tamper in sorted(TAMPERING.items()):
        with pytest.raises(BankFileRejected) as refused:
            run_withholding_month(month_city.db, month_city.admin, "2014-06", gateways=_gateways(month_city,
                                                                                               alter=tamper))
        assert refused.value.code == code
        assert _transfers(month_city) == 0
        with month_city.db.unit_of_work() as session:
            assert set(session.execute(select(ContribAssessment.status)).scalars()) == {"sent"}
            assert session.execute(select(WithholdingBatch.status)).scalar_one() == "submitted"

    run_withholding_month(month_city.db, month_city.admin, "2014-06")
    _assert_once(month_city, bank, people)


def test_two_runs_of_the_same_month_at_once_collect_once(month_city: City) -> None:
    bank, people = _setup(month_city)
    results: list[object] = []

    def run() -> None:
        try:
            results.append(run_withholding_month(month_city.db, month_city.admin, "2014-06"))
        except Exception as exc:  # collected and asserted below: a thread cannot raise into the test
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not isinstance(r, Exception) for r in results), results
    _assert_once(month_city, bank, people)
