"""Terminal operations through readers and a PSAM: read holder data, PIN handling, genuine-card check,
external authentication and MAC-protected writes, on both card generations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sscard.chip import load, personalise
from sscard.chip.samples import CardFactory, sample_holder
from sscard.chip.tlv import simple_tlv
from sscard.kms import KeyManager
from sscard.terminal import (
    CardNotGenuine,
    PinBlocked,
    Reader,
    Terminal,
    TerminalError,
    VirtualReader,
    WrongPin,
)


def terminal_for(km: KeyManager, make_card: CardFactory, generation: int, **kw: object) -> Terminal:
    card, _ = make_card(generation, **kw)
    return Terminal(VirtualReader(card), VirtualReader(km.issue_psam("440300"), name="PSAM"))


def test_virtual_reader_is_a_reader(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    reader = VirtualReader(card)
    assert isinstance(reader, Reader)
    assert reader.atr() == card.atr


def test_read_holder_decodes_ef05_and_ef06(km: KeyManager, make_card: CardFactory, generation: int) -> None:
    term = terminal_for(km, make_card, generation, name="欧阳娜娜")
    info = term.read_holder()
    holder = sample_holder(generation)
    assert info.name == "欧阳娜娜"
    assert info.id_number == holder.id_number and info.card_no == holder.card_no
    assert info.region_code == "440300" and info.spec_version == f"{generation}.00"
    assert info.birth_date == holder.birth_date and info.expiry_date == holder.expiry_date
    assert info.sex == "1" and info.nationality == "01" and info.birthplace_code == "440300"
    line = info.as_iread_card_bas(term.card.atr()[4:])
    assert line.startswith(f"440300|{holder.id_number}|{holder.card_no}|440300D156000005")
    assert "|欧阳娜娜|" in line


def test_internal_authentication_tells_genuine_from_counterfeit(
    km: KeyManager, make_card: CardFactory, generation: int
) -> None:
    genuine = terminal_for(km, make_card, generation)
    genuine.select_ssse()
    assert genuine.internal_authenticate()
    other = KeyManager(os.urandom(32))
    other.init_ministry()
    other.provision_city("440300")
    holder = sample_holder(generation)
    fake = Terminal(VirtualReader(personalise(holder, other.card_keys(holder))), VirtualReader(km.issue_psam("440300")))
    fake.select_ssse()
    assert not fake.internal_authenticate()
    if generation == 3:
        with pytest.raises(CardNotGenuine):
            fake.read_holder()


def test_pin_verify_change_block_and_reload(km: KeyManager, make_card: CardFactory, generation: int) -> None:
    term = terminal_for(km, make_card, generation)
    term.select_ssse()
    term.verify_pin("123456")
    with pytest.raises(WrongPin) as wrong:
        term.verify_pin("654321")
    assert wrong.value.tries_left == 2 and term.pin_tries_left() == 2
    term.change_pin("123456", "8888")
    term.verify_pin("8888")
    for _ in range(2):
        with pytest.raises(WrongPin):
            term.verify_pin("0000")
    with pytest.raises(PinBlocked):
        term.verify_pin("0000")
    with pytest.raises(PinBlocked):
        term.verify_pin("8888")
    term.reload_pin("246810")
    term.verify_pin("246810")
    assert term.pin_tries_left() == -1  # verified: the card answers 9000 to the status query


def test_mac_protected_record_write(km: KeyManager, make_card: CardFactory, generation: int) -> None:
    term = terminal_for(km, make_card, generation)
    term.select_ssse()
    term.update_record(6, 1, simple_tlv(0x08, b"11010519491231002X"))
    assert term.read_holder().id_number == "11010519491231002X"
    with pytest.raises(TerminalError) as err:
        term.update_record(6, 1, simple_tlv(0x08, b"too short"))
    assert err.value.sw == 0x6700


def test_mac_protected_binary_write_and_pin_protected_read(
    km: KeyManager, make_card: CardFactory, generation: int
) -> None:
    term = terminal_for(km, make_card, generation)
    term.select_ssse()
    term.update_binary(8, 0, b"JPEG")
    with pytest.raises(TerminalError) as err:
        term.read_binary(8, 0, 4)
    assert err.value.sw == 0x6982
    term.verify_pin("123456")
    assert term.read_binary(8, 0, 4) == b"JPEG"


def test_a_psam_of_another_city_cannot_authenticate(km: KeyManager, make_card: CardFactory) -> None:
    km.provision_city("440100")
    card, _ = make_card(3)
    term = Terminal(VirtualReader(card), VirtualReader(km.issue_psam("440100")))
    term.select_ssse()
    assert not term.internal_authenticate()
    with pytest.raises(TerminalError) as err:
        term.external_authenticate(0x0A)
    assert err.value.sw & 0xFFF0 == 0x63C0


def test_virtual_reader_saves_the_image_on_close(km: KeyManager, make_card: CardFactory, tmp_path: Path) -> None:
    card, _ = make_card(2)
    path = tmp_path / "card.json"
    reader = VirtualReader(card, image_path=path)
    term = Terminal(reader, VirtualReader(km.issue_psam("440300")))
    term.select_ssse()
    with pytest.raises(WrongPin):
        term.verify_pin("000000")
    reader.close()
    again = Terminal(VirtualReader(load(path)), VirtualReader(km.issue_psam("440300")))
    again.select_ssse()
    assert again.pin_tries_left() == 2
