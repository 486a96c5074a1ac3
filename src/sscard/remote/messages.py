"""The signed messages of cross-region settlement (docs/cross-region.md "Messages"): one envelope, relayed
hop by hop — centre → hub → centre and the answer back the same way.

    {"format": "sscard-remote/1", "kind": "settle", "msg_id": "S…", "origin": "441800", "destination": "440200",
     "sender": "441800", "receiver": "440000", "sent_at": "2026-12-04T01:00:00+00:00", "body": {...},
     "signature": {"key_ref": "city:440000441800:v1", "mac": "<64 hex>"}}

``origin``/``destination`` are the two centres (统筹区 codes) end to end; ``sender``/``receiver`` this hop (one of
them is always the hub, 440000 广东省). ``mac`` is HMAC-SM3 under the hop's key — the partner key
``city:<lower><higher>`` of the two codes in each side's partner keystore (``sscard.kms.partners``, the same
kind of key as a city pair's transfer key: docs/transfer.md) — over the canonical form of the envelope without
``signature``. The canonical form and the strict JSON decoding (size, depth, duplicate keys, no floats) are
``sscard.transfer.messages``'s. The hub re-signs each message for the next hop and keeps the same ``msg_id``:
the message's identity end to end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from sscard import clock
from sscard.crypto.primitives import hmac_sm3_hex
from sscard.kms.partners import FileMacError, PartnerKeys, PartnerKeyUnknown
from sscard.remote.config import REGION_RE
from sscard.remote.errors import RemoteMessageMalformed, RemoteRegionUnknown, RemoteSignatureInvalid
from sscard.transfer import messages as transfer_messages
from sscard.transfer.errors import TransferMessageMalformed

FORMAT = "sscard-remote/1"
MAX_BYTES = transfer_messages.MAX_BYTES
REQUESTS = ("settle", "reverse", "cancel", "registration", "statement", "clearing")
KINDS = (*REQUESTS, "answer")
_MSG_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_KEY_REF_RE = re.compile(r"(city:[0-9]{12}):v([1-9][0-9]{0,5})")
_MAC_RE = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"format", "kind", "msg_id", "origin", "destination", "sender", "receiver", "sent_at", "body",
           "signature"}
_REGIONS = ("origin", "destination", "sender", "receiver")


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: str
    msg_id: str
    origin: str
    destination: str
    sender: str
    receiver: str
    sent_at: str
    body: dict[str, Any]
    raw: bytes

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical end-to-end content (kind, id, origin, destination, body): the same message
        re-signed by the hub for the next hop keeps its digest."""
        core = {"kind": self.kind, "msg_id": self.msg_id, "origin": self.origin, "destination": self.destination,
                "body": self.body}
        return hashlib.sha256(transfer_messages.canonical(core)).hexdigest()

    def unsigned(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind, "msg_id": self.msg_id, "origin": self.origin,
                "destination": self.destination, "sender": self.sender, "receiver": self.receiver,
                "sent_at": self.sent_at, "body": self.body}


def hop_partner(a: str, b: str) -> str:
    return transfer_messages.pair_partner(a, b)


def seal(ring: PartnerKeys, kind: str, msg_id: str, origin: str, destination: str, sender: str, receiver: str,
         body: dict[str, Any], sent_at: dt.datetime | None = None, *, checked: bool = False) -> Envelope:
    """A signed envelope for the hop ``sender`` → ``receiver``. ``checked``: ``body`` came out of a parsed
    message (the hub's relay), so it passes the parser already and is not decoded again here."""
    if kind not in KINDS or not _MSG_ID_RE.fullmatch(msg_id):
        raise RemoteMessageMalformed(f"kind {kind!r} / msg_id {msg_id[:70]!r}")
    at = (sent_at or clock.now()).astimezone(dt.UTC).isoformat(timespec="seconds")
    env = Envelope(kind, msg_id, origin, destination, sender, receiver, at, body, b"")
    unsigned = env.unsigned()
    partner = hop_partner(sender, receiver)
    try:
        version, key = ring.signing(partner)
    except PartnerKeyUnknown as exc:
        raise RemoteRegionUnknown(f"no message key for {partner}", region=receiver) from exc
    signed = {**unsigned, "signature": {"key_ref": f"{partner}:v{version}",
                                        "mac": hmac_sm3_hex(key, transfer_messages.canonical(unsigned))}}
    raw = transfer_messages.canonical(signed)
    if not checked:
        decode(raw)  # what this side sends must pass the other side's parser
    elif len(raw) > MAX_BYTES:  # the hop's fields may add a few bytes to a message parsed within the limit
        raise RemoteMessageMalformed(f"larger than {MAX_BYTES} bytes")
    return Envelope(kind, msg_id, origin, destination, sender, receiver, at, body, raw)


