"""The message parser under hypothesis: any bytes, any JSON, any change to a signed envelope is either the same
message or refused with one of the transfer's stable codes — never another exception, never a changed message
believed; and the bodies' validation refuses anything but the documented shapes with TRANSFER_MESSAGE_MALFORMED."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.kms.partners import PartnerKeys
from sscard.transfer import messages, service
from sscard.transfer.errors import TransferMessageMalformed
from sscard.transfer.schemas import ContactLetterBody, NoticeBody, VoucherBody

RING = PartnerKeys.demo_ring()
OWN, OTHER = "440100", "441800"
PARTNERS = frozenset({OTHER})
CODES = {"TRANSFER_MESSAGE_MALFORMED", "TRANSFER_SIGNATURE_INVALID", "TRANSFER_CITY_UNKNOWN"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30)
BODY = {"voucher_no": "V44180020261202000001", "bank_ref": "XFV44180020261202000001-0",
        "pay_to": {"bank_code": "ICBC", "account_no": "SIF440100", "account_name": "广州市社会保险基金"},
        "pension_personal_fen": 110_352, "pension_interest_fen": 1_149, "pension_pool_fen": 331_056,
        "medical_personal_fen": 55_176, "total_fen": 497_733}


def _valid() -> bytes:
    return messages.seal(RING, "transfer_notice", "TN-V44180020261202000001", OTHER, OWN, BODY).raw


def _parse(raw: bytes) -> messages.Envelope | None:
    try:
        return messages.parse(raw, RING, own_city=OWN, partners=PARTNERS)
    except Exception as exc:
        assert getattr(exc, "code", None) in CODES, repr(exc)
        return None


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_are_refused_with_a_stable_code(raw: bytes) -> None:
    assert _parse(raw) is None


@FUZZ
@given(json_values)
def test_any_json_is_refused_with_a_stable_code(value: Any) -> None:
    try:
        raw = json.dumps(value).encode()
    except ValueError:
        return
    assert _parse(raw) is None


@FUZZ
@given(st.data())
def test_a_changed_envelope_is_refused_or_is_the_same_message(data: st.DataObject) -> None:
    raw = bytearray(_valid())
    original = _parse(bytes(raw))
    assert original is not None
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            raw[at] ^= data.draw(st.integers(1, 255))
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        elif len(raw) > 1:
            del raw[at]
    parsed = _parse(bytes(raw))
    if parsed is not None:  # only changes outside the signed content (e.g. whitespace) leave a message
        assert (parsed.digest, parsed.body) == (original.digest, original.body)


@FUZZ
@given(st.sampled_from(sorted(BODY)), json_values)
def test_a_field_changed_under_a_valid_signature_is_refused_by_the_body_check(field: str, value: Any) -> None:
    body = {**BODY, field: value}
    try:
        env = messages.seal(RING, "transfer_notice", "TN-1", OTHER, OWN, body)
    except (ValueError, TransferMessageMalformed):  # a float, NaN or too deep: not sendable either
        return
    parsed = messages.parse(env.raw, RING, own_city=OWN, partners=PARTNERS)
    for model in (NoticeBody, VoucherBody, ContactLetterBody):
        try:
            checked = service._body(model, parsed)
        except TransferMessageMalformed:
            continue
        assert model is NoticeBody and checked.model_dump() == body


@FUZZ
@given(st.dictionaries(st.sampled_from(["voucher_no", "person", "pension", "medical", "total_fen", "issued_on",
                                        "x"]), json_values, max_size=7))
def test_voucher_bodies_are_strict(body: dict[str, Any]) -> None:
    try:
        env = messages.seal(RING, "voucher", "V1", OTHER, OWN, body)
        parsed = messages.parse(env.raw, RING, own_city=OWN, partners=PARTNERS)
    except (ValueError, TransferMessageMalformed):
        return
    with pytest.raises(TransferMessageMalformed):
        service._body(VoucherBody, parsed)


def test_a_round_trip_keeps_the_message_and_whitespace_does_not_matter() -> None:
    raw = _valid()
    parsed = messages.parse(raw, RING, own_city=OWN, partners=PARTNERS)
    assert parsed.body == BODY and parsed.kind == "transfer_notice"
    spaced = json.dumps(json.loads(raw), ensure_ascii=True, indent=2).encode()
    assert messages.parse(spaced, RING, own_city=OWN, partners=PARTNERS).digest == parsed.digest


@pytest.mark.parametrize("raw", [b'{"a": 1, "a": 2}', b'{"a": 1.0}', b'{"a": NaN}', b"[" * 30000 + b"]" * 30000,
                                 b"\xff\xfe", b" " * (messages.MAX_BYTES + 1)])
def test_hostile_documents_are_malformed(raw: bytes) -> None:
    with pytest.raises(TransferMessageMalformed):
        messages.decode(raw)


def test_a_pair_key_made_on_one_side_and_imported_on_the_other_signs_and_verifies(tmp_path: Any) -> None:
    """The key ceremony with a real KEK (no demo keys): A creates and exports the pair key, B imports it."""
    kek = bytes(range(32))
    a, b = PartnerKeys(kek, tmp_path / "a.json"), PartnerKeys(kek, tmp_path / "b.json")
    pair = messages.pair_partner(OTHER, OWN)
    with pytest.raises(Exception) as unknown:
        messages.seal(b, "ack", "R-1", OWN, OTHER, {})
    assert getattr(unknown.value, "code", None) == "TRANSFER_CITY_UNKNOWN"
    a.create(pair)
    entry, key = a.export(pair)
    b.import_key(pair, entry.version, key)
    raw = messages.seal(a, "transfer_notice", "TN-1", OTHER, OWN, BODY).raw
    assert messages.parse(raw, PartnerKeys(kek, tmp_path / "b.json"), own_city=OWN, partners=PARTNERS).body == BODY
    forged = messages.seal(RING, "transfer_notice", "TN-1", OTHER, OWN, BODY).raw  # the demo key is not it
    with pytest.raises(Exception) as refused:
        messages.parse(forged, b, own_city=OWN, partners=PARTNERS)
    assert getattr(refused.value, "code", None) == "TRANSFER_SIGNATURE_INVALID"
    with pytest.raises(Exception) as again:
        b.import_key(pair, entry.version, key)
    assert getattr(again.value, "code", None) == "PARTNER_KEY_EXISTS"
