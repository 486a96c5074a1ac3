"""The firewall between the social-security environment (SSSE) and the financial one (PSE / PBOC debit):
no PIN state, authentication state or key of one environment ever satisfies the other."""

from __future__ import annotations

from sscard.chip import DEBIT_AID, PSE_AID, secure
from sscard.chip.builders import SELECT_SSSE, get_challenge, lc, read_binary, select_aid, split, verify
from sscard.chip.cos import VirtualCard
from sscard.chip.fs import DedicatedFile
from sscard.chip.samples import CardFactory


def tx(card: VirtualCard, apdu: bytes) -> tuple[bytes, int]:
    return split(card.transmit(apdu))


def env_key(card: VirtualCard, env_fid: int, kid: int) -> bytes:
    env = card.mf.children[env_fid]
    assert isinstance(env, DedicatedFile)
    key = env.find_key(kid)
    assert key is not None
    return key.value


def test_ssse_and_pse_keys_differ_even_with_the_same_key_id(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    assert env_key(card, 0xDDF1, 0x04) != env_key(card, 0xDDF2, 0x04)
    assert env_key(card, 0xDDF1, 0x06) != env_key(card, 0xDDF2, 0x06)


def test_debit_pin_does_not_open_ssse_files(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    tx(card, select_aid(DEBIT_AID))
    assert tx(card, verify(secure.pin_to_bcd("123456"), 0x80))[1] == 0x9000
    tx(card, SELECT_SSSE)
    assert tx(card, read_binary(8, 0, 8))[1] == 0x6982


def test_ssse_pin_state_is_dropped_when_leaving_the_environment(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    tx(card, SELECT_SSSE)
    assert tx(card, verify(secure.pin_to_bcd("123456")))[1] == 0x9000
    tx(card, select_aid(PSE_AID))
    tx(card, select_aid(DEBIT_AID))
    assert tx(card, bytes.fromhex("00200080"))[1] == 0x63C3  # debit PIN still unverified
    tx(card, SELECT_SSSE)
    assert tx(card, read_binary(8, 0, 8))[1] == 0x6982  # coming back does not restore the SSSE state


def test_ssse_external_authentication_does_not_authorise_pse_writes(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, SELECT_SSSE)
    challenge, _ = tx(card, get_challenge(8))
    ok = tx(card, b"\x00\x82\x00\x04" + lc(secure.auth_cryptogram(alg, env_key(card, 0xDDF1, 0x04), challenge)))
    assert ok[1] == 0x9000
    tx(card, select_aid(PSE_AID))
    # The SSSE MAC key used on a PSE file: wrong MAC, whatever the authentication state.
    record = card.mf.children[0xDDF2].children[0xEF01].records[0]  # type: ignore[union-attr]  # EF under PSE
    challenge, _ = tx(card, get_challenge(4))
    header = b"\x04\xdc\x01\x0c" + bytes((len(record) + 4,))
    mac = secure.line_mac(alg, env_key(card, 0xDDF1, 0x06), challenge, header + record)
    assert tx(card, header + record + mac)[1] == 0x6988
    # The right PSE MAC key, but the SSSE authentication does not count here.
    challenge, _ = tx(card, get_challenge(4))
    mac = secure.line_mac(alg, env_key(card, 0xDDF2, 0x06), challenge, header + record)
    assert tx(card, header + record + mac)[1] == 0x6982


def test_ssse_key_cryptogram_fails_against_the_pse_key(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, select_aid(PSE_AID))
    challenge, _ = tx(card, get_challenge(8))
    cryptogram = secure.auth_cryptogram(alg, env_key(card, 0xDDF1, 0x04), challenge)
    assert tx(card, b"\x00\x82\x00\x04" + lc(cryptogram))[1] & 0xFFF0 == 0x63C0


def test_ssse_reload_key_cannot_reset_the_debit_pin(make_card: CardFactory, generation: int) -> None:
    card, _ = make_card(generation)
    alg = "sm4" if generation == 3 else "3des"
    tx(card, select_aid(DEBIT_AID))
    new = secure.pin_to_bcd("000000")
    mac = secure.reload_pin_mac(alg, env_key(card, 0xDDF1, 0x0B), new)
    assert tx(card, b"\x80\x5e\x00\x80" + lc(new + mac))[1] == 0x6A88  # no reload key in this environment


def test_pse_authentication_does_not_unlock_third_generation_basic_files(make_card: CardFactory) -> None:
    card, _ = make_card(3)
    tx(card, select_aid(PSE_AID))
    challenge, _ = tx(card, get_challenge(8))
    cryptogram = secure.auth_cryptogram("sm4", env_key(card, 0xDDF2, 0x04), challenge)
    assert tx(card, b"\x00\x82\x00\x04" + lc(cryptogram))[1] == 0x9000
    tx(card, SELECT_SSSE)
    assert tx(card, bytes.fromhex("00B2012C00"))[1] == 0x6982
