"""The signing text of docs/exchange.md: the shipped example recomputes exactly (server and example client),
any tamper of method, path, query, timestamp, nonce or body fails, and the header and query parsers answer any
input with a value or a stable code (hypothesis)."""

from __future__ import annotations

import json
import string

import pytest
from exchange_world import CLIENT, EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.exchange import signing
from sscard.exchange.errors import ExchangeDepartmentUnknown, ExchangeRequestMalformed, ExchangeSignatureInvalid

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLE = json.loads((EXAMPLES / "signed-request.json").read_text("utf-8"))


def test_sm3_is_the_standard_one() -> None:
    # GB/T 32905-2016 appendix A, example 1
    assert signing.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_the_worked_example_recomputes_exactly() -> None:
    secret, body = bytes.fromhex(EXAMPLE["secret_hex"]), EXAMPLE["body"].encode("utf-8")
    assert signing.canonical_query(EXAMPLE["query"]) == EXAMPLE["canonical_query"]
    assert signing.sm3_hex(body) == EXAMPLE["body_sm3"]
    assert signing.string_to_sign(EXAMPLE["method"], EXAMPLE["path"], EXAMPLE["canonical_query"],
                                  EXAMPLE["timestamp"], EXAMPLE["nonce"], body).decode() == EXAMPLE["string_to_sign"]
    args = (EXAMPLE["method"], EXAMPLE["path"], EXAMPLE["query"], EXAMPLE["timestamp"], EXAMPLE["nonce"], body)
    assert signing.sign(secret, *args) == EXAMPLE["signature"]
    assert CLIENT.signature(secret, *args) == EXAMPLE["signature"]  # the client a department copies
    # and the server accepts it as received on the wire
    headers = {"X-Dept-Key": "dk_example", "X-Timestamp": EXAMPLE["timestamp"], "X-Nonce": EXAMPLE["nonce"],
               "X-Signature": EXAMPLE["signature"]}
    received = signing.parse_query(EXAMPLE["canonical_query"])
    signing.check_signature(secret, signing.parse_headers(headers), EXAMPLE["method"], EXAMPLE["path"], received,
                            body)


def test_form_encoded_spaces_and_any_parameter_order_sign_the_same() -> None:
    assert signing.canonical_query(signing.parse_query("b=2&a=x+y&a=%7E")) == "a=x%20y&a=~&b=2"
    assert signing.canonical_query({}) == ""


names = st.text(alphabet=string.ascii_letters + "_-.~ 中%&=", min_size=1, max_size=8)
values = st.text(max_size=12).filter(lambda v: "\x00" not in v)
queries = st.dictionaries(names, values, max_size=4)
nonces = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=16, max_size=64)
paths = st.text(alphabet=string.ascii_letters + string.digits + "/-_.%", min_size=1, max_size=40).map(lambda p: "/" + p)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE"])
timestamps = st.integers(min_value=0, max_value=10**11).map(str)


@FUZZ
@given(secret=st.binary(min_size=16, max_size=64), method=methods, path=paths, query=queries, ts=timestamps,
       nonce=nonces, body=st.binary(max_size=200), which=st.sampled_from(
           ["method", "path", "query", "ts", "nonce", "body", "secret"]), extra=st.text(min_size=1, max_size=4))
def test_any_tamper_fails(secret: bytes, method: str, path: str, query: dict[str, str], ts: str, nonce: str,
                          body: bytes, which: str, extra: str) -> None:
    signature = signing.sign(secret, method, path, query, ts, nonce, body)
    headers = signing.SignedHeaders("dk_x", int(ts), nonce, signature, ts)
    received = signing.parse_query(signing.canonical_query(query))
    signing.check_signature(secret, headers, method, path, received, body)  # untouched: accepted
    if which == "method":
        method = "PATCH"
    elif which == "path":
        path = path + "/" + extra
    elif which == "query":
        received = [*received, ("zz" + extra, extra)]
    elif which == "ts":
        headers = signing.SignedHeaders("dk_x", int(ts) + 1, nonce, signature, str(int(ts) + 1))
    elif which == "nonce":
        headers = signing.SignedHeaders("dk_x", int(ts), nonce[::-1] + "z", signature, ts)
    elif which == "body":
        body = body + extra.encode()
    else:
        secret = secret + b"\x01"
    with pytest.raises(ExchangeSignatureInvalid):
        signing.check_signature(secret, headers, method, path, received, body)


header_values = st.one_of(st.text(max_size=80), nonces, timestamps, st.just("0" * 64))


@FUZZ
@given(st.dictionaries(st.sampled_from(["X-Dept-Key", "x-timestamp", "X-NONCE", "X-Signature", "Other"]),
                       header_values, max_size=5))
def test_the_header_parser_answers_a_value_or_a_stable_code(headers: dict[str, str]) -> None:
    try:
        parsed = signing.parse_headers(headers)
    except (ExchangeDepartmentUnknown, ExchangeSignatureInvalid):
        return
    assert 16 <= len(parsed.nonce) <= 64 and parsed.timestamp >= 0 and len(parsed.signature) == 64


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_the_query_parser_answers_pairs_or_a_stable_code(raw: bytes | str) -> None:
    try:
        pairs = signing.parse_query(raw)
    except ExchangeRequestMalformed:
        return
    again = signing.parse_query(signing.canonical_query(pairs))
    assert sorted(again) == sorted(pairs)


@FUZZ
@given(queries)
def test_the_canonical_query_round_trips(query: dict[str, str]) -> None:
    canonical = signing.canonical_query(query)
    assert signing.canonical_query(signing.parse_query(canonical)) == canonical
    assert all(c in string.ascii_letters + string.digits + "-._~%=&" for c in canonical)
