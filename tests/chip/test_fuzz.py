"""Property tests: arbitrary APDUs never raise and always end in a valid status word; no command sequence
without the right PIN or key reads protected data or changes protected files."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.chip import DEBIT_AID, PSE_AID, SSSE_AID, VirtualCard, personalise, secure
from sscard.chip.builders import lc, select_aid, select_fid
from sscard.chip.image import to_dict
from sscard.chip.samples import sample_holder
from sscard.kms import KeyManager

_KM = KeyManager(os.urandom(32))
_KM.init_ministry()
_KM.provision_city("440300")
SECRET_PHOTO = b"SECRET-PHOTO-MARKER"
HOLDER3 = sample_holder(3, name="王秘密")
_TEMPLATE3 = personalise(HOLDER3, _KM.card_keys(HOLDER3))
HOLDER2 = sample_holder(2, name="王秘密")
_TEMPLATE2 = personalise(HOLDER2, _KM.card_keys(HOLDER2))


def fresh(generation: int) -> VirtualCard:
    from sscard.chip.image import from_dict

    card = from_dict(to_dict(_TEMPLATE3 if generation == 3 else _TEMPLATE2))
    photo = card.mf.children[0xDDF1].children[0xEF08]  # type: ignore[union-attr]  # SSSE DF
    photo.content[: len(SECRET_PHOTO)] = SECRET_PHOTO  # type: ignore[union-attr]  # EF08 is a binary EF
    return card


KNOWN_SW = {
    0x9000,
    0x6700,
    0x6981,
    0x6982,
    0x6983,
    0x6984,
    0x6985,
    0x6986,
    0x6988,
    0x6A80,
    0x6A81,
    0x6A82,
    0x6A83,
    0x6A86,
    0x6A88,
    0x6B00,
    0x6D00,
    0x6E00,
}


def valid_sw(rapdu: bytes) -> bool:
    sw = int.from_bytes(rapdu[-2:], "big")
    return len(rapdu) >= 2 and (sw in KNOWN_SW or sw & 0xFFF0 == 0x63C0 or sw & 0xFF00 == 0x6C00)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_and_end_in_a_status_word(apdu: bytes) -> None:
    card = _TEMPLATE2
    r = card.transmit(apdu)
    assert valid_sw(r)
    assert r[-2:] != b"\x6f\x00"  # no internal defect was hit


HEADERS = st.sampled_from(
    [
        (0x00, 0xA4),
        (0x00, 0xB2),
        (0x00, 0xB0),
        (0x00, 0xDC),
        (0x04, 0xDC),
        (0x00, 0xD6),
        (0x04, 0xD6),
        (0x00, 0x84),
        (0x00, 0x82),
        (0x00, 0x88),
        (0x00, 0x20),
        (0x80, 0x5E),
        (0x80, 0xA8),
        (0x80, 0xAE),
        (0x80, 0xCA),
        (0x00, 0xC0),
    ]
)


@st.composite
def structured_apdu(draw: st.DrawFn) -> bytes:
    cla, ins = draw(HEADERS)
    p1, p2 = draw(st.integers(0, 255)), draw(st.integers(0, 255))
    data = draw(st.binary(max_size=40))
    le = draw(st.one_of(st.none(), st.integers(0, 255)))
    return bytes((cla, ins, p1, p2)) + (lc(data) if data else b"") + (bytes((le,)) if le is not None else b"")


WRONG_PIN = st.text("0123456789", min_size=4, max_size=12).filter(lambda p: p != "123456")
MOVES = st.one_of(
    structured_apdu(),
    st.sampled_from([select_aid(SSSE_AID), select_aid(PSE_AID), select_aid(DEBIT_AID), select_fid(0x3F00)]),
    st.sampled_from([select_fid(f) for f in (0xDF01, 0xDF02, 0xDF03, 0xDF04, 0xEF05, 0xEF06, 0xEF07, 0xEF08)]),
    WRONG_PIN.map(lambda p: b"\x00\x20\x00\x00" + lc(secure.pin_to_bcd(p))),
    st.just(b"\x00\x84\x00\x00\x08"),
    st.binary(min_size=4, max_size=12),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([2, 3]), st.lists(MOVES, max_size=25))
def test_no_sequence_without_credentials_reads_or_changes_protected_data(generation: int, moves: list[bytes]) -> None:
    card = fresh(generation)
    before = to_dict(card)
    secrets = [SECRET_PHOTO]
    if generation == 3:  # basic information is protected by RKSSSE on 3rd-generation cards
        secrets += [HOLDER3.id_number.encode(), "王秘密".encode("gb18030"), HOLDER3.card_no.encode()]
    for apdu in moves:
        r = card.transmit(apdu)
        assert valid_sw(r)
        assert not any(s in r for s in secrets)
    # Only counters (PIN/key tries, ATC) may change; records and binary contents may not.
    assert _contents(to_dict(card)["mf"]) == _contents(before["mf"])


def _contents(df: dict[str, object]) -> list[object]:
    out: list[object] = []
    for child in df["children"]:  # type: ignore[attr-defined]  # image dicts are untyped JSON
        if child["type"] == "ef":
            out.append((child["fid"], child["records"], child["content"]))
        else:
            out.append(_contents(child))
    return out