def reseal(ring: PartnerKeys, env: Envelope, sender: str, receiver: str) -> Envelope:
    """The same message for the next hop (the hub's relay): same kind, id, ends and body, new hop signature."""
    return seal(ring, env.kind, env.msg_id, env.origin, env.destination, sender, receiver, env.body, checked=True)


def decode(raw: bytes) -> dict[str, Any]:
    try:
        return transfer_messages.decode(raw)
    except TransferMessageMalformed as exc:
        raise RemoteMessageMalformed(exc.detail) from None


def parse(raw: bytes, ring: PartnerKeys, *, receiver: str, senders: set[str] | frozenset[str] | None = None
          ) -> Envelope:
    """A received envelope, checked before anything is believed: shape, this hop addressed to ``receiver``,
    from one of ``senders`` (None: any registered elsewhere), and the MAC under the hop's key (constant-time
    compare)."""
    doc = decode(raw)
    signature = doc.get("signature")
    if not isinstance(signature, dict):
        raise RemoteSignatureInvalid("the message is not signed")
    unknown = set(doc) - _FIELDS
    if unknown:
        raise RemoteMessageMalformed(f"unknown field {sorted(unknown)[0][:40]!r}")
    if doc.get("format") != FORMAT:
        raise RemoteMessageMalformed(f"format is not {FORMAT}")
    kind, msg_id, sent_at, body = (doc.get(k) for k in ("kind", "msg_id", "sent_at", "body"))
    if not isinstance(kind, str) or kind not in KINDS:
        raise RemoteMessageMalformed("unknown kind")
    if not isinstance(msg_id, str) or not _MSG_ID_RE.fullmatch(msg_id):
        raise RemoteMessageMalformed("msg_id: 1-64 of A-Z a-z 0-9 . _ : - (not first)")
    regions: dict[str, str] = {}
    for name in _REGIONS:
        value = doc.get(name)
        if not isinstance(value, str) or not REGION_RE.fullmatch(value):
            raise RemoteMessageMalformed(f"{name}: a six-digit 统筹区 code")
        regions[name] = value
    if not isinstance(sent_at, str) or len(sent_at) > 40 or not _is_time(sent_at):
        raise RemoteMessageMalformed("sent_at: an ISO 8601 time with its offset")
    if not isinstance(body, dict):
        raise RemoteMessageMalformed("body: an object")
    if regions["receiver"] != receiver:
        raise RemoteRegionUnknown(f"addressed to {regions['receiver']}, this is {receiver}", region=receiver)
    if regions["sender"] == regions["receiver"]:
        raise RemoteMessageMalformed("sender and receiver are the same")
    if senders is not None and regions["sender"] not in senders:
        raise RemoteRegionUnknown(f"{regions['sender']} may not send here", region=regions["sender"])
    key_ref, mac = signature.get("key_ref"), signature.get("mac")
    if set(signature) != {"key_ref", "mac"} or not isinstance(key_ref, str) or not isinstance(mac, str):
        raise RemoteSignatureInvalid("signature: key_ref and mac")
    ref = _KEY_REF_RE.fullmatch(key_ref)
    if ref is None or ref.group(1) != hop_partner(regions["sender"], receiver) or not _MAC_RE.fullmatch(mac):
        raise RemoteSignatureInvalid("the key_ref does not name this hop's key")
    try:
        key = ring.verifying(ref.group(1), int(ref.group(2)))
    except (FileMacError, PartnerKeyUnknown) as exc:
        raise RemoteSignatureInvalid(str(exc)[:100]) from exc
    env = Envelope(kind, msg_id, regions["origin"], regions["destination"], regions["sender"], receiver, sent_at,
                   body, bytes(raw))
    if not hmac.compare_digest(hmac_sm3_hex(key, transfer_messages.canonical(env.unsigned())), mac):
        raise RemoteSignatureInvalid("the MAC does not match")
    return env


def _is_time(value: str) -> bool:
    try:
        return dt.datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
