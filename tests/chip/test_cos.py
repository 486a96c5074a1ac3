"""The card OS: file selection, record/binary reads, status words, PIN counters, authentication and MACs."""

from __future__ import annotations

from sscard.chip import SSSE_AID, secure
from sscard.chip.builders import (
    SELECT_SSSE,
    get_challenge,
    lc,
    read_binary,
    read_record,
    read_record_by_tag,
    select_aid,
    select_fid,
    split,
    verify,
)
from sscard.chip.cos import VirtualCard
from sscard.chip.samples import CardFactory
from sscard.chip.tlv import find_ber, simple_tlv


def tx(card: VirtualCard, apdu: bytes | str) -> tuple[bytes, int]:
    return split(card.transmit(bytes.fromhex(apdu) if isinstance(apdu, str) else apdu))


def key(card: VirtualCard, kid: int) -> bytes:
    ssse = card.mf.children[0xDDF1]
    assert not isinstance(ssse, type(None))
    found = ssse.find_key(kid)  # type: ignore[union-attr]  # the SSSE child is a DedicatedFile
    assert found is not None
    return bytes(found.value)


def test_select_ssse_returns_fci_with_df_name_and_algorithm_flag(make_card: CardFactory) -> None:
    for generation, flag in ((2, 0x01), (3, 0x03)):
        card, _ = make_card(generation)
        fci, sw = tx(card, SELECT_SSSE)
        assert sw == 0x9000
        assert find_ber(fci, 0x84) == SSSE_AID
        assert find_ber(fci, 0x9F0C) == bytes((0x86, 0x01, flag))


