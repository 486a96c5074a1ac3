"""Signed requests of departments (docs/exchange.md "Signing a request"), pure functions: no database, no I/O.

Every request carries four headers::

    X-Dept-Key:   the key id issued to the department
    X-Timestamp:  Unix seconds (decimal digits), within ±300 s of the server's clock
    X-Nonce:      16–64 characters of A-Z a-z 0-9 - . _ ~, used once within the window
    X-Signature:  lowercase hex HMAC-SM3(secret, METHOD \\n PATH \\n QUERY \\n timestamp \\n nonce \\n SM3(body))

``METHOD`` is upper case, ``PATH`` the path of the request line as sent (no query), ``QUERY`` the query
parameters sorted by name (then value), each ``name=value`` percent-encoded per RFC 3986 (UTF-8, the unreserved
characters A-Z a-z 0-9 - . _ ~ kept, every other byte as ``%XX`` upper case), joined by ``&``, empty when there
are none; ``SM3(body)`` the lowercase hex SM3 of the body's exact bytes (of the empty string when there is none).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from cryptography.hazmat.primitives import hashes

from sscard.crypto.primitives import hmac_sm3_hex
from sscard.exchange.errors import ExchangeDepartmentUnknown, ExchangeRequestMalformed, ExchangeSignatureInvalid

WINDOW_SECONDS = 300
HEADERS = ("x-dept-key", "x-timestamp", "x-nonce", "x-signature")
KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{4,64}")
NONCE_RE = re.compile(r"[A-Za-z0-9._~-]{16,64}")
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")
MAX_QUERY = 4096


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: unreserved characters kept, every other byte ``%XX``."""
    return quote(value, safe="~", encoding="utf-8", errors="strict")


def canonical_query(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    """``QUERY``: the parameters sorted by name then value, ``name=value`` encoded, joined by ``&``."""
    pairs = params.items() if isinstance(params, Mapping) else params
    encoded = sorted((encode(name), encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def parse_query(raw: bytes | str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a received query string: ``&``-separated, ``+`` and ``%XX`` decoded as UTF-8
    (as HTML forms and most clients send them). Malformed UTF-8 or a too long query is refused."""
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ExchangeRequestMalformed("the query is not ASCII") from exc
    if len(text) > MAX_QUERY:
        raise ExchangeRequestMalformed(f"the query is longer than {MAX_QUERY} characters")
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            pairs.append((unquote_plus(name, errors="strict"), unquote_plus(value, errors="strict")))
        except UnicodeDecodeError as exc:
            raise ExchangeRequestMalformed("a query parameter is not UTF-8") from exc
    return pairs


def string_to_sign(method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((method.upper(), path, query, timestamp, nonce, sm3_hex(body))).encode("utf-8")


def sign(secret: bytes, method: str, path: str, query: Iterable[tuple[str, str]] | Mapping[str, str],
         timestamp: str, nonce: str, body: bytes) -> str:
    """``X-Signature`` of a request (what a department computes)."""
    return hmac_sm3_hex(secret, string_to_sign(method, path, canonical_query(query), timestamp, nonce, body))


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    key_id: str
    timestamp: int
    nonce: str
    signature: str
    timestamp_text: str


def parse_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The four signed-request headers (names case-insensitive), each checked for its shape."""
    lowered = {k.lower(): v for k, v in headers.items()}
    values = {}
    for name in HEADERS:  # an unsigned request is unauthenticated: 401, whichever header it lacks
        value = lowered.get(name)
        if value is None or value == "":
            raise ExchangeSignatureInvalid(f"header {name} is missing: the request is not signed", header=name)
        values[name] = value
    if not KEY_ID_RE.fullmatch(values["x-dept-key"]):
        raise ExchangeDepartmentUnknown("X-Dept-Key: 4-64 of A-Z a-z 0-9 _ -", header="x-dept-key")
    if not TIMESTAMP_RE.fullmatch(values["x-timestamp"]):
        raise ExchangeSignatureInvalid("X-Timestamp: Unix seconds, decimal digits", header="x-timestamp")
    if not NONCE_RE.fullmatch(values["x-nonce"]):
        raise ExchangeSignatureInvalid("X-Nonce: 16-64 of A-Z a-z 0-9 - . _ ~", header="x-nonce")
    if not SIGNATURE_RE.fullmatch(values["x-signature"]):
        raise ExchangeSignatureInvalid("X-Signature: 64 lowercase hex digits", header="x-signature")
    return SignedHeaders(values["x-dept-key"], int(values["x-timestamp"]), values["x-nonce"],
                         values["x-signature"], values["x-timestamp"])


def parse_headers_or_none(headers: Mapping[str, str]) -> SignedHeaders | None:
    """``parse_headers``, or None when it would refuse them."""
    try:
        return parse_headers(headers)
    except (ExchangeSignatureInvalid, ExchangeDepartmentUnknown):
        return None


def check_signature(secret: bytes, signed: SignedHeaders, method: str, path: str, query: list[tuple[str, str]],
                    body: bytes) -> None:
    """Raises ``EXCHANGE_SIGNATURE_INVALID`` unless the signature is the secret's over this request (compared in
    constant time)."""
    expected = hmac_sm3_hex(secret, string_to_sign(method, path, canonical_query(query), signed.timestamp_text,
                                                   signed.nonce, body))
    if not hmac.compare_digest(expected, signed.signature):
        raise ExchangeSignatureInvalid("the signature does not match the request")


def within_window(timestamp: int, now: float) -> bool:
    return abs(now - timestamp) <= WINDOW_SECONDS
