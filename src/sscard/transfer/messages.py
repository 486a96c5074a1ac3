"""The signed documents two centres exchange (docs/transfer.md "Messages"): one envelope for the voucher the
holder carries (参保缴费凭证), the contact letter (联系函), the transfer notice (基金划转通知) and the answers.

An envelope is a JSON object::

    {"format": "sscard-transfer/1", "kind": "...", "msg_id": "...", "from_city": "441800", "to_city": "440100",
     "sent_at": "2026-12-02T10:00:00+00:00", "body": {...},
     "signature": {"key_ref": "city:440100441800:v1", "mac": "<64 hex>"}}

``mac`` is HMAC-SM3, under the key the two cities share (partner ``city:<lower code><higher code>`` in each
centre's partner keystore, ``sscard.kms.partners``), over the *canonical form* of the envelope without
``signature``: UTF-8 JSON with keys sorted, no whitespace (separators ``,`` and ``:``), non-ASCII characters as
themselves. Values are strings, integers, booleans, null, arrays and objects only — a float is refused, so the
canonical form is the RFC 8785 one for every document this format allows. The parser is strict (``parse``):
size, depth, duplicate keys, floats, unknown fields and every field's shape are checked before the MAC, and
the MAC before anything is believed. Written by hand rather than with a JOSE library: the partners (city centres
on the same platform family, later the provincial hub) share one symmetric SM3 key as every other exchange file
of the platform does, and JWS has no SM3 algorithm.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from sscard import clock
from sscard.crypto.primitives import hmac_sm3_hex
from sscard.kms.partners import FileMacError, PartnerKeys, PartnerKeyUnknown
from sscard.transfer.config import CITY_RE
from sscard.transfer.errors import TransferCityUnknown, TransferMessageMalformed, TransferSignatureInvalid

FORMAT = "sscard-transfer/1"
MAX_BYTES = 256 * 1024
MAX_DEPTH = 8
KINDS = ("voucher", "contact_letter", "transfer_notice", "ack", "receipt")
_MSG_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_KEY_REF_RE = re.compile(r"(city:[0-9]{12}):v([1-9][0-9]{0,5})")
_MAC_RE = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"format", "kind", "msg_id", "from_city", "to_city", "sent_at", "body", "signature"}


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: str
    msg_id: str
    from_city: str
    to_city: str
    sent_at: str
    body: dict[str, Any]
    raw: bytes  # the bytes as received or sent (what is stored and replayed)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical form without the signature: the message's identity for idempotency."""
        return hashlib.sha256(canonical(self.unsigned())).hexdigest()

    def unsigned(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind, "msg_id": self.msg_id, "from_city": self.from_city,
                "to_city": self.to_city, "sent_at": self.sent_at, "body": self.body}


def pair_partner(a: str, b: str) -> str:
    """The partner-key name two cities share: ``city:`` and both codes, the lower first."""
    low, high = sorted((a, b))
    return f"city:{low}{high}"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def seal(ring: PartnerKeys, kind: str, msg_id: str, from_city: str, to_city: str, body: dict[str, Any],
         sent_at: dt.datetime | None = None) -> Envelope:
    """A signed envelope from ``from_city`` to ``to_city``."""
    if kind not in KINDS or not _MSG_ID_RE.fullmatch(msg_id):
        raise TransferMessageMalformed(f"kind {kind!r} / msg_id {msg_id[:70]!r}")
    at = (sent_at or clock.now()).astimezone(dt.UTC).isoformat(timespec="seconds")
    unsigned = {"format": FORMAT, "kind": kind, "msg_id": msg_id, "from_city": from_city, "to_city": to_city,
                "sent_at": at, "body": body}
    partner = pair_partner(from_city, to_city)
    try:
        version, key = ring.signing(partner)
    except PartnerKeyUnknown as exc:
        raise TransferCityUnknown(f"no message key for {partner}", city=to_city) from exc
    signed = {**unsigned, "signature": {"key_ref": f"{partner}:v{version}",
                                        "mac": hmac_sm3_hex(key, canonical(unsigned))}}
    raw = canonical(signed)
    decode(raw)  # what this side sends must be what the other side's parser accepts (no float, depth, size)
    return Envelope(kind, msg_id, from_city, to_city, at, body, raw)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise TransferMessageMalformed(f"key {key[:40]!r} twice")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise TransferMessageMalformed("a number with a fraction or exponent (amounts are integer fen)")


def _no_constant(text: str) -> Any:
    raise TransferMessageMalformed(f"{text} is not JSON")


