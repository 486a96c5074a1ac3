"""Per-partner file keys (kms.partners): wrapped at rest, versioned and rotatable with an overlap, exported on
purpose only — and the employer file, whose MAC is checked under the key of the employer its header names."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscard import clock
from sscard.banks import files as bf
from sscard.banks.errors import BankFileRejected
from sscard.funds.contributions import employer_file as ef
from sscard.funds.contributions.errors import EmployerFileRejected
from sscard.kms import partners
from sscard.kms.partners import (
    FileMacError,
    PartnerKeyExists,
    PartnerKeyInvalid,
    PartnerKeys,
    PartnerKeyUnknown,
)
from support.filemac import remac, resha

KEK = bytes(range(32))
USCC = "91441802MA4W00000M"


def _batch(ring: PartnerKeys) -> bytes:
    lines = [bf.BatchLine(1, "r1", "6222000000000001", "张三", "", 1000)]
    return bf.write_batch(bf.new_header("ICBC", "credit", "B1", "2014-07", lines), lines, ring)


def test_partner_keys_are_stored_only_wrapped_and_reload_with_the_same_kek(tmp_path: Path) -> None:
    path = tmp_path / "partner-keys.json"
    ring = PartnerKeys(KEK, path)
    ring.create("bank:ICBC")
    _, key = ring.export("bank:ICBC")
    stored = path.read_text()
    assert key.hex() not in stored and json.loads(stored)["format"] == "sscard-partner-keys/1"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = PartnerKeys(KEK, path)
    assert again.export("bank:ICBC")[1] == key
    assert bf.parse_batch(_batch(ring), again).header.bank_code == "ICBC"
    with pytest.raises(PartnerKeyInvalid):
        PartnerKeys(bytes(32), path).export("bank:ICBC")  # another KEK cannot unwrap
    with pytest.raises(PartnerKeyExists):
        ring.create("bank:ICBC")
    with pytest.raises(PartnerKeyInvalid):
        ring.create("bank:icbc|x")
    with pytest.raises(PartnerKeyUnknown):
        ring.rotate("bank:ABC")


def test_a_file_made_before_a_rotation_verifies_during_the_overlap_only(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    ring = PartnerKeys(KEK, tmp_path / "k.json")
    ring.create("bank:ICBC")
    old = _batch(ring)
    assert b"|bank:ICBC:v1|" in old
    assert ring.rotate("bank:ICBC", dt.timedelta(days=7)).version == 2
    new = _batch(ring)
    assert b"|bank:ICBC:v2|" in new  # the new version signs from now on
    assert bf.parse_batch(old, ring).header.batch_id == "B1"  # the old one still verifies
    assert bf.parse_batch(new, ring).header.batch_id == "B1"
    later = clock.now() + dt.timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(old, ring)
    assert err.value.code == "BANK_FILE_MAC" and "rotated out" in str(err.value)
    assert bf.parse_batch(new, ring).header.batch_id == "B1"
    ring.revoke("bank:ICBC", 2)  # compromised: nothing under v2 verifies, and nothing signs
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(new, ring)
    assert "revoked" in str(err.value)
    with pytest.raises(BankFileRejected):
        _batch(ring)


def test_another_process_rotating_the_keystore_is_seen_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    server = PartnerKeys(KEK, path)
    PartnerKeys(KEK, path).create("bank:ABC")  # `sscard kms partner-key create` in another process
    assert server.signing("bank:ABC")[0] == 1
    PartnerKeys(KEK, path).rotate("bank:ABC")
    assert server.signing("bank:ABC")[0] == 2


def test_demo_keys_only_under_the_public_kek_and_only_for_partners_without_stored_keys() -> None:
    demo = PartnerKeys(bytes.fromhex(partners.DEMO_KEK_HEX))
    assert demo.demo and demo.signing("bank:ICBC") == (1, partners.demo_key("bank:ICBC"))
    demo.create("bank:ICBC")
    assert demo.signing("bank:ICBC")[1] != partners.demo_key("bank:ICBC")  # a created key replaces the demo one
    with pytest.raises(FileMacError):
        demo.verifying("bank:ICBC", 2)
    real = PartnerKeys(KEK)
    assert not real.demo
    with pytest.raises(PartnerKeyUnknown):
        real.signing("bank:ICBC")


def _employer_file(ring: PartnerKeys | None = None, uscc: str = USCC) -> bytes:
    lines = [ef.EmployerLine(1, "441802196001011234", "张三", "pension", 500_000, 80_000, 40_000)]
    header = ef.EmployerHeader(uscc, "清远市测试有限公司", "ICBC", "2014-06", 1, 120_000, "20140701090000")
    return ef.write(header, lines, ring)


def _employer_code(data: bytes, ring: PartnerKeys | None = None) -> str:
    with pytest.raises(EmployerFileRejected) as err:
        ef.parse(data, ring)
    return err.value.code


def test_an_employer_file_forged_with_its_checksum_recomputed_is_refused() -> None:
    data = _employer_file()
    assert ef.parse(data).header.total == 120_000
    forged = resha(data.replace(b"|80000|40000\n", b"|8000|4000\n").replace(b"T|1|120000|", b"T|1|12000|")
                   .replace(b"|1|120000|2014", b"|1|12000|2014"))
    assert _employer_code(forged) == "EMPLOYER_FILE_MAC"
    assert ef.parse(remac(forged)).header.total == 12_000  # only the employer's own key makes it its word
    no_mac = data[:data.rindex(b"|", 0, data.rindex(b"|"))] + b"\n"  # the old layout: SHA-256 last
    assert _employer_code(no_mac) == "EMPLOYER_FILE_MAC"


def test_an_employer_file_keyed_by_another_employer_is_refused() -> None:
    other = "91441802MA4W00001K"
    ring = PartnerKeys(KEK)
    ring.create(f"employer:{USCC}")
    ring.create(f"employer:{other}")
    mine = _employer_file(ring)
    assert ef.parse(mine, ring).header.uscc == USCC
    assert _employer_code(remac(mine, f"employer:{other}", ring), ring) == "EMPLOYER_FILE_MAC"  # named as itself
    theirs_key = ring.export(f"employer:{other}")[1]
    forger = PartnerKeys(bytes(range(1, 33)))
    forger._put([forger._wrap(f"employer:{USCC}", 1, theirs_key)])  # the other employer's key, USCC's name
    assert _employer_code(remac(mine, f"employer:{USCC}", forger), ring) == "EMPLOYER_FILE_MAC"
    assert _employer_code(mine, PartnerKeys(KEK)) == "EMPLOYER_FILE_MAC"  # no key for the employer at all


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_as_an_employer_file_and_nothing_else(data: bytes) -> None:
    with pytest.raises(EmployerFileRejected):
        ef.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.sampled_from(["set", "cut", "insert"]),
       st.booleans())
def test_a_mutated_employer_file_is_refused_by_the_mac_unless_the_key_holder_remacs_it(
        position: int, byte: int, how: str, keyed: bool) -> None:
    good = _employer_file()
    at = position % len(good)
    bad = {"set": good[:at] + bytes([byte]) + good[at + 1:], "cut": good[:at],
           "insert": good[:at] + bytes([byte]) + good[at:]}[how]
    if keyed:
        with contextlib.suppress(ValueError, IndexError, UnicodeDecodeError):
            bad = remac(resha(bad))
    try:
        parsed = ef.parse(bad)
    except EmployerFileRejected as refused:
        if not keyed and bad != good:
            assert refused.code in {"EMPLOYER_FILE_MAC", "EMPLOYER_FILE_TRUNCATED", "EMPLOYER_FILE_MALFORMED"}
        return
    if not keyed:
        assert bad == good
    assert parsed.header.count == len(parsed.lines)


def test_a_damaged_keystore_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    for junk in ("{", '{"format": "other", "entries": []}', '{"format": "sscard-partner-keys/1", "entries": [1]}'):
        path.write_text(junk)
        with pytest.raises(PartnerKeyInvalid):
            PartnerKeys(KEK, path)
