"""The cross-region message parser under hypothesis: any bytes, any JSON, any change to a signed envelope is
either the same message or refused with one of the stable codes — never another exception, never a changed
message believed; the hub's re-signed copy keeps the message's identity (digest); the bodies' validation
refuses anything but the documented shapes with REMOTE_MESSAGE_MALFORMED."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.kms.partners import PartnerKeys
from sscard.remote import messages, service
from sscard.remote.errors import RemoteMessageMalformed
from sscard.remote.schemas import ReverseBody, SettleBody

RING = PartnerKeys.demo_ring()
HUB, QY, SG = "440000", "441800", "440200"
CODES = {"REMOTE_MESSAGE_MALFORMED", "REMOTE_SIGNATURE_INVALID", "REMOTE_REGION_UNKNOWN"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30)
BODY = {"settle_msg_id": "S0123456789abcdef0123456789abcdef01234567", "reason": "2208"}


def _valid() -> bytes:
    return messages.seal(RING, "reverse", "V0123456789abcdef", QY, SG, QY, HUB, BODY).raw


def _parse(raw: bytes) -> messages.Envelope | None:
    try:
        return messages.parse(raw, RING, receiver=HUB, senders={QY, SG})
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
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_a_changed_byte_is_never_believed(position: int, value: int) -> None:
    raw = bytearray(_valid())
    index = position % len(raw)
    if raw[index] == value:
        return
    raw[index] = value
    env = _parse(bytes(raw))
    assert env is None or env.unsigned() == messages.parse(_valid(), RING, receiver=HUB).unsigned()


@FUZZ
@given(st.sampled_from(["kind", "msg_id", "origin", "destination", "sender", "receiver", "sent_at", "body"]),
       json_values)
def test_a_changed_field_is_refused(name: str, value: Any) -> None:
    doc = json.loads(_valid())
    if doc[name] == value:
        return
    doc[name] = value
    try:
        raw = json.dumps(doc, ensure_ascii=False).encode()
    except ValueError:
        return
    assert _parse(raw) is None


def test_the_hubs_copy_keeps_the_identity_and_is_signed_for_its_hop() -> None:
    env = messages.parse(_valid(), RING, receiver=HUB, senders={QY})
    copy = messages.reseal(RING, env, HUB, SG)
    relayed = messages.parse(copy.raw, RING, receiver=SG, senders={HUB})
    assert relayed.digest == env.digest and relayed.body == BODY
    assert _parse(copy.raw) is None  # not for the hub: addressed to 440200
    with pytest.raises(Exception) as caught:
        messages.parse(copy.raw, RING, receiver=SG, senders={QY})  # the hop's sender must be the hub
    assert getattr(caught.value, "code", None) == "REMOTE_REGION_UNKNOWN"


@FUZZ
@given(st.dictionaries(st.sampled_from(["treating_region", "institution", "hospital_msg_id", "card_no", "bill",
                                        "items", "use_account", "extra"]), json_values, max_size=8))
def test_settle_bodies_are_validated(body: dict[str, Any]) -> None:
    env = messages.Envelope("settle", "S1", QY, SG, HUB, SG, "2026-12-04T00:00:00+00:00", body, b"")
    with pytest.raises(RemoteMessageMalformed):  # random values never make a valid settle body
        service._body(SettleBody, env)
    with pytest.raises(RemoteMessageMalformed):
        service._body(ReverseBody, messages.Envelope("reverse", "V1", QY, SG, HUB, SG, "x", {"x": body}, b""))
