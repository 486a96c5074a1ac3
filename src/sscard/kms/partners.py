"""Per-partner file keys: the HMAC-SM3 keys that authenticate every exchange file with a cooperating bank, the
card maker and an employer (docs/banks.md "File integrity").

A partner is named ``<kind>:<code>`` — ``bank:ICBC``, ``maker:CARDMAKER``, ``employer:<USCC>``, ``legacy:<source>``
(the old medical-card system handing over its register, docs/transition.md), ``dept:<code>`` (a department
sending feeds through the file ferry: ``dept:PSB``, ``dept:CIVIL``, ``dept:EDU``, docs/exchange-feeds.md). Each
partner has
numbered key versions (32 random bytes each), kept only wrapped under the KEK (AES-256-GCM, partner and version
bound as AAD) in their own JSON keystore (env ``SSCARD_PARTNER_KEYSTORE``, default ``var/partner-keys.json``;
apart from the master-key keystore, whose rotation retires whole versions). The newest active version signs;
``rotate`` makes a new one and leaves the previous one verifying until the end of an overlap period, so a file
made just before a rotation is still checked; ``export`` hands a version's key to the partner out of band.

The file MAC (one layout for every exchange file): the file's last line ends with ``|<key ref>|<mac>`` where
``key ref`` = ``<partner>:v<version>`` and ``mac`` = lower-case hex HMAC-SM3 (32 bytes) under that key over every
byte of the file before the MAC itself (header, details and the trailer up to and including the ``|`` after
the key ref). :meth:`PartnerKeys.check_file` verifies it on the raw bytes, before anything is decoded or parsed,
with a constant-time compare, and refuses a file without a MAC, with a MAC under another partner's key, under an
unknown, revoked or expired version, or with a wrong MAC.

Files that travel encrypted (the department feeds) use a separate SM4 key per partner and version, derived from
that version's file key so that one ceremony hands over both: ``encryption_key`` = the first 16 bytes of
HMAC-SM3(file key, ``"sscard feed encryption|" + partner``). The MAC key never encrypts and the encryption key
never MACs.

Demo mode: while the KEK is the public demo KEK (nothing wrapped under it is secret), a partner with no key in
the store uses its *demo key* version 1, ``SM3("sscard demo partner key|" + partner)`` — so the demo, the tests
and the sample files in docs/examples work without a key ceremony. With a real KEK only stored keys count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac as std_hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sscard import clock
from sscard.errors import Conflict, NotFound, ValidationFailed
from sscard.kms.storefile import file_stamp, read_entries, write_entries

if TYPE_CHECKING:
    from sscard.access import Actor
    from sscard.db import Database

KEYSTORE_ENV = "SSCARD_PARTNER_KEYSTORE"
DEFAULT_KEYSTORE = Path("var") / "partner-keys.json"
FORMAT = "sscard-partner-keys/1"
ALGORITHM = "HMAC-SM3"
MAC_HEX = 64  # 32 bytes of HMAC-SM3, hex
DEMO_KEK_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"  # the public default KEK
DEMO_KEY_LABEL = b"sscard demo partner key|"
ENCRYPTION_LABEL = b"sscard feed encryption|"
DEFAULT_OVERLAP = dt.timedelta(days=30)
PARTNER_RE = re.compile(r"(bank|maker|employer|legacy|city|dept):[A-Z0-9]{1,18}")
_REF_RE = re.compile(rb"((?:bank|maker|employer|legacy|city|dept):[A-Z0-9]{1,18}):v([1-9][0-9]{0,5})")
_HEX_RE = re.compile(rb"[0-9a-f]{64}")
_REF_MAX = 40  # bytes: "employer:" + 18 + ":v" + 6 digits, with room

Status = Literal["active", "retired", "revoked"]


class PartnerKeyInvalid(ValidationFailed):
    code = "PARTNER_KEY_INVALID"
    message_zh = "合作方密钥请求无效（合作方名称、版本或密钥库口令错误）"
    message_en = "The partner key request is invalid (partner name, version or keystore KEK)"


class PartnerKeyExists(Conflict):
    code = "PARTNER_KEY_EXISTS"
    message_zh = "该合作方已有文件密钥，请使用轮换"
    message_en = "The partner already has a file key; rotate it instead"


class PartnerKeyUnknown(NotFound):
    code = "PARTNER_KEY_UNKNOWN"
    message_zh = "该合作方没有文件密钥（或该版本不存在）"
    message_en = "The partner has no file key (or no such version)"


class FileMacError(Exception):
    """A file whose MAC is missing, wrong, or under a key that may not verify it. Each file format turns this
    into its own refusal code (BANK_FILE_MAC, PRODUCTION_FILE_MAC, EMPLOYER_FILE_MAC)."""


@dataclass(frozen=True, slots=True)
class PartnerKeyEntry:
    partner: str
    version: int
    wrapped: str  # hex of nonce (12) ‖ AES-GCM ciphertext+tag
    created: str  # ISO 8601 UTC
    status: Status = "active"
    verify_until: str | None = None  # retired: files under this version verify until then (ISO 8601 UTC)

    def aad(self) -> bytes:
        return f"partner-file-key|{self.partner}|{self.version}".encode("ascii")

    def public(self) -> dict[str, Any]:
        """What may be shown and audited (never the key)."""
        return {"partner": self.partner, "version": self.version, "algorithm": ALGORITHM, "status": self.status,
                "created": self.created, "verify_until": self.verify_until}


def check_partner(partner: str) -> str:
    if not isinstance(partner, str) or not PARTNER_RE.fullmatch(partner):
        raise PartnerKeyInvalid(f"partner {str(partner)[:40]!r} is not bank:<code>, maker:<code>, "
                                "employer:<USCC>, legacy:<source>, city:<pair> or dept:<code> (A-Z, 0-9, at most 18)")
    return partner


@lru_cache(maxsize=256)
def demo_key(partner: str) -> bytes:
    """The documented demo key (version 1) of a partner: SM3 of the label and the partner name (public and
    fixed: computed once per partner, it was a tenth of a relaying process's CPU per message)."""
    h = hashes.Hash(hashes.SM3())
    h.update(DEMO_KEY_LABEL + partner.encode("ascii"))
    return h.finalize()


def key_ref(partner: str, version: int) -> str:
    return f"{partner}:v{version}"


def _hmac(key: bytes, *parts: bytes | memoryview) -> bytes:
    h = crypto_hmac.HMAC(key, hashes.SM3())
    for part in parts:
        h.update(part)
    return h.finalize()


class PartnerKeys:
    """The partner key ring: wrapped entries in memory, persisted to ``path`` (JSON) when given."""

    def __init__(self, kek: bytes, path: str | Path | None = None, *, demo: bool | None = None) -> None:
        if len(kek) != 32:
            raise PartnerKeyInvalid("the KEK must be 32 bytes (AES-256)")
        self._aead = AESGCM(kek)
        self.demo = kek == bytes.fromhex(DEMO_KEK_HEX) if demo is None else demo
        self.path = Path(path) if path is not None else None
        self._entries: dict[tuple[str, int], PartnerKeyEntry] = {}
        self._cache: dict[tuple[str, int], bytes] = {}
        self._stamp: tuple[int, int] | None = None
        self._load()

    @classmethod
    def from_settings(cls, path: str | Path | None = None) -> PartnerKeys:
        """KEK from the settings (SSCARD_KMS_KEK_HEX), keystore from ``path`` or SSCARD_PARTNER_KEYSTORE."""
        from sscard.config import get_settings

        where = Path(path) if path is not None else Path(os.environ.get(KEYSTORE_ENV) or DEFAULT_KEYSTORE)
        return cls(bytes.fromhex(get_settings().kms_kek_hex), where)

    @classmethod
    def demo_ring(cls) -> PartnerKeys:
        """An empty in-memory ring in demo mode: every partner has exactly its demo key (the samples' key)."""
        return cls(bytes.fromhex(DEMO_KEK_HEX), None, demo=True)

    # -- storage ---------------------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int] | None:
        return file_stamp(self.path)

    def _load(self) -> None:
        stamp = self._file_stamp()
        entries: dict[tuple[str, int], PartnerKeyEntry] = {}
        if stamp is not None and self.path is not None:
            try:
                for raw in read_entries(self.path, FORMAT):
                    entry = PartnerKeyEntry(**raw)
                    entries[(entry.partner, entry.version)] = entry
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise PartnerKeyInvalid(f"{self.path} is not an sscard partner keystore") from exc
        # swapped in whole: a server thread checking a file meanwhile sees the old ring or the new one
        self._entries, self._cache, self._stamp = entries, {}, stamp

    def refresh(self) -> None:
        """Re-read the keystore if another process (``sscard kms partner-key rotate``) changed it."""
        if self.path is not None and self._file_stamp() != self._stamp:
            self._load()

    def _put(self, entries: list[PartnerKeyEntry]) -> None:
        self.refresh()
        for entry in entries:
            self._entries[(entry.partner, entry.version)] = entry
            self._cache.pop((entry.partner, entry.version), None)
        if self.path is None:
            return
        write_entries(self.path, FORMAT, [asdict(e) for e in self._entries.values()], prefix=".partner-keys-")
        self._stamp = self._file_stamp()

    def _wrap(self, partner: str, version: int, key: bytes, **fields: Any) -> PartnerKeyEntry:
        probe = PartnerKeyEntry(partner, version, "", _now_iso(), **fields)
        nonce = os.urandom(12)
        return replace(probe, wrapped=(nonce + self._aead.encrypt(nonce, key, probe.aad())).hex())

    def _unwrap(self, entry: PartnerKeyEntry) -> bytes:
        cached = self._cache.get((entry.partner, entry.version))
        if cached is not None:
            return cached
        raw = bytes.fromhex(entry.wrapped)
        try:
            key = self._aead.decrypt(raw[:12], raw[12:], entry.aad())
        except InvalidTag as exc:
            raise PartnerKeyInvalid("partner key unwrap failed: wrong KEK or tampered entry") from exc
        self._cache[(entry.partner, entry.version)] = key
        return key

    # -- key life cycle --------------------------------------------------------------------------------
    def entries(self, partner: str | None = None) -> list[PartnerKeyEntry]:
        self.refresh()
        found = [e for e in self._entries.values() if partner is None or e.partner == partner]
        return sorted(found, key=lambda e: (e.partner, e.version))

    def create(self, partner: str) -> PartnerKeyEntry:
        """Version 1 of a new partner's key (refused if the partner has one: rotate instead)."""
        check_partner(partner)
        if self.entries(partner):
            raise PartnerKeyExists(partner, partner=partner)
        entry = self._wrap(partner, 1, os.urandom(32))
        self._put([entry])
        return entry

    def rotate(self, partner: str, overlap: dt.timedelta = DEFAULT_OVERLAP) -> PartnerKeyEntry:
        """A new version signs from now on; the active ones before it keep verifying for ``overlap``."""
        check_partner(partner)
        if overlap < dt.timedelta(0):
            raise PartnerKeyInvalid("the overlap period cannot be negative")
        existing = self.entries(partner)
        if not existing:
            raise PartnerKeyUnknown(partner, partner=partner)
        until = (clock.now() + overlap).astimezone(dt.UTC).isoformat(timespec="seconds")
        retired = [replace(e, status="retired", verify_until=until) for e in existing if e.status == "active"]
        new = self._wrap(partner, max(e.version for e in existing) + 1, os.urandom(32))
        self._put([*retired, new])
        return new

    def revoke(self, partner: str, version: int) -> PartnerKeyEntry:
        """A compromised version: no file under it verifies any more (and it never signs again)."""
        entry = self._entry(partner, version)
        revoked = replace(entry, status="revoked", verify_until=None)
        self._put([revoked])
        return revoked

    def export(self, partner: str, version: int | None = None) -> tuple[PartnerKeyEntry, bytes]:
        """The plaintext key of a version (default: the signing one), to hand to the partner out of band."""
        if version is None:
            version = self.signing(partner)[0]
        entry = self._entry(partner, version)
        return entry, self._unwrap(entry)

    def import_key(self, partner: str, version: int, key: bytes) -> PartnerKeyEntry:
        """A version the partner made and handed over out of band (the other side of ``export``: a key two
        centres share, such as a city pair's message key, docs/transfer.md); refused if that version exists."""
        check_partner(partner)
        if len(key) != 32 or not 1 <= version <= 999_999:
            raise PartnerKeyInvalid("a partner key is 32 bytes, its version 1-999999")
        if any(e.version == version for e in self.entries(partner)):
            raise PartnerKeyExists(f"{partner} v{version}", partner=partner, version=version)
        entry = self._wrap(partner, version, key)
        self._put([entry])
        return entry

    def _entry(self, partner: str, version: int) -> PartnerKeyEntry:
        check_partner(partner)
        self.refresh()
        entry = self._entries.get((partner, version))
        if entry is None:
            raise PartnerKeyUnknown(f"{partner} v{version}", partner=partner, version=version)
        return entry

    # -- signing and verifying -------------------------------------------------------------------------
    def signing(self, partner: str) -> tuple[int, bytes]:
        """(version, key) that signs files for ``partner`` now."""
        active = [e for e in self.entries(partner) if e.status == "active"]
        if active:
            newest = max(active, key=lambda e: e.version)
            return newest.version, self._unwrap(newest)
        if self.demo and not self.entries(partner):
            return 1, demo_key(partner)
        raise PartnerKeyUnknown(f"no file key for {partner} (sscard kms partner-key create --partner {partner})",
                                partner=partner)

    def verifying(self, partner: str, version: int) -> bytes:
        """The key that checks a file under ``partner`` v``version``; FileMacError if it may not."""
        self.refresh()
        entry = self._entries.get((partner, version))
        if entry is None:
            if self.demo and version == 1 and not self.entries(partner):
                return demo_key(partner)
            raise FileMacError(f"no key {key_ref(partner, version)} in the partner keystore")
        if entry.status == "revoked":
            raise FileMacError(f"key {key_ref(partner, version)} is revoked")
        if entry.status == "retired" and (entry.verify_until is None
                                          or clock.now() > dt.datetime.fromisoformat(entry.verify_until)):
            raise FileMacError(f"key {key_ref(partner, version)} was rotated out (overlap ended "
                               f"{entry.verify_until})")
        return self._unwrap(entry)

    def encryption_key(self, partner: str, version: int | None = None) -> tuple[int, bytes]:
        """(version, SM4 key) that encrypts files for ``partner`` (default: the signing version) — derived from
        that version's file key (the module's note). Reading a file asks for the version its MAC names, after
        the MAC was checked under it."""
        if version is None:
            version, key = self.signing(partner)
        else:
            key = self.verifying(partner, version)
        return version, _hmac(key, ENCRYPTION_LABEL + partner.encode("ascii"))[:16]

    def seal(self, partner: str, parts: tuple[bytes, ...]) -> bytes:
        """The MAC suffix for a file made of ``parts`` (joined, they end with the trailer's last ``|``):
        ``<key ref>|<mac>\\n``. One streaming pass; the parts are not joined here."""
        version, key = self.signing(partner)
        ref = f"{key_ref(partner, version)}|".encode("ascii")
        return ref + _hmac(key, *parts, ref).hex().encode("ascii") + b"\n"

    def check_file(self, data: bytes, partner: str) -> int:
        """Verify the MAC that ends ``data`` for ``partner`` on the raw bytes, before anything else reads the
        file. Returns the offset where the MAC's key ref starts (the trailer's own fields end just before it)."""
        n = len(data)
        tail = n - MAC_HEX - 1  # where the hex MAC starts
        if n < MAC_HEX + 4 or data[-1:] != b"\n" or data[tail - 1:tail] != b"|" \
                or not _HEX_RE.fullmatch(data, tail, n - 1):
            raise FileMacError("the file carries no MAC (its last field must be a 64-digit HMAC-SM3)")
        ref_start = data.rfind(b"|", max(0, tail - 2 - _REF_MAX), tail - 1) + 1
        if ref_start == 0:
            raise FileMacError("the file carries no key reference before its MAC")
        ref = _REF_RE.fullmatch(data, ref_start, tail - 1)
        if ref is None:
            raise FileMacError("the key reference before the MAC is not <partner>:v<version>")
        named = ref.group(1).decode("ascii")
        if named != partner:
            raise FileMacError(f"the file is keyed for {named}, it was expected from {partner}")
        key = self.verifying(partner, int(ref.group(2)))
        expected = _hmac(key, memoryview(data)[:tail]).hex().encode("ascii")
        if not std_hmac.compare_digest(expected, data[tail:n - 1]):
            raise FileMacError(f"the MAC does not match the content under {key_ref(partner, int(ref.group(2)))}")
        return ref_start


def _now_iso() -> str:
    return clock.now().astimezone(dt.UTC).isoformat(timespec="seconds")


@lru_cache(maxsize=4)
def _ring(kek_hex: str, path: str) -> PartnerKeys:
    return PartnerKeys(bytes.fromhex(kek_hex), path)


def default_keys() -> PartnerKeys:
    """The process's partner keys (KEK from the settings, keystore SSCARD_PARTNER_KEYSTORE), re-read when the
    keystore file changes — what the file formats use when no ring is passed to them."""
    from sscard.config import get_settings

    ring = _ring(get_settings().kms_kek_hex, os.environ.get(KEYSTORE_ENV) or str(DEFAULT_KEYSTORE))
    ring.refresh()
    return ring


def content_digest(*parts: bytes | memoryview) -> str:
    """SHA-256 hex of the parts joined (a file's content identity, kept beside the MAC)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()


def describe(entries: list[PartnerKeyEntry]) -> list[Mapping[str, Any]]:
    return [e.public() for e in entries]


# ---------------------------------------------------------------------------------------------------- audited use
# What the CLI calls: each step is authorised (operator.admin: key ceremonies are the administrator's) and
# leaves an audit record naming the partner, the version and the operator — never the key.


def create_key(db: Database, actor: Actor, ring: PartnerKeys, partner: str) -> PartnerKeyEntry:
    return _audited(db, actor, "kms.partner_key.create", lambda: ring.create(partner))


def rotate_key(db: Database, actor: Actor, ring: PartnerKeys, partner: str,
               overlap: dt.timedelta = DEFAULT_OVERLAP) -> PartnerKeyEntry:
    return _audited(db, actor, "kms.partner_key.rotate", lambda: ring.rotate(partner, overlap))


def revoke_key(db: Database, actor: Actor, ring: PartnerKeys, partner: str, version: int) -> PartnerKeyEntry:
    return _audited(db, actor, "kms.partner_key.revoke", lambda: ring.revoke(partner, version))


def export_key(db: Database, actor: Actor, ring: PartnerKeys, partner: str,
               version: int | None = None) -> tuple[PartnerKeyEntry, bytes]:
    """The key in clear for the partner; the audit record is written before the key is returned."""
    from sscard.access import Permission
    from sscard.audit import service as audit

    actor.require(Permission.OPERATOR_ADMIN)
    entry, key = ring.export(partner, version)
    with db.unit_of_work() as session:
        audit.record(session, actor, "kms.partner_key.export", "partner_key", key_ref(partner, entry.version),
                     None, entry.public())
    return entry, key


def import_key(db: Database, actor: Actor, ring: PartnerKeys, partner: str, version: int,
               key: bytes) -> PartnerKeyEntry:
    """A key the partner exported (a shared key such as a city pair's), stored under the same version."""
    return _audited(db, actor, "kms.partner_key.import", lambda: ring.import_key(partner, version, key))


def list_keys(db: Database, actor: Actor, ring: PartnerKeys, partner: str | None = None) -> list[PartnerKeyEntry]:
    from sscard.access import Permission

    actor.require(Permission.OPERATOR_ADMIN)
    return ring.entries(check_partner(partner) if partner is not None else None)


def _audited(db: Database, actor: Actor, action: str, change: Callable[[], PartnerKeyEntry]) -> PartnerKeyEntry:
    from sscard.access import Permission
    from sscard.audit import service as audit

    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        entry = change()  # a refused change writes neither the keystore nor an audit record
        audit.record(session, actor, action, "partner_key", key_ref(entry.partner, entry.version), None,
                     entry.public())
    return entry
