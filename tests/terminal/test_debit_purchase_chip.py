"""The card side of a PBOC purchase (``sscard.terminal.purchase``): the ARQC covers the amount and the CVR's
offline-PIN bits, the issuer's ARPC passes issuer authentication and a forged one does not."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard.banks.cardauth import pin_reason
from sscard.chip import debit_pan, secure
from sscard.chip.builders import purchase_cdol1
from sscard.chip.cmd_pboc import arqc_input
from sscard.chip.samples import CardFactory
from sscard.kms import KeyManager
from sscard.terminal import Terminal, VirtualReader
from sscard.terminal.purchase import issuer_authenticate, pin_block, purchase

DAY = dt.date(2026, 3, 9)


def _terminal(card: object, km: KeyManager) -> Terminal:
    terminal = Terminal(VirtualReader(card), VirtualReader(km.issue_psam("440300"), name="PSAM"))  # type: ignore[arg-type]
    terminal.select_ssse()
    return terminal


def test_the_arqc_covers_the_amount_and_the_issuer_answer_authenticates(make_card: CardFactory, km: KeyManager,
                                                                       generation: int) -> None:
    card, holder = make_card(generation)
    terminal = _terminal(card, km)
    req = purchase(terminal, 12_345, DAY, ref="T1", merchant="H001", pin="123456")
    assert req.pan == debit_pan(holder) and req.amount == 12_345 and req.txn_date == "260309"
    udk = km.card_ac_key("440300", req.pan, req.pan_sequence, holder.algorithm)
    session = secure.pboc_session_key(holder.algorithm, udk, req.atc)

    def ac(amount: int) -> str:
        data = arqc_input(purchase_cdol1(amount, "260309", bytes.fromhex(req.un)), bytes.fromhex(req.aip), req.atc,
                          bytes.fromhex(req.cvr))
        return secure.pboc_application_cryptogram(holder.algorithm, session, data).hex().upper()

    assert ac(12_345) == req.arqc and ac(12_346) != req.arqc  # another amount: another cryptogram
    assert pin_reason(bytes.fromhex(req.cvr)) is None  # PIN verified offline
    arpc = secure.pboc_arpc(holder.algorithm, session, bytes.fromhex(req.arqc), b"00").hex().upper()
    assert not issuer_authenticate(terminal, "00" * 8, "00")  # forged: 6300
    again = purchase(terminal, 100, DAY, ref="T2", merchant="H001", pin="123456")
    assert again.atc == req.atc + 1
    session2 = secure.pboc_session_key(holder.algorithm, udk, again.atc)
    assert not issuer_authenticate(terminal, arpc, "00")  # the ARPC of the first ARQC does not fit the second
    again3 = purchase(terminal, 100, DAY, ref="T3", merchant="H001", pin="123456")
    session3 = secure.pboc_session_key(holder.algorithm, udk, again3.atc)
    good = secure.pboc_arpc(holder.algorithm, session3, bytes.fromhex(again3.arqc), b"00").hex().upper()
    assert issuer_authenticate(terminal, good, "00")
    assert session2 != session3


def test_the_cvr_tells_the_issuer_about_the_pin(make_card: CardFactory, km: KeyManager) -> None:
    card, _ = make_card(3)
    terminal = _terminal(card, km)
    assert pin_reason(bytes.fromhex(purchase(terminal, 1, DAY, ref="a", merchant="H").cvr)) == "PIN_REQUIRED"
    assert pin_reason(bytes.fromhex(purchase(terminal, 1, DAY, ref="b", merchant="H", pin="999999").cvr)) \
        == "PIN_WRONG"
    assert pin_reason(bytes.fromhex(purchase(terminal, 1, DAY, ref="c", merchant="H", pin="123456").cvr)) is None
    for _ in range(3):
        last = purchase(terminal, 1, DAY, ref="d", merchant="H", pin="000000")
    assert pin_reason(bytes.fromhex(last.cvr)) == "PIN_BLOCKED"


@given(st.text(alphabet="0123456789", min_size=4, max_size=12))
def test_pin_blocks_are_format_2(pin: str) -> None:
    block = pin_block(pin)
    assert len(block) == 8 and block.hex().upper().startswith(f"2{len(pin):X}{pin}")


@pytest.mark.parametrize("bad", ["123", "12a456", "1234567890123"])
def test_bad_pins_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        pin_block(bad)