def test_select_errors_are_status_words(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    assert tx(card, select_aid(bytes.fromhex("A0000000FF")))[1] == 0x6A82
    assert tx(card, "00A4020002EF09")[1] == 0x6A82  # no EF09 directly under the MF
    assert tx(card, "00A4040000")[1] == 0x6700  # Lc = 0 means an extended APDU: unsupported
    assert tx(card, "00A40405" + "02EF05")[1] == 0x6A86
    assert tx(card, "00A4090002EF05")[1] == 0x6A86


def test_select_application_dfs_by_aid_and_by_fid(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    for suffix, fid in ((0, 0xDF01), (1, 0xDF02), (2, 0xDF03), (3, 0xDF04)):
        fci, sw = tx(card, select_aid(bytes.fromhex("D156000005") + bytes((suffix,))))
        assert sw == 0x9000 and card.current_df.fid == fid
        assert find_ber(fci, 0x84) == bytes.fromhex("D156000005") + bytes((suffix,))
    assert tx(card, SELECT_SSSE)[1] == 0x9000
    assert tx(card, select_fid(0xDF04))[1] == 0x9000
    assert tx(card, select_fid(0xDF01))[1] == 0x9000  # sibling DF by FID
    assert tx(card, "00A40000023F00")[1] == 0x9000 and card.current_df is card.mf


def test_second_generation_ef05_records_by_number(make_card: CardFactory) -> None:
    card, holder = make_card(2)
    tx(card, SELECT_SSSE)
    rec1, sw = tx(card, read_record(1, 5, 0x12))
    assert sw == 0x9000 and rec1[:2] == b"\x01\x10" and rec1[2:5] == bytes.fromhex("440300")
    assert rec1[5:10] == bytes.fromhex("D156000005")
    assert tx(card, read_record(3, 5))[0] == simple_tlv(0x03, b"2.00")
    assert tx(card, read_record(5, 5))[0] == bytes.fromhex("05042024 0101".replace(" ", ""))
    assert tx(card, read_record(7, 5))[0] == simple_tlv(0x07, holder.card_no.encode())


def test_second_generation_ef06_records_by_tag_with_exact_le(make_card: CardFactory) -> None:
    card, holder = make_card(2, name="张三")
    tx(card, SELECT_SSSE)
    assert tx(card, read_record_by_tag(0x08, 0x14))[0] == simple_tlv(0x08, holder.id_number.encode())
    name, sw = tx(card, read_record_by_tag(0x09, 0x20))
    assert sw == 0x9000 and name[2:6] == "张三".encode("gb18030") and name[6:] == bytes(26)
    assert tx(card, read_record_by_tag(0x0A, 0x03))[0] == b"\x0a\x011"
    assert tx(card, read_record_by_tag(0x0D, 0x06))[0] == bytes.fromhex("0D0419900102")
    assert tx(card, read_record(4, 6))[0] == b"\x0a\x011"  # sex is record 4 on 2nd/3rd generation cards


def test_long_names_continue_in_name_extension(make_card: CardFactory) -> None:
    long_name = "阿卜杜热合曼·买买提艾力·吐尔逊托合提"
    card, _ = make_card(2, name=long_name)
    tx(card, SELECT_SSSE)
    head = tx(card, read_record_by_tag(0x09))[0][2:].rstrip(b"\x00")
    ext = tx(card, read_record_by_tag(0x4E))[0][2:].rstrip(b"\x00")
    assert (head + ext).decode("gb18030") == long_name
    assert len(head) <= 30 and ext


def test_wrong_le_gets_6cxx_and_missing_record_6a83(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, SELECT_SSSE)
    assert tx(card, read_record(1, 5, 0x05))[1] == 0x6C12
    assert tx(card, read_record(8, 5))[1] == 0x6A83
    assert tx(card, read_record(1, 9))[1] == 0x6A82
    assert tx(card, read_record_by_tag(0x77))[1] == 0x6A83
    assert tx(card, read_record(1, 7))[1] == 0x6981  # EF07 is a binary EF


def test_third_generation_basic_files_need_rkssse(make_card: CardFactory) -> None:
    card, _ = make_card(3)
    tx(card, SELECT_SSSE)
    assert tx(card, read_record(1, 5))[1] == 0x6982
    assert tx(card, read_record_by_tag(0x08))[1] == 0x6982
    challenge, sw = tx(card, get_challenge(8))
    assert sw == 0x9000 and len(challenge) == 8
    cryptogram = secure.auth_cryptogram("sm4", key(card, 0x0A), challenge)
    assert tx(card, b"\x00\x82\x00\x0a" + lc(cryptogram))[1] == 0x9000
    assert tx(card, read_record(1, 5))[1] == 0x9000


def test_external_authenticate_counts_failures_and_blocks_the_key(make_card: CardFactory) -> None:
    card, _ = make_card(3)
    tx(card, SELECT_SSSE)
    assert tx(card, "0082000A10" + "00" * 16)[1] == 0x6984  # no challenge yet
    sws = []
    for _ in range(15):
        tx(card, get_challenge())
        sws.append(tx(card, "0082000A10" + "00" * 16)[1])
    assert sws[0] == 0x63CE and sws[13] == 0x63C1 and sws[14] == 0x6983
    challenge, _ = tx(card, get_challenge())
    good = secure.auth_cryptogram("sm4", key(card, 0x0A), challenge)
    assert tx(card, b"\x00\x82\x00\x0a" + lc(good))[1] == 0x6983  # blocked even with the right key
    assert tx(card, "0082000710" + "00" * 16)[1] == 0x6A88  # no key 07


def test_challenge_is_single_use(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, SELECT_SSSE)
    challenge, _ = tx(card, get_challenge(4))
    cryptogram = secure.auth_cryptogram("3des", key(card, 0x04), challenge)
    tx(card, read_record(1, 5))  # any other command consumes the challenge
    assert tx(card, b"\x00\x82\x00\x04" + lc(cryptogram))[1] == 0x6984


def test_get_challenge_lengths(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    for n in (4, 8, 16):
        data, sw = tx(card, get_challenge(n))
        assert sw == 0x9000 and len(data) == n
    assert tx(card, get_challenge(5))[1] == 0x6700
    assert tx(card, "0084010008")[1] == 0x6A86


def test_pin_try_counter_blocks_after_three_wrong_pins(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, SELECT_SSSE)
    assert tx(card, "00200000")[1] == 0x63C3
    assert tx(card, verify(secure.pin_to_bcd("000000")))[1] == 0x63C2
    assert tx(card, verify(secure.pin_to_bcd("000000")))[1] == 0x63C1
    assert tx(card, verify(secure.pin_to_bcd("123456")))[1] == 0x9000  # right PIN resets the counter
    assert tx(card, "00200000")[1] == 0x9000
    for expected in (0x63C2, 0x63C1, 0x6983):
        assert tx(card, verify(secure.pin_to_bcd("999999")))[1] == expected
    assert tx(card, verify(secure.pin_to_bcd("123456")))[1] == 0x6983
    assert tx(card, "00200000")[1] == 0x6983
    assert tx(card, read_binary(8, 0, 4))[1] == 0x6982  # the failed VERIFY dropped the PIN state


def test_verify_rejects_malformed_pin_blocks(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, SELECT_SSSE)
    assert tx(card, "0020000003123A56")[1] == 0x6A80
    assert tx(card, "00200000011F")[1] == 0x6A80
    assert tx(card, "0020000503123456")[1] == 0x6A88  # no PIN with reference 05
    assert tx(card, "00200000")[1] == 0x63C3  # malformed blocks did not count as tries


def test_pin_protects_photo_and_fingerprint_files(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    tx(card, SELECT_SSSE)
    assert tx(card, read_binary(8, 0, 16))[1] == 0x6982
    assert tx(card, verify(secure.pin_to_bcd("123456")))[1] == 0x9000
    data, sw = tx(card, read_binary(8, 0, 16))
    assert sw == 0x9000 and data == bytes(16)
    assert tx(card, read_binary(7, 0))[1] == 0x9000
    assert tx(card, read_binary(8, 255, 0))[1] == 0x9000
    assert tx(card, read_binary(5, 0))[1] == 0x6981  # EF05 is a record EF


def test_change_pin_and_reload_pin(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, SELECT_SSSE)
    change = b"\x80\x5e\x01\x00" + lc(secure.pin_to_bcd("123456") + b"\xff" + secure.pin_to_bcd("24680"))
    assert tx(card, change)[1] == 0x9000
    assert tx(card, verify(secure.pin_to_bcd("123456")))[1] == 0x63C2
    assert tx(card, verify(secure.pin_to_bcd("24680")))[1] == 0x9000
    for _ in range(3):
        tx(card, verify(secure.pin_to_bcd("11111111")))
    assert tx(card, "00200000")[1] == 0x6983
    new = secure.pin_to_bcd("135790")
    bad = b"\x80\x5e\x00\x00" + lc(new + b"\x00\x00\x00\x00")
    assert tx(card, bad)[1] == 0x6988
    mac = secure.reload_pin_mac(alg, key(card, 0x0B), new)
    assert tx(card, b"\x80\x5e\x00\x00" + lc(new + mac))[1] == 0x9000
    assert tx(card, verify(new))[1] == 0x9000


def _protected_update(card: VirtualCard, alg: str, apdu_head: bytes, payload: bytes) -> tuple[bytes, int]:
    challenge, _ = tx(card, get_challenge(8))
    tx(card, b"\x00\x82\x00\x04" + lc(secure.auth_cryptogram(alg, key(card, 0x04), challenge)))
    challenge, _ = tx(card, get_challenge(4))
    header = apdu_head + bytes((len(payload) + 4,))
    mac = secure.line_mac(alg, key(card, 0x06), challenge, header + payload)
    return tx(card, header + payload + mac)


def test_update_record_needs_authentication_and_a_valid_mac(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, SELECT_SSSE)
    new_id = simple_tlv(0x08, b"11010519491231002X")
    assert tx(card, b"\x00\xdc\x01\x34" + lc(new_id))[1] == 0x6982
    assert tx(card, b"\x04\xdc\x01\x34" + lc(new_id + b"\x01\x02\x03\x04"))[1] == 0x6984  # no challenge
    tx(card, get_challenge(4))
    assert tx(card, b"\x04\xdc\x01\x34" + lc(new_id + b"\x01\x02\x03\x04"))[1] == 0x6988
    # A valid MAC without the UKSSSE external authentication is still refused.
    challenge, _ = tx(card, get_challenge(4))
    header = b"\x04\xdc\x01\x34" + bytes((len(new_id) + 4,))
    mac = secure.line_mac(alg, key(card, 0x06), challenge, header + new_id)
    assert tx(card, header + new_id + mac)[1] == 0x6982
    assert _protected_update(card, alg, b"\x04\xdc\x01\x34", new_id)[1] == 0x9000
    if generation == 2:
        assert tx(card, read_record(1, 6))[0] == new_id
    assert _protected_update(card, alg, b"\x04\xdc\x01\x34", simple_tlv(0x08, b"short"))[1] == 0x6700
    assert _protected_update(card, alg, b"\x04\xdc\x01\x34", simple_tlv(0x09, bytes(16) + b"AB"))[1] == 0x6A80


def test_update_binary_with_mac_then_read_back(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, SELECT_SSSE)
    assert _protected_update(card, alg, b"\x04\xd6\x88\x10", b"photo-bytes")[1] == 0x9000
    tx(card, verify(secure.pin_to_bcd("123456")))
    assert tx(card, read_binary(8, 0x10, 11))[0] == b"photo-bytes"
    tx(card, select_fid(0xEF08, 0x02))
    assert _protected_update(card, alg, b"\x04\xd6\x07\xfe", b"xy")[1] == 0x9000  # offset 2046
    assert _protected_update(card, alg, b"\x04\xd6\x07\xff", b"xy")[1] == 0x6B00  # would end past 2048


def test_internal_authenticate_plain_and_with_process_factor(make_card: CardFactory, generation: int) -> None:
    from sscard.crypto import diversify

    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    size = secure.block_size(alg)
    tx(card, SELECT_SSSE)
    rnd = bytes(range(size))
    answer, sw = tx(card, b"\x00\x88\x00\x01" + lc(rnd) + b"\x00")
    assert sw == 0x9000 and answer == secure.encrypt(alg, key(card, 0x01), rnd)
    factor = bytes.fromhex("0102030405060708")
    answer, _ = tx(card, b"\x00\x88\x00\x01" + lc(factor + rnd) + b"\x00")
    assert answer == secure.encrypt(alg, diversify(key(card, 0x01), factor, alg), rnd)
    assert tx(card, b"\x00\x88\x00\x01" + lc(b"\x00" * 5))[1] == 0x6700
    assert tx(card, b"\x00\x88\x00\x0a" + lc(rnd))[1] == 0x6A88  # RKSSSE is not an internal-auth key


def test_unknown_instruction_and_class(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    assert tx(card, "00FF000000")[1] == 0x6D00
    assert tx(card, "A0A4000002 3F00".replace(" ", ""))[1] == 0x6E00
    assert tx(card, "80A4000002 3F00".replace(" ", ""))[1] == 0x6E00  # SELECT is an ISO (CLA 00) command
    assert tx(card, "00A4")[1] == 0x6700
    assert tx(card, "00B2010C0500")[1] == 0x6700  # Lc says 5, 1 byte follows


def test_reset_clears_security_state_and_returns_atr(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    tx(card, SELECT_SSSE)
    tx(card, verify(secure.pin_to_bcd("123456")))
    atr = card.reset()
    assert atr[:4] == bytes.fromhex("3B6D0000") and len(atr) == 17
    tx(card, SELECT_SSSE)
    assert tx(card, read_record(1, 5))[0][-8:] == atr[-8:]  # the ATR ends with the card factor
    assert tx(card, read_binary(8, 0, 4))[1] == 0x6982
