"""The code's byte layout and the offline checks, without a database: round trip, every kind of bad input
(truncated, oversized, malformed base64, another version, re-signed with another key, expired), the revocation
list, and the parser fuzzed."""

from __future__ import annotations

import base64
import datetime as dt
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscard.crypto import sm2
from sscard.ecard import payload
from sscard.ecard.errors import EcardCodeExpired, EcardCodeForged, EcardCodeMalformed

PRIVATE, PUBLIC = sm2.generate_key()
KEYS = {1: PUBLIC}
NOW = 1_790_000_000


def make(issued_at: int = NOW, validity: int = 60, key_version: int = 1, private: bytes = PRIVATE,
         public: bytes = PUBLIC, token: bytes | None = None) -> payload.Code:
    code = payload.unsigned(key_version, token or os.urandom(16), issued_at, validity, os.urandom(8))
    return payload.Code(code.version, key_version, code.token, issued_at, validity, code.nonce,
                        sm2.sign(private, public, code.signed))


def test_a_code_is_the_prefix_and_130_characters_of_base64url_and_parses_back() -> None:
    code = make()
    text = code.text()
    assert text.startswith("ESSC1.") and len(text) == payload.TEXT_LEN == 136
    assert payload.parse(text) == code
    assert len(code.signed) == 33 and code.signed[0] == 1
    payload.check(payload.parse(text), KEYS, NOW + 60, skew=5)


def test_the_layout_is_big_endian_at_the_documented_offsets() -> None:
    token, nonce = bytes(range(16)), bytes(range(100, 108))
    code = payload.unsigned(513, token, 0x01020304, 60, nonce)
    assert code.signed == b"\x01" + b"\x02\x01" + token + b"\x01\x02\x03\x04" + b"\x00\x3c" + nonce


@pytest.mark.parametrize("bad", ["", "ESSC1.", "ESSC2." + "A" * 130, "essc1." + "A" * 130, "ESSC1." + "A" * 129,
                                 "ESSC1." + "A" * 131, "ESSC1." + "A" * 128 + "==", "ESSC1." + "+" * 130,
                                 "x" * 10_000])
def test_malformed_texts_are_refused_with_one_code(bad: str) -> None:
    with pytest.raises(EcardCodeMalformed):
        payload.parse(bad)


def test_a_truncated_code_is_malformed() -> None:
    text = make().text()
    for cut in (1, 2, 10, 64):
        with pytest.raises(EcardCodeMalformed):
            payload.parse(text[:-cut])


def test_a_non_canonical_base64_ending_is_malformed() -> None:
    text = make().text()
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 97 bytes → the last character carries 2 bits of data and 4 zero bits: any other choice is not canonical
    other = next(c for c in last if c != text[-1] and last.index(c) >> 4 == last.index(text[-1]) >> 4)
    with pytest.raises(EcardCodeMalformed):
        payload.parse(text[:-1] + other)


def test_another_version_byte_is_malformed() -> None:
    raw = bytearray(base64.urlsafe_b64decode(make().text()[6:] + "=="))
    raw[0] = 2
    with pytest.raises(EcardCodeMalformed):
        payload.parse("ESSC1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


def test_a_code_re_signed_with_another_key_is_forged() -> None:
    other_private, other_public = sm2.generate_key()
    with pytest.raises(EcardCodeForged):
        payload.check(make(private=other_private, public=other_public), KEYS, NOW, skew=5)


def test_a_code_under_an_unpublished_key_version_is_forged() -> None:
    with pytest.raises(EcardCodeForged):
        payload.check(make(key_version=2), KEYS, NOW, skew=5)


def test_any_changed_byte_of_a_signed_code_is_forged_or_malformed() -> None:
    raw = base64.urlsafe_b64decode(make().text()[6:] + "==")
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        text = "ESSC1." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        with pytest.raises((EcardCodeForged, EcardCodeMalformed)):
            payload.check(payload.parse(text), KEYS, NOW, skew=5)


def test_the_time_window_is_issue_time_minus_skew_to_expiry() -> None:
    code = make()
    payload.check(code, KEYS, NOW - 5, skew=5)
    payload.check(code, KEYS, NOW + 60, skew=5)
    for now in (NOW - 6, NOW + 61):
        with pytest.raises(EcardCodeExpired):
            payload.check(code, KEYS, now, skew=5)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_parses_or_is_malformed(text: str) -> None:
    try:
        code = payload.parse(text)
    except EcardCodeMalformed:
        return
    assert code.text() == text.strip()


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_fuzz_any_bytes_behind_the_prefix_parse_or_are_malformed_and_never_verify(raw: bytes) -> None:
    text = "ESSC1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    try:
        code = payload.parse(text)
    except EcardCodeMalformed:
        assert len(raw) != payload.CODE_LEN or raw[0] != 1 or raw[1:3] == b"\0\0" or raw[23:25] == b"\0\0"
        return
    with pytest.raises((EcardCodeForged, EcardCodeExpired)):
        payload.check(code, KEYS, NOW, skew=5)


# ------------------------------------------------------------------------------------------------ revocations

WHEN = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def _crl(tokens: list[str], private: bytes = PRIVATE, public: bytes = PUBLIC) -> bytes:
    body = payload.crl_body(WHEN, tokens)
    return payload.crl_text(body, 1, sm2.sign(private, public, body))


def test_a_revocation_list_parses_back_with_its_tokens() -> None:
    tokens = [os.urandom(16).hex() for _ in range(3)]
    data = _crl(tokens)
    assert data.startswith(b"ESSC-CRL/1\ngenerated 2026-12-02T08:00:00Z\ncount 3\n")
    parsed = payload.parse_crl(data, KEYS)
    assert parsed.tokens == frozenset(tokens) and parsed.generated_at == WHEN and parsed.key_version == 1


def test_a_revocation_list_with_a_token_taken_out_is_forged() -> None:
    tokens = [os.urandom(16).hex() for _ in range(2)]
    data = _crl(tokens)
    lines = data.split(b"\n")
    tampered = b"\n".join([lines[0], lines[1], b"count 1", *lines[4:]])
    with pytest.raises(EcardCodeForged):
        payload.parse_crl(tampered, KEYS)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_a_revocation_list_of_any_bytes_is_malformed_or_forged(data: bytes) -> None:
    with pytest.raises((EcardCodeMalformed, EcardCodeForged)):
        payload.parse_crl(data, KEYS)
