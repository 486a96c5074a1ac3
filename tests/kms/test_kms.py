"""Key management: keys at rest only wrapped, the ministry → province → city → card hierarchy, versions and
rotation, and the PSAM that computes with city keys without ever exporting them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sscard.chip import card_specific_bytes
from sscard.chip.builders import lc, split
from sscard.chip.samples import sample_holder
from sscard.crypto import diversify
from sscard.kms import PSAM_3DES_AID, PSAM_SM4_AID, KeyManager, KeyNotProvisioned, KeyStore, KmsError
from sscard.kms.keystore import KeyEntry

KEK = bytes(range(32))


def manager(tmp_path: Path | None = None) -> KeyManager:
    km = KeyManager(KEK, KeyStore(tmp_path / "keys.json" if tmp_path else None))
    km.init_ministry()
    km.provision_city("440300")
    return km


def test_keystore_file_holds_only_wrapped_keys(tmp_path: Path) -> None:
    km = manager(tmp_path)
    text = (tmp_path / "keys.json").read_text()
    ministry = km._key("IRK", "sm4", "ministry", "000000", 1)
    city = km._key("IRK", "sm4", "city", "440300", 1)
    assert ministry.hex() not in text and city.hex() not in text
    assert ministry.hex().upper() not in text and city.hex().upper() not in text
    levels = {e["level"] for e in json.loads(text)["entries"]}
    assert levels == {"ministry", "province", "city"}
    assert oct((tmp_path / "keys.json").stat().st_mode & 0o777) == "0o600"


def test_keystore_reloads_from_file_and_needs_the_same_kek(tmp_path: Path) -> None:
    km = manager(tmp_path)
    holder = sample_holder(3)
    again = KeyManager(KEK, KeyStore(tmp_path / "keys.json"))
    assert again.card_keys(holder) == km.card_keys(holder)
    with pytest.raises(KmsError):
        KeyManager(os.urandom(32), KeyStore(tmp_path / "keys.json")).card_keys(holder)


def test_wrapped_entries_are_bound_to_their_metadata() -> None:
    km = manager()
    entry = km.store.get("IRK", "sm4", "city", "440300", 1)
    assert entry is not None
    moved = KeyEntry("IRK", "sm4", "city", "110100", 1, entry.wrapped, entry.created)
    km.store.put([moved])
    with pytest.raises(KmsError):
        km._key("IRK", "sm4", "city", "110100", 1)


def test_hierarchy_diversifies_province_then_city_then_card() -> None:
    km = manager()
    holder = sample_holder(2)
    ministry = km._key("RKSSSE", "3des", "ministry", "000000", 1)
    province = diversify(ministry, b"440000sx", "3des")
    city = diversify(province, b"440300sx", "3des")
    assert km._key("RKSSSE", "3des", "province", "440000", 1) == province
    assert km._key("RKSSSE", "3des", "city", "440300", 1) == city
    assert km.card_keys(holder).keys["RKSSSE"] == diversify(city, card_specific_bytes(holder), "3des")


def test_every_card_gets_its_own_keys() -> None:
    km = manager()
    a, b = km.card_keys(sample_holder(3, serial=1)), km.card_keys(sample_holder(3, serial=2))
    assert all(a.keys[name] != b.keys[name] for name in a.keys)
    assert len(set(a.keys.values())) == len(a.keys)


def test_unprovisioned_city_and_bad_kek_are_errors() -> None:
    km = manager()
    with pytest.raises(KeyNotProvisioned):
        km.card_keys(sample_holder(3, region_code="110100"))
    with pytest.raises(KmsError):
        KeyManager(b"short")
    with pytest.raises(KeyNotProvisioned):
        KeyManager(KEK).current_version()


def test_rotation_creates_a_new_version_and_keeps_the_old_one_usable() -> None:
    km = manager()
    holder = sample_holder(3)
    v1 = km.card_keys(holder)
    assert km.rotate() == 2
    assert km.current_version() == 2 and km.versions() == [1, 2]
    v2 = km.card_keys(holder)
    assert v2.version == 2 and v2.keys["IRK"] != v1.keys["IRK"]
    assert km.card_keys(holder, version=1) == v1
    retired = km.store.get("IRK", "sm4", "city", "440300", 1)
    assert retired is not None and retired.status == "retired"


def test_from_settings_uses_the_configured_kek() -> None:
    from sscard.config import get_settings

    km = KeyManager.from_settings()
    km.init_ministry()
    entry = km.store.get("IRK", "sm4", "ministry", "000000", 1)
    assert entry is not None
    KeyManager(bytes.fromhex(get_settings().kms_kek_hex), km.store)._unwrap(entry)


def psam_tx(psam: object, apdu: bytes | str) -> tuple[bytes, int]:
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    return split(psam.transmit(raw))  # type: ignore[attr-defined]  # Psam


def test_psam_computes_the_card_cryptogram_from_the_city_key() -> None:
    km = manager()
    holder = sample_holder(3)
    psam = km.issue_psam("440300")
    factor = card_specific_bytes(holder)
    assert psam_tx(psam, "801A270108" + factor.hex())[1] == 0x6985  # nothing selected yet
    assert psam_tx(psam, b"\x00\xa4\x04\x00" + lc(PSAM_SM4_AID))[1] == 0x9000
    assert psam_tx(psam, "801A270108" + factor.hex())[1] == 0x9000
    block = bytes(range(16))
    out, sw = psam_tx(psam, b"\x80\xfa\x00\x00" + lc(block))
    from sscard.chip import secure

    assert sw == 0x9000 and out == secure.encrypt("sm4", km.card_keys(holder).keys["IRK"], block)


def test_psam_enforces_key_types_and_lengths() -> None:
    km = manager()
    psam = km.issue_psam("440300")
    psam_tx(psam, b"\x00\xa4\x04\x00" + lc(PSAM_3DES_AID))
    assert psam_tx(psam, "801A2601080102030405060708")[1] == 0x6A88  # no MAC key with id 01
    assert psam_tx(psam, "801A27010401020304")[1] == 0x6700  # one level needs an 8-byte factor
    assert psam_tx(psam, "801A260608" + "0102030405060708")[1] == 0x9000  # MAC key
    assert psam_tx(psam, "80FA000008" + "00" * 8)[1] == 0x6985  # a MAC key cannot encrypt
    assert psam_tx(psam, "80FA050004" + "00" * 4)[1] == 0x6700
    mac, sw = psam_tx(psam, "80FA05000C" + "00" * 8 + "11223344")
    assert sw == 0x9000 and len(mac) == 4
    assert psam_tx(psam, "80FA020003123456")[1] == 0x6985  # not the reload key
    assert psam_tx(psam, "00B0000000")[1] == 0x6D00
    assert psam_tx(psam, "A0A4040000")[1] == 0x6E00
    assert psam_tx(psam, b"\x00\xa4\x04\x00" + lc(b"\xd1\x56\x00\x00\x05\x99"))[1] == 0x6A82


def test_psam_never_reveals_a_city_key() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    km = manager()
    psam = km.issue_psam("440300")
    secrets = [
        km._key(n, a, "city", "440300", 1) for n in ("IRK", "UKSSSE", "RKSSSE", "MLK", "RPK") for a in ("3des", "sm4")
    ]
    assert all(s.hex() not in repr(psam) for s in secrets)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.sampled_from([b"\x00\xa4\x04\x00" + lc(PSAM_3DES_AID), b"\x00\xa4\x04\x00" + lc(PSAM_SM4_AID)]),
                st.builds(lambda p1, p2: bytes((0x80, 0x1A, p1, p2, 0)), st.integers(0, 255), st.integers(0, 15)),
                st.binary(max_size=40).map(lambda d: b"\x80\xfa\x00\x00" + lc(d) if d else b"\x80\xfa\x00\x00"),
                st.binary(max_size=40),
            ),
            max_size=12,
        )
    )
    def run(apdus: list[bytes]) -> None:
        for apdu in apdus:
            r = psam.transmit(apdu)
            assert len(r) >= 2
            assert not any(s in r for s in secrets)

    run()