def _depth(value: Any, level: int = 0) -> None:
    if level > MAX_DEPTH:
        raise TransferMessageMalformed(f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, dict):
        for item in value.values():
            _depth(item, level + 1)
    elif isinstance(value, list):
        for item in value:
            _depth(item, level + 1)


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object of a document, strictly (no signature check): size, UTF-8, duplicate keys, floats,
    NaN, depth."""
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise TransferMessageMalformed("an empty message")
    if len(raw) > MAX_BYTES:
        raise TransferMessageMalformed(f"larger than {MAX_BYTES} bytes")
    try:
        text = bytes(raw).decode("utf-8")
        # json's own recursion limit is deep; a hostile nesting stays a malformed message, not a RecursionError
        if text.count("[") + text.count("{") > 20_000:
            raise TransferMessageMalformed("too many arrays or objects")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                           parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise TransferMessageMalformed("not UTF-8") from exc
    except RecursionError as exc:
        raise TransferMessageMalformed("nested too deep") from exc
    except ValueError as exc:
        if isinstance(exc, TransferMessageMalformed):
            raise
        raise TransferMessageMalformed(f"not JSON: {str(exc)[:80]}") from exc
    if not isinstance(value, dict):
        raise TransferMessageMalformed("not a JSON object")
    _depth(value)
    return value


def parse(raw: bytes, ring: PartnerKeys, *, own_city: str, partners: set[str] | frozenset[str]) -> Envelope:
    """A received envelope, checked: shape, addressed to ``own_city``, from a partner city, and its MAC under the
    pair's key (constant-time compare). Any defect raises before the body is used: a malformed document
    ``TRANSFER_MESSAGE_MALFORMED``, a wrong or missing signature ``TRANSFER_SIGNATURE_INVALID``, a city that is
    not a partner ``TRANSFER_CITY_UNKNOWN``."""
    doc = decode(raw)
    signature = doc.get("signature")
    if not isinstance(signature, dict):
        raise TransferSignatureInvalid("the message is not signed")
    unknown = set(doc) - _FIELDS
    if unknown:
        raise TransferMessageMalformed(f"unknown field {sorted(unknown)[0][:40]!r}")
    kind, msg_id, from_city, to_city, sent_at, body = (doc.get(k) for k in (
        "kind", "msg_id", "from_city", "to_city", "sent_at", "body"))
    if doc.get("format") != FORMAT:
        raise TransferMessageMalformed(f"format is not {FORMAT}")
    if not isinstance(kind, str) or kind not in KINDS:
        raise TransferMessageMalformed("unknown kind")
    if not isinstance(msg_id, str) or not _MSG_ID_RE.fullmatch(msg_id):
        raise TransferMessageMalformed("msg_id: 1-64 of A-Z a-z 0-9 . _ : - (not first)")
    for name, city in (("from_city", from_city), ("to_city", to_city)):
        if not isinstance(city, str) or not CITY_RE.fullmatch(city):
            raise TransferMessageMalformed(f"{name}: a six-digit city code")
    assert isinstance(from_city, str) and isinstance(to_city, str)
    if not isinstance(sent_at, str) or len(sent_at) > 40 or not _is_time(sent_at):
        raise TransferMessageMalformed("sent_at: an ISO 8601 time with its offset")
    if not isinstance(body, dict):
        raise TransferMessageMalformed("body: an object")
    if to_city != own_city:
        raise TransferCityUnknown(f"addressed to {to_city}, this centre is {own_city}", city=to_city)
    if from_city not in partners:
        raise TransferCityUnknown(f"{from_city} is not a partner city", city=from_city)
    key_ref, mac = signature.get("key_ref"), signature.get("mac")
    if set(signature) != {"key_ref", "mac"} or not isinstance(key_ref, str) or not isinstance(mac, str):
        raise TransferSignatureInvalid("signature: key_ref and mac")
    ref = _KEY_REF_RE.fullmatch(key_ref)
    if ref is None or ref.group(1) != pair_partner(from_city, to_city) or not _MAC_RE.fullmatch(mac):
        raise TransferSignatureInvalid("the key_ref does not name this city pair's key")
    try:
        key = ring.verifying(ref.group(1), int(ref.group(2)))
    except FileMacError as exc:
        raise TransferSignatureInvalid(str(exc)) from exc
    envelope = Envelope(kind, msg_id, from_city, to_city, sent_at, body, bytes(raw))
    if not hmac.compare_digest(hmac_sm3_hex(key, canonical(envelope.unsigned())), mac):
        raise TransferSignatureInvalid("the MAC does not match")
    return envelope


def _is_time(value: str) -> bool:
    try:
        return dt.datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
