"""The simulated bank: accounts, batch files answered with every failure reason, resubmission, real-time calls."""

from __future__ import annotations

import pytest

from sscard.banks import files as bf
from sscard.banks.errors import (
    BankBatchConflict,
    BankFileRejected,
    SimAccountExists,
    SimAmountInvalid,
    SimCallInvalid,
)
from sscard.banks.gateway import AccountState, BankGateway, gateway_for
from sscard.banks.simulated import BUREAU_ACCOUNT, NewAccount, SimulatedBank
from support.city import City

# account → (holder, state, financial function on, opening balance)
ACCOUNTS = {
    "1001": ("张伟", "normal", True, 10_000),
    "1002": ("李娜", "closed", True, 0),
    "1003": ("王芳", "frozen", True, 50_000),
    "1004": ("赵敏", "lost", True, 50_000),
    "1005": ("陈静", "normal", False, 50_000),
    "1006": ("刘洋", "normal", True, 100),
}


def _open(city: City, bank_code: str) -> SimulatedBank:
    bank = SimulatedBank(city.db)
    opened = bank.open_accounts([NewAccount(bank_code, no, name, "", AccountState(state), active, balance)
                                 for no, (name, state, active, balance) in ACCOUNTS.items()])
    assert opened == len(ACCOUNTS)
    assert bank.open_accounts([NewAccount(bank_code, "1001", "别人")]) == 0  # existing accounts are kept
    return bank


def _line(no: int, account: str, name: str, amount: int) -> bf.BatchLine:
    return bf.BatchLine(no, f"ref-{no}", account, name, "", amount)


# every reason code once, plus successes
LINES = [
    _line(1, "1001", "张伟", 3_000),  # ok
    _line(2, "1002", "李娜", 3_000),  # closed
    _line(3, "1003", "王芳", 3_000),  # frozen
    _line(4, "1004", "赵敏", 3_000),  # lost
    _line(5, "1005", "陈静", 3_000),  # not activated
    _line(6, "1001", "张 伟", 3_000),  # name mismatch
    _line(7, "9999", "无名", 3_000),  # no account
    _line(8, "1006", "刘洋", 3_000),  # debit: insufficient (100)
    _line(9, "1001", "张伟", 5_000),  # debit: 10,000 − 3,000 − 5,000 ok
    _line(10, "1001", "张伟", 5_000),  # debit: 2,000 left → insufficient
]


def _submit(bank: SimulatedBank, bank_code: str, kind: bf.Kind, batch_id: str = "B1") -> tuple[bf.BatchFile, bytes]:
    header = bf.new_header(bank_code, kind, batch_id, "2014-07", LINES)
    data = bf.write_batch(header, LINES)
    handle = bank.submit(bank_code, data)
    answer = bank.fetch_return(handle)
    assert answer is not None
    return bf.parse_batch(data), answer


