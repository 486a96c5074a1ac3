"""The arithmetic of the audit chain: the digest of one record, keyed and unkeyed, and the seal of the
switch-over between them.

Records written before the keyed chain (the ``legacy`` part, below ``audit_head.keyed_from``) carry SHA-256
over the previous hash and the record; every later record carries HMAC-SHA256 under ``audit_key_hex``, a key
the database does not hold, so whoever can write the tables cannot recompute a valid chain. The first keyed
record links to the last legacy hash, and the switch-over itself (where it is and the legacy head it commits to)
is sealed with the key in the head row, so moving it, removing it or rewriting the legacy part is detected too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sscard.config import get_settings
from sscard.errors import DomainError

GENESIS = "0" * 64
_MIN_KEY = 16


class AuditKeyInvalid(DomainError):
    code = "AUDIT_KEY_INVALID"
    http_status = 500
    message_zh = "审计密钥配置无效（SSCARD_AUDIT_KEY_HEX 须为至少 16 字节的十六进制）"
    message_en = "The audit key is invalid (SSCARD_AUDIT_KEY_HEX must be hex of at least 16 bytes)"


def canonical(value: Any) -> str | None:
    """The stored JSON text of a before/after payload: sorted keys, no spaces, UTF-8 as it is."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def material(prev_hash: str, seq: int, at: dt.datetime, operator: str, role: str, outlet: str | None,
             action: str, entity_type: str, entity_id: str, before: str | None, after: str | None) -> bytes:
    """The bytes an unkeyed (legacy) record's digest covers: the previous hash and every stored field but the
    operator id (as the records before the keyed chain were written)."""
    return json.dumps(
        [prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), operator, role, outlet,
         action, entity_type, entity_id, before, after],
        ensure_ascii=False, separators=(",", ":"),
    ).encode("utf-8")


def keyed_material(prev_hash: str, seq: int, at: dt.datetime, operator_id: int | None, operator: str, role: str,
                   outlet: str | None, action: str, entity_type: str, entity_id: str, before: str | None,
                   after: str | None) -> bytes:
    """What a keyed record's MAC covers: the same as ``material`` and the operator id too (every stored field)."""
    return json.dumps(
        [prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), operator, role, outlet,
         action, entity_type, entity_id, before, after, operator_id],
        ensure_ascii=False, separators=(",", ":"),
    ).encode("utf-8")


def keyed_tail(operator_id: int | None, operator: str, role: str, outlet: str | None, action: str,
               entity_type: str, entity_id: str, before: str | None, after: str | None) -> str:
    """The part of ``keyed_material`` after the timestamp, as text, to be made before the record's place in the
    chain is known (``keyed_material_from``; ``audit.record_grouped`` makes it before it locks the head)."""
    return json.dumps([operator, role, outlet, action, entity_type, entity_id, before, after, operator_id],
                      ensure_ascii=False, separators=(",", ":"))[1:]


def keyed_material_from(prev_hash: str, seq: int, at: dt.datetime, tail: str) -> bytes:
    """``keyed_material`` of a record whose other fields are in ``tail`` (``keyed_tail``): the same bytes."""
    stamp = json.dumps(at.astimezone(dt.UTC).isoformat(timespec="microseconds"))
    return f"[{json.dumps(prev_hash)},{seq},{stamp},{tail}".encode()


def legacy_digest(data: bytes) -> str:
    """The unkeyed digest of the records written before the keyed chain."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Key:
    """HMAC-SHA256 with the inner and outer pads hashed once: about 1 µs a record, barely more than SHA-256
    (the bulk writers chain hundreds of thousands of records in one transaction)."""

    inner: Any  # hashlib sha256 objects, copied per message
    outer: Any
    anchor_inner: Any
    anchor_outer: Any

    def mac(self, data: bytes) -> str:
        return _hmac(self.inner, self.outer, data)

    def seal(self, keyed_from: int, legacy_head: str) -> str:
        """The MAC over the switch-over: the first keyed sequence number and the legacy head it commits to."""
        return self.mac(json.dumps(["sscard-audit-keyed-from", keyed_from, legacy_head]).encode())

    def anchor_mac(self, data: bytes) -> str:
        """The MAC of an anchor checkpoint, under a key derived from the audit key (a separate purpose)."""
        return _hmac(self.anchor_inner, self.anchor_outer, data)


def _hmac(inner: Any, outer: Any, data: bytes) -> str:
    i = inner.copy()
    i.update(data)
    o = outer.copy()
    o.update(i.digest())
    return str(o.hexdigest())


def _pads(key: bytes) -> tuple[Any, Any]:
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


@lru_cache(maxsize=4)
def _key_of(key_hex: str) -> Key:
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise AuditKeyInvalid("not hexadecimal") from None
    if len(key) < _MIN_KEY:
        raise AuditKeyInvalid(f"{len(key)} bytes")
    inner, outer = _pads(key)
    anchor_key = _hmac(inner, outer, b"sscard-audit-anchor-key")
    a_inner, a_outer = _pads(bytes.fromhex(anchor_key))
    return Key(inner, outer, a_inner, a_outer)


def key() -> Key:
    """The audit key from settings (``SSCARD_AUDIT_KEY_HEX``)."""
    return _key_of(get_settings().audit_key_hex)
