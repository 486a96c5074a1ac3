"""The simulated bank as a loopback HTTP service, driven through the HTTP gateway exactly like the embedded one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sscard.banks import files as bf
from sscard.banks.errors import BankBatchConflict, BankFileRejected, BankUnavailable
from sscard.banks.gateway import AccountState, BankGateway, BankSettings, gateway_for
from sscard.banks.http_client import HttpGateway
from sscard.banks.http_service import create_bank_app
from sscard.banks.simulated import SimulatedBank
from support.city import City
from support.filemac import resha
from support.loopback import free_port, serve


@pytest.fixture
def bank_url(city: City) -> Iterator[str]:
    with serve(create_bank_app(city.db), "the bank service") as url:
        yield url


def _gateway(bank_code: str, url: str) -> BankGateway:
    gateway = gateway_for(bank_code, BankSettings(mode="embedded", modes={bank_code: "http"},
                                                  urls={bank_code: url}))
    assert isinstance(gateway, HttpGateway)
    return gateway


def test_a_batch_file_goes_through_the_http_service(city: City, bank_code: str, bank_url: str) -> None:
    bank = SimulatedBank(city.db)
    bank.open_account(bank_code, "2001", "何丽", balance=0)
    bank.open_account(bank_code, "2002", "郭强", state="frozen")
    gateway = _gateway(bank_code, bank_url)
    lines = [bf.BatchLine(1, "h-1", "2001", "何丽", "", 120_000), bf.BatchLine(2, "h-2", "2002", "郭强", "", 90_000)]
    header = bf.new_header(bank_code, "credit", "H1", "2014-07", lines)
    data = bf.write_batch(header, lines)
    handle = gateway.submit(data)
    assert gateway.submit(data) == handle
    answer = gateway.fetch_return(handle)
    assert answer is not None
    ret = bf.parse_return(answer, bf.parse_batch(data))
    assert [(line.ok, line.reason) for line in ret.lines] == [(True, None), (False, "ACCOUNT_FROZEN")]
    assert bank.balance(bank_code, "2001") == 120_000

    with pytest.raises(BankFileRejected) as err:
        gateway.submit(data[:-5])
    assert err.value.code == "BANK_FILE_TRUNCATED"
    with pytest.raises(BankFileRejected) as err:  # the loopback bank checks the MAC too, with its own key
        gateway.submit(resha(data.replace(b"|120000\n", b"|120001\n")))
    assert err.value.code == "BANK_FILE_MAC"
    changed = [lines[0]._replace(amount=1), lines[1]]
    with pytest.raises(BankBatchConflict):
        gateway.submit(bf.write_batch(bf.new_header(bank_code, "credit", "H1", "2014-07", changed), changed))


def test_real_time_calls_and_status_over_http(city: City, bank_code: str, bank_url: str) -> None:
    SimulatedBank(city.db).open_account(bank_code, "3001", "罗杰", balance=5_000)
    gateway = _gateway(bank_code, bank_url)
    status = gateway.account_status("3001")
    assert (status.exists, status.state, status.holder_name) == (True, AccountState.NORMAL, "罗杰")
    assert not gateway.account_status("nope").exists
    first = gateway.debit("3001", "罗杰", 2_000, "rt-h1")
    assert first.ok and not first.replayed
    assert gateway.debit("3001", "罗杰", 2_000, "rt-h1").replayed
    assert gateway.debit("3001", "罗杰", 9_000, "rt-h2").reason == bf.Reason.INSUFFICIENT_BALANCE
    assert gateway.credit("3001", "罗 杰", 1, "rt-h3").reason == bf.Reason.NAME_MISMATCH
    assert SimulatedBank(city.db).balance(bank_code, "3001") == 3_000


def test_an_unreachable_bank_is_unavailable(bank_code: str) -> None:
    gateway = HttpGateway(bank_code, f"http://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(BankUnavailable):
        gateway.account_status("1")


def test_an_incoming_transfer_reaches_the_bureau_account_once_through_the_http_service(
        city: City, bank_code: str, bank_url: str) -> None:
    bank = SimulatedBank(city.db)
    before = bank.bureau_balance(bank_code)
    gateway = _gateway(bank_code, bank_url)
    assert isinstance(gateway, HttpGateway)
    first = gateway.receive_transfer(123_456, f"EMP-http-{bank_code}")
    again = gateway.receive_transfer(123_456, f"EMP-http-{bank_code}")
    assert first.ok and not first.replayed and again.replayed
    assert bank.bureau_balance(bank_code) == before + 123_456
    with pytest.raises(BankBatchConflict):  # the same reference for another amount
        gateway.receive_transfer(1, f"EMP-http-{bank_code}")
    assert bank.bureau_balance(bank_code) == before + 123_456
