"""The bureau's SM2 signing keys for the electronic card's codes and revocation lists: numbered versions, each a
key pair whose private key is kept only wrapped under the KEK (AES-256-GCM, version and public key bound as AAD)
in a JSON keystore of its own (env ``SSCARD_ECARD_KEYSTORE``, default ``var/ecard-keys.json``).

The newest active version signs. ``rotate`` makes a new version and leaves the previous ones verifying until the
end of an overlap period (codes live seconds, so a short one suffices); ``revoke`` stops a version at once. The
private key never leaves this module: callers hand over the bytes to sign and get ``(version, signature)``;
verifiers get the public keys (``public_keys``), which the API publishes at a well-known URL.

Demo mode: while the KEK is the public demo KEK, an empty keystore creates its version 1 on first use, so the
demo and the tests sign without a key ceremony. With a real KEK the key is created by ``sscard kms ecard-key``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sscard import clock
from sscard.crypto import sm2
from sscard.errors import NotFound, ValidationFailed
from sscard.kms.partners import DEMO_KEK_HEX
from sscard.kms.storefile import file_stamp, read_entries, write_entries

if TYPE_CHECKING:
    from sscard.access import Actor
    from sscard.db import Database

KEYSTORE_ENV = "SSCARD_ECARD_KEYSTORE"
DEFAULT_KEYSTORE = Path("var") / "ecard-keys.json"
FORMAT = "sscard-ecard-keys/1"
DEFAULT_OVERLAP = dt.timedelta(days=1)
Status = Literal["active", "retired", "revoked"]


class SigningKeyInvalid(ValidationFailed):
    code = "SIGNING_KEY_INVALID"
    message_zh = "签名密钥请求无效（版本或密钥库口令错误）"
    message_en = "The signing key request is invalid (version or keystore KEK)"


class SigningKeyUnavailable(NotFound):
    code = "SIGNING_KEY_UNAVAILABLE"
    message_zh = "没有可用的电子社保卡签名密钥"
    message_en = "No e-card signing key is available"


@dataclass(frozen=True, slots=True)
class SigningKeyEntry:
    version: int
    public_key: str  # hex of the 64-byte x ‖ y
    wrapped: str  # hex of nonce (12) ‖ AES-GCM ciphertext+tag of the 32-byte private key
    created: str  # ISO 8601 UTC
    status: Status = "active"
    verify_until: str | None = None  # retired: what it signed verifies until then

    def aad(self) -> bytes:
        return f"ecard-sm2|{self.version}|{self.public_key}".encode("ascii")

    def verifies_at(self, now: dt.datetime) -> bool:
        if self.status == "revoked":
            return False
        return self.status == "active" or (self.verify_until is not None
                                           and now <= dt.datetime.fromisoformat(self.verify_until))

    def public(self) -> dict[str, Any]:
        """What is published and audited (never the private key)."""
        return {"version": self.version, "algorithm": "SM2", "public_key": "04" + self.public_key,
                "status": self.status, "created": self.created, "verify_until": self.verify_until}


class SigningKeys:
    """The SM2 key ring: wrapped entries in memory, persisted to ``path`` (JSON) when given."""

    def __init__(self, kek: bytes, path: str | Path | None = None, *, demo: bool | None = None) -> None:
        if len(kek) != 32:
            raise SigningKeyInvalid("the KEK must be 32 bytes (AES-256)")
        self._aead = AESGCM(kek)
        self.demo = kek == bytes.fromhex(DEMO_KEK_HEX) if demo is None else demo
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._entries: dict[int, SigningKeyEntry] = {}
        self._private: dict[int, bytes] = {}
        self._stamp: tuple[int, int] | None = None
        self._load()

    @classmethod
    def from_settings(cls, path: str | Path | None = None) -> SigningKeys:
        from sscard.config import get_settings

        where = Path(path) if path is not None else Path(os.environ.get(KEYSTORE_ENV) or DEFAULT_KEYSTORE)
        return cls(bytes.fromhex(get_settings().kms_kek_hex), where)

    # -- storage ---------------------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int] | None:
        return file_stamp(self.path)

    def _load(self) -> None:
        stamp = self._file_stamp()
        entries: dict[int, SigningKeyEntry] = {}
        if stamp is not None and self.path is not None:
            try:
                for raw in read_entries(self.path, FORMAT):
                    entry = SigningKeyEntry(**raw)
                    entries[entry.version] = entry
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SigningKeyInvalid(f"{self.path} is not an sscard e-card keystore") from exc
        self._entries, self._private, self._stamp = entries, {}, stamp

    def refresh(self) -> None:
        """Re-read the keystore if another process (``sscard kms ecard-key rotate``) changed it."""
        if self.path is not None and self._file_stamp() != self._stamp:
            self._load()

    def _put(self, entries: list[SigningKeyEntry]) -> None:
        for entry in entries:
            self._entries[entry.version] = entry
            self._private.pop(entry.version, None)
        if self.path is None:
            return
        write_entries(self.path, FORMAT, [asdict(e) for e in self._entries.values()], prefix=".ecard-keys-")
        self._stamp = self._file_stamp()

    def _new_entry(self, version: int) -> SigningKeyEntry:
        private, public = sm2.generate_key()
        probe = SigningKeyEntry(version, public.hex(), "", _now_iso())
        nonce = os.urandom(12)
        return replace(probe, wrapped=(nonce + self._aead.encrypt(nonce, private, probe.aad())).hex())

    def _unwrap(self, entry: SigningKeyEntry) -> bytes:
        cached = self._private.get(entry.version)
        if cached is not None:
            return cached
        raw = bytes.fromhex(entry.wrapped)
        try:
            private = self._aead.decrypt(raw[:12], raw[12:], entry.aad())
        except InvalidTag as exc:
            raise SigningKeyInvalid("signing key unwrap failed: wrong KEK or tampered entry") from exc
        self._private[entry.version] = private
        return private

    # -- key life cycle --------------------------------------------------------------------------------
    def entries(self) -> list[SigningKeyEntry]:
        self.refresh()
        return sorted(self._entries.values(), key=lambda e: e.version)

    def create(self) -> SigningKeyEntry:
        """Version 1 (refused when a version exists: rotate instead)."""
        with self._lock:
            self.refresh()
            if self._entries:
                raise SigningKeyInvalid("the e-card signing key exists; rotate it instead")
            entry = self._new_entry(1)
            self._put([entry])
            return entry

    def rotate(self, overlap: dt.timedelta = DEFAULT_OVERLAP) -> SigningKeyEntry:
        """A new version signs from now on; the active ones before it keep verifying for ``overlap``."""
        if overlap < dt.timedelta(0):
            raise SigningKeyInvalid("the overlap period cannot be negative")
        with self._lock:
            self.refresh()
            if not self._entries:
                raise SigningKeyUnavailable("no e-card signing key to rotate (create one first)")
            until = (clock.now() + overlap).astimezone(dt.UTC).isoformat(timespec="seconds")
            retired = [replace(e, status="retired", verify_until=until)
                       for e in self._entries.values() if e.status == "active"]
            new = self._new_entry(max(self._entries) + 1)
            self._put([*retired, new])
            return new

    def revoke(self, version: int) -> SigningKeyEntry:
        """A compromised version: nothing it signed verifies any more."""
        with self._lock:
            self.refresh()
            entry = self._entries.get(version)
            if entry is None:
                raise SigningKeyUnavailable(f"no e-card signing key v{version}", version=version)
            revoked = replace(entry, status="revoked", verify_until=None)
            self._put([revoked])
            return revoked

    # -- signing and verifying -------------------------------------------------------------------------
    def _signing_entry(self) -> SigningKeyEntry:
        self.refresh()
        active = [e for e in self._entries.values() if e.status == "active"]
        if not active and self.demo and not self._entries:
            with self._lock:
                if not self._entries:
                    self._put([self._new_entry(1)])
            active = [e for e in self._entries.values() if e.status == "active"]
        if not active:
            raise SigningKeyUnavailable("no active e-card signing key (sscard kms ecard-key create)")
        return max(active, key=lambda e: e.version)

    def signing_version(self) -> int:
        return self._signing_entry().version

    def sign(self, message: bytes, version: int | None = None) -> tuple[int, bytes]:
        """(version, 64-byte SM2 signature r ‖ s) of ``message`` under the signing version (or ``version``,
        which must be the signing one: a caller that wrote the version into the message passes it back)."""
        entry = self._signing_entry()
        if version is not None and version != entry.version:
            raise SigningKeyUnavailable(f"v{version} no longer signs (v{entry.version} does)", version=version)
        return entry.version, sm2.sign(self._unwrap(entry), bytes.fromhex(entry.public_key), message)

    def public_keys(self, now: dt.datetime | None = None) -> dict[int, bytes]:
        """The 64-byte public key of every version that verifies at ``now``."""
        at = now or clock.now()
        return {e.version: bytes.fromhex(e.public_key) for e in self.entries() if e.verifies_at(at)}


def _now_iso() -> str:
    return clock.now().astimezone(dt.UTC).isoformat(timespec="seconds")


@lru_cache(maxsize=4)
def _ring(kek_hex: str, path: str) -> SigningKeys:
    return SigningKeys(bytes.fromhex(kek_hex), path)


def default_signing_keys() -> SigningKeys:
    """The process's e-card keys (KEK from the settings, keystore SSCARD_ECARD_KEYSTORE), re-read when the
    keystore file changes."""
    from sscard.config import get_settings

    ring = _ring(get_settings().kms_kek_hex, os.environ.get(KEYSTORE_ENV) or str(DEFAULT_KEYSTORE))
    ring.refresh()
    return ring


# ---------------------------------------------------------------------------------------------------- audited use
# What the CLI calls: each step is authorised (operator.admin: key ceremonies are the administrator's) and leaves
# an audit record naming the version and the operator — never the key.


def create_key(db: Database, actor: Actor, ring: SigningKeys) -> SigningKeyEntry:
    return _audited(db, actor, "kms.ecard_key.create", ring.create)


def rotate_key(db: Database, actor: Actor, ring: SigningKeys,
               overlap: dt.timedelta = DEFAULT_OVERLAP) -> SigningKeyEntry:
    return _audited(db, actor, "kms.ecard_key.rotate", lambda: ring.rotate(overlap))


def revoke_key(db: Database, actor: Actor, ring: SigningKeys, version: int) -> SigningKeyEntry:
    return _audited(db, actor, "kms.ecard_key.revoke", lambda: ring.revoke(version))


def _audited(db: Database, actor: Actor, action: str, change: Callable[[], SigningKeyEntry]) -> SigningKeyEntry:
    from sscard.access import Permission
    from sscard.audit import service as audit

    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        entry = change()  # a refused change writes neither the keystore nor an audit record
        audit.record(session, actor, action, "ecard_key", f"v{entry.version}", None, entry.public())
    return entry