def test_a_withholding_file_is_answered_with_every_failure_reason(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    sent, answer = _submit(bank, bank_code, bf.Kind.DEBIT)
    ret = bf.parse_return(answer, sent)
    reasons = {line.line_no: line.reason for line in ret.lines}
    assert reasons == {1: None, 2: "ACCOUNT_CLOSED", 3: "ACCOUNT_FROZEN", 4: "ACCOUNT_LOST",
                       5: "FINANCIAL_NOT_ACTIVATED", 6: "NAME_MISMATCH", 7: "NO_ACCOUNT", 8: "INSUFFICIENT_BALANCE",
                       9: None, 10: "INSUFFICIENT_BALANCE"}
    assert {r.value for r in bf.Reason} == {r for r in reasons.values() if r}
    assert (ret.ok_count, ret.ok_amount) == (2, 8_000)
    assert ret.ok_amount + ret.failed_amount == sent.header.total
    assert bank.balance(bank_code, "1001") == 2_000
    assert bank.bureau_balance(bank_code) == 8_000  # withheld into the bureau's account
    assert bank.balance(bank_code, "1006") == 100


def test_a_payout_file_credits_the_holders_and_draws_on_the_bureau(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    before = bank.holders_total(bank_code)
    sent, answer = _submit(bank, bank_code, bf.Kind.CREDIT)
    ret = bf.parse_return(answer, sent)
    assert [line.line_no for line in ret.lines if line.ok] == [1, 8, 9, 10]
    assert bank.balance(bank_code, "1001") == 10_000 + 13_000
    assert bank.holders_total(bank_code) - before == ret.ok_amount == -bank.bureau_balance(bank_code)


def test_a_resubmitted_file_is_answered_once(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    header = bf.new_header(bank_code, "credit", "B2", "2014-07", LINES)
    first = bank.submit(bank_code, bf.write_batch(header, LINES))
    again = bf.write_batch(bf.BatchHeader(*[*(getattr(header, f) for f in ("bank_code", "kind", "batch_id",
                                                                              "period", "count", "total")),
                                             "20991231235959"]), LINES)  # re-exported later
    assert bank.submit(bank_code, again) == first
    assert bank.balance(bank_code, "1001") == 10_000 + 13_000  # credited once
    other = [*LINES[:-1], LINES[-1]._replace(amount=1)]
    with pytest.raises(BankBatchConflict):
        bank.submit(bank_code, bf.write_batch(bf.new_header(bank_code, "credit", "B2", "2014-07", other), other))


def test_a_bad_file_is_refused_and_changes_nothing(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    data = bf.write_batch(bf.new_header(bank_code, "credit", "B3", "2014-07", LINES), LINES)
    with pytest.raises(BankFileRejected):
        bank.submit(bank_code, data.replace(b"|3000\n", b"|3001\n", 1))
    with pytest.raises(BankFileRejected) as err:
        bank.submit("OTHER", data)
    assert err.value.code == "BANK_FILE_MISMATCH"
    assert bank.balance(bank_code, "1001") == 10_000


def test_real_time_calls_move_money_once_per_reference(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    gateway = gateway_for(bank_code, db=city.db)
    assert isinstance(gateway, BankGateway)
    ok = gateway.debit("1001", "张伟", 4_000, "rt-1")
    assert (ok.ok, ok.reason, ok.replayed) == (True, None, False)
    assert gateway.debit("1001", "张伟", 4_000, "rt-1").replayed
    assert bank.balance(bank_code, "1001") == 6_000
    assert gateway.debit("1001", "张伟", 7_000, "rt-2").reason == bf.Reason.INSUFFICIENT_BALANCE
    assert gateway.credit("1003", "王芳", 1, "rt-3").reason == bf.Reason.ACCOUNT_FROZEN
    assert gateway.credit("1005", "陈静", 1, "rt-4").reason == bf.Reason.FINANCIAL_NOT_ACTIVATED
    assert gateway.credit("404", "x", 1, "rt-5").reason == bf.Reason.NO_ACCOUNT
    assert gateway.credit(BUREAU_ACCOUNT, "社会保险基金管理局", 1, "rt-6").reason == bf.Reason.NO_ACCOUNT
    assert gateway.credit("1001", "张伟", 500, "rt-7").ok
    assert bank.balance(bank_code, "1001") == 6_500
    assert bank.bureau_balance(bank_code) == 4_000 - 500
    with pytest.raises(BankBatchConflict):
        gateway.credit("1001", "张伟", 501, "rt-7")
    with pytest.raises(SimCallInvalid):
        gateway.credit("1001", "张伟", 1, "r" * 65)
    with pytest.raises(SimAmountInvalid):
        gateway.debit("1001", "张伟", -5, "rt-8")


def test_account_status_and_state_changes(city: City, bank_code: str) -> None:
    bank = _open(city, bank_code)
    gateway = gateway_for(bank_code, db=city.db)
    status = gateway.account_status("1005")
    assert (status.exists, status.state, status.financial_activated, status.holder_name) == (
        True, AccountState.NORMAL, False, "陈静")
    assert not gateway.account_status("404").exists
    bank.set_state(bank_code, "1005", "lost")
    bank.set_financial_activated(bank_code, "1005", True)
    assert gateway.account_status("1005").state == AccountState.LOST
    bank.set_state(bank_code, "1005", AccountState.NORMAL)
    bank.set_holder_name(bank_code, "1005", "陈静怡")
    assert gateway.credit("1005", "陈静", 1, "rt-x").reason == bf.Reason.NAME_MISMATCH
    assert bank.deposit(bank_code, "1005", 25) == 50_025
    with pytest.raises(SimAmountInvalid):
        bank.deposit(bank_code, "1005", 0)
    with pytest.raises(SimAccountExists):
        bank.open_account(bank_code, "1005", "陈静")


def test_the_same_file_submitted_twice_at_once_is_applied_once(city: City, bank_code: str) -> None:
    import threading

    bank = _open(city, bank_code)
    header = bf.new_header(bank_code, "credit", "B-race", "2014-07", LINES)
    data = bf.write_batch(header, LINES)
    handles: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def submit() -> None:
        start.wait()
        try:
            handles.append(bank.submit(bank_code, data))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(handles) == 2 and handles[0] == handles[1]
    assert bank.balance(bank_code, "1001") == 10_000 + 13_000  # credited once


def test_the_bank_checks_the_mac_with_its_own_key_and_signs_its_answer_with_it(city: City, bank_code: str) -> None:
    from sscard.kms.partners import PartnerKeys
    from support.filemac import remac, resha

    keys = PartnerKeys(bytes(range(32)))  # a real KEK: the bank and the bureau hold exactly these keys
    keys.create(f"bank:{bank_code}")
    keys.create("bank:ICBC")
    bank = _open(city, bank_code)
    bank.keys = keys
    lines = [_line(1, "1001", "张伟", 3000)]
    header = bf.new_header(bank_code, "credit", "MAC1", "2014-07", lines)
    data = bf.write_batch(header, lines, keys)
    forged = resha(data.replace(b"|3000\n", b"|9000\n").replace(b"|1|3000|", b"|1|9000|"))  # SHA fixed, no key
    for wrong in (forged, remac(data, "bank:ICBC", keys), data[:data.rindex(b"|", 0, data.rindex(b"|"))] + b"\n"):
        with pytest.raises(BankFileRejected) as err:
            bank.submit(bank_code, wrong)
        assert err.value.code == "BANK_FILE_MAC"
    assert bank.balance(bank_code, "1001") == 10_000  # nothing of a refused file applied
    handle = bank.submit(bank_code, data)
    answer = bank.fetch_return(handle)
    assert answer is not None and f"|bank:{bank_code}:v1|".encode() in answer
    assert bf.parse_return(answer, header, keys).ok_count == 1
    assert bank.balance(bank_code, "1001") == 13_000
