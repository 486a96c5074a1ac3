"""Card images: persistent state survives save/load, volatile state does not, bad files fail cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sscard.chip import DEBIT_AID, ImageError, load, save, secure
from sscard.chip.builders import SELECT_SSSE, read_binary, select_aid, split, verify
from sscard.chip.image import dumps, loads, to_dict
from sscard.chip.samples import CardFactory


def test_round_trip_keeps_counters_records_keys_and_atc(
    make_card: CardFactory, generation: int, tmp_path: Path
) -> None:
    card, _ = make_card(generation, name="李四")
    card.transmit(SELECT_SSSE)
    card.transmit(verify(secure.pin_to_bcd("000000")))  # one wrong PIN: 2 tries left
    card.transmit(select_aid(DEBIT_AID))
    card.transmit(bytes.fromhex("80A8000002830000"))  # ATC 1
    path = tmp_path / "card.json"
    save(card, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = load(path)
    assert to_dict(loaded) == to_dict(card)
    assert loaded.atr == card.atr and loaded.generation == generation
    loaded.transmit(SELECT_SSSE)
    assert split(loaded.transmit(b"\x00\x20\x00\x00"))[1] == 0x63C2
    assert split(loaded.transmit(read_binary(8, 0, 4)))[1] == 0x6982  # no security state in an image
    assert json.loads(path.read_text())["pboc"]["atc"] == 1


def test_image_is_stable_text(make_card: CardFactory) -> None:
    card, _ = make_card(2)
    assert dumps(loads(dumps(card))) == dumps(card)


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{}", '{"format": "other"}', '{"format": "sscard-card-image/1"}', "not json"],
)
def test_bad_images_raise_image_error(text: str) -> None:
    with pytest.raises(ImageError):
        loads(text)
