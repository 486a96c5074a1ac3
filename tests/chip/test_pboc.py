"""The PBOC debit application in the PSE: directory, SELECT, GPO, READ RECORD by AFL, GENERATE AC (ARQC),
and the issuer host verifying the ARQC with keys from the KMS."""

from __future__ import annotations

from sscard.chip import DEBIT_AID, PSE_AID, debit_pan, secure
from sscard.chip.builders import select_aid, split
from sscard.chip.cos import VirtualCard
from sscard.chip.samples import CardFactory
from sscard.chip.tlv import find_ber, parse_ber
from sscard.kms import KeyManager

CDOL1_DATA = bytes.fromhex(
    "000000001234"  # 9F02 amount authorised
    "000000000000"  # 9F03 amount other
    "0156"  # 9F1A terminal country code
    "0000000000"  # 95 TVR
    "0156"  # 5F2A currency
    "260101"  # 9A date
    "00"  # 9C type
    "A1B2C3D4"  # 9F37 unpredictable number
)


def tx(card: VirtualCard, apdu: bytes | str) -> tuple[bytes, int]:
    return split(card.transmit(bytes.fromhex(apdu) if isinstance(apdu, str) else apdu))


def test_pboc_session_key_regression_value() -> None:
    udk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert secure.pboc_session_key("3des", udk, 0x001C) == bytes.fromhex("CBA10DD0CD8A945D762357EF0DAD0838")


def test_debit_transaction_produces_an_arqc_the_issuer_accepts(
    make_card: CardFactory, km: KeyManager, generation: int
) -> None:
    card, holder = make_card(generation)
    fci, sw = tx(card, select_aid(PSE_AID))
    assert sw == 0x9000 and find_ber(fci, 0x88) == b"\x01"
    directory, sw = tx(card, "00B2010C00")
    assert sw == 0x9000 and find_ber(directory, 0x4F) == DEBIT_AID
    fci, sw = tx(card, select_aid(DEBIT_AID))
    assert sw == 0x9000 and find_ber(fci, 0x50) == b"DEBIT"
    assert tx(card, "80AE8000" + "1D" + CDOL1_DATA.hex() + "00")[1] == 0x6985  # GPO first
    gpo, sw = tx(card, "80A8000002830000")
    assert sw == 0x9000
    aip, afl = find_ber(gpo, 0x82), find_ber(gpo, 0x94)
    assert aip is not None and afl == bytes.fromhex("10010200")
    records = [tx(card, bytes((0x00, 0xB2, n, (afl[0] & 0xF8) | 4, 0)))[0] for n in range(afl[1], afl[2] + 1)]
    pan = find_ber(records[1], 0x5A)
    assert pan is not None and pan.hex().upper().rstrip("F") == debit_pan(holder)
    assert find_ber(records[1], 0x8C) is not None and find_ber(records[0], 0x57) is not None
    assert tx(card, "80AE8000" + "05" + "0000000000" + "00")[1] == 0x6700
    ac_resp, sw = tx(card, "80AE8000" + "1D" + CDOL1_DATA.hex() + "00")
    assert sw == 0x9000
    fields = dict(parse_ber(find_ber(ac_resp, 0x77) or b""))
    assert fields[0x9F27] == b"\x80"
    atc = int.from_bytes(fields[0x9F36], "big")
    assert atc == 1
    cvr = fields[0x9F10][3:]
    assert km.verify_arqc(holder, atc, CDOL1_DATA, aip, cvr, fields[0x9F26])
    assert not km.verify_arqc(holder, atc + 1, CDOL1_DATA, aip, cvr, fields[0x9F26])
    assert tx(card, "80AE8000" + "1D" + CDOL1_DATA.hex() + "00")[1] == 0x6985  # one AC per GPO
    assert tx(card, "80CA9F3600")[0] == bytes.fromhex("9F36020001")


def test_debit_pin_uses_plaintext_pin_block_and_its_own_counter(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, select_aid(DEBIT_AID))
    assert tx(card, "80CA9F1700")[0] == bytes.fromhex("9F170103")
    assert tx(card, "002000800826123456FFFFFFFF")[1] == 0x9000
    assert tx(card, "002000800826999999FFFFFFFF")[1] == 0x63C2
    assert tx(card, "80CA9F1700")[0] == bytes.fromhex("9F170102")


def test_aac_requested_gets_aac(make_card: CardFactory) -> None:
    card, _ = make_card(3)
    tx(card, select_aid(DEBIT_AID))
    tx(card, "80A8000002830000")
    resp, sw = tx(card, "80AE0000" + "1D" + CDOL1_DATA.hex() + "00")
    assert sw == 0x9000 and find_ber(resp, 0x9F27) == b"\x00"


def test_pboc_commands_outside_the_debit_application_are_refused(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, select_aid(PSE_AID))
    assert tx(card, "80A8000002830000")[1] == 0x6985
    assert tx(card, "80CA9F3600")[1] == 0x6985
