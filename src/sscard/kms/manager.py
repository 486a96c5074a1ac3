"""The key hierarchy (部 ministry → 省 province → 市 city → card): master keys per level, versions and
rotation, per-card key derivation, PSAM issuing and issuer-side ARQC checking. Plaintext master keys never
leave this module except into a :class:`~sscard.kms.psam.Psam`, which does not export them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sscard.chip import secure
from sscard.chip.cmd_pboc import arqc_input
from sscard.chip.fs import Algorithm
from sscard.chip.personalise import (
    KEY_SLOTS,
    CardKeys,
    HolderData,
    card_specific_bytes,
    debit_pan,
    pan_factor,
)
from sscard.crypto import diversify
from sscard.kms.keystore import KeyEntry, KeyStore, Level, now_iso
from sscard.kms.psam import PSAM_KEYS, Psam

MINISTRY_SCOPE = "000000"
ALGORITHMS: tuple[Algorithm, ...] = ("3des", "sm4")
KEY_NAMES: tuple[str, ...] = tuple(KEY_SLOTS)


class KmsError(Exception):
    """A key management request that cannot be served (unknown scope, bad KEK, wrong version)."""

    code = "KMS_ERROR"


class KeyNotProvisioned(KmsError):
    code = "KEY_NOT_PROVISIONED"


def region_factor(code: str) -> bytes:
    """Diversification factor of a province or city: 6-digit code then ASCII "sx" (e.g. 371700sx)."""
    if len(code) != 6 or not code.isdigit():
        raise KmsError(f"bad region code {code!r}")
    return (code + "sx").encode("ascii")


def province_of(city_code: str) -> str:
    return city_code[:2] + "0000"


class KeyManager:
    """Master keys for all levels, stored only wrapped under ``kek`` (32 bytes, AES-256-GCM)."""

    def __init__(self, kek: bytes, store: KeyStore | None = None) -> None:
        if len(kek) != 32:
            raise KmsError("KEK must be 32 bytes (AES-256)")
        self._aead = AESGCM(kek)
        self.store = store if store is not None else KeyStore()

    @classmethod
    def from_settings(cls, store: KeyStore | None = None) -> KeyManager:
        """Take the KEK from ``sscard.config.get_settings().kms_kek_hex`` (env SSCARD_KMS_KEK_HEX)."""
        from sscard.config import get_settings

        return cls(bytes.fromhex(get_settings().kms_kek_hex), store)

    @classmethod
    def provisioned(cls, keystore: Path, city: str) -> KeyManager:
        """The KMS over a JSON keystore (KEK from the settings), with the ministry keys and ``city`` provisioned on
        first use — how the CLI, the demo and the demo kiosk open their keystore."""
        keys = cls.from_settings(KeyStore(keystore))
        keys.init_ministry()
        if keys.store.get("IRK", "sm4", "city", city, keys.current_version()) is None:
            keys.provision_city(city)
        return keys

    # -- wrapping --------------------------------------------------------------------------------------
    def _wrap(self, name: str, algorithm: str, level: Level, scope: str, version: int, key: bytes) -> KeyEntry:
        probe = KeyEntry(name, algorithm, level, scope, version, "", now_iso())
        nonce = os.urandom(12)
        wrapped = nonce + self._aead.encrypt(nonce, key, probe.aad())
        return KeyEntry(name, algorithm, level, scope, version, wrapped.hex(), probe.created)

    def _unwrap(self, entry: KeyEntry) -> bytes:
        raw = bytes.fromhex(entry.wrapped)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], entry.aad())
        except InvalidTag as exc:
            raise KmsError("key unwrap failed: wrong KEK or tampered entry") from exc

    def _key(self, name: str, algorithm: str, level: Level, scope: str, version: int) -> bytes:
        entry = self.store.get(name, algorithm, level, scope, version)
        if entry is None:
            raise KeyNotProvisioned(f"{level} key {name}/{algorithm} v{version} for {scope} not provisioned")
        return self._unwrap(entry)

    # -- hierarchy -------------------------------------------------------------------------------------
    def versions(self) -> list[int]:
        return sorted({e.version for e in self.store.entries() if e.level == "ministry"})

    def current_version(self) -> int:
        active = [e.version for e in self.store.entries() if e.level == "ministry" and e.status == "active"]
        if not active:
            raise KeyNotProvisioned("no ministry master keys; run init_ministry()")
        return max(active)

    def init_ministry(self) -> int:
        """Generate version 1 of every ministry master key (idempotent). Returns the current version."""
        if self.versions():
            return self.current_version()
        self._generate_ministry(1)
        return 1

    def _generate_ministry(self, version: int) -> None:
        self.store.put(
            [
                self._wrap(name, alg, "ministry", MINISTRY_SCOPE, version, os.urandom(16))
                for name in KEY_NAMES
                for alg in ALGORITHMS
            ]
        )

    def _scopes(self, level: Level) -> set[str]:
        return {e.scope for e in self.store.entries() if e.level == level}

    def rotate(self) -> int:
        """Create a new ministry key version, re-derive every provisioned province and city for it, and retire
        the previous version (still usable for cards that carry it)."""
        old = self.current_version()
        new = max(self.versions()) + 1
        self._generate_ministry(new)
        for scope in sorted(self._scopes("province")):
            self.provision_province(scope, new)
        for scope in sorted(self._scopes("city")):
            self.provision_city(scope, new)
        retired = [
            KeyEntry(e.name, e.algorithm, e.level, e.scope, e.version, e.wrapped, e.created, "retired")
            for e in self.store.entries()
            if e.version == old
        ]
        self.store.put(retired)
        return new

    def _derive_level(self, parent: tuple[Level, str], child: tuple[Level, str], factor: bytes, version: int) -> None:
        entries = []
        for name in KEY_NAMES:
            for alg in ALGORITHMS:
                key = diversify(self._key(name, alg, parent[0], parent[1], version), factor, alg)
                entries.append(self._wrap(name, alg, child[0], child[1], version, key))
        self.store.put(entries)

    def provision_province(self, province_code: str, version: int | None = None) -> None:
        """Derive and store a province's keys from the ministry keys (factor: code ‖ "sx")."""
        v = version or self.current_version()
        self._derive_level(("ministry", MINISTRY_SCOPE), ("province", province_code), region_factor(province_code), v)

    def provision_city(self, city_code: str, version: int | None = None) -> None:
        """Derive and store a city's keys from its province's keys, provisioning the province if needed."""
        v = version or self.current_version()
        province = province_of(city_code)
        if self.store.get(KEY_NAMES[0], ALGORITHMS[0], "province", province, v) is None:
            self.provision_province(province, v)
        self._derive_level(("province", province), ("city", city_code), region_factor(city_code), v)

    def _city_keys(self, city_code: str, algorithm: Algorithm, version: int, names: Iterable[str]) -> dict[str, bytes]:
        return {name: self._key(name, algorithm, "city", city_code, version) for name in names}

    # -- cards, PSAMs and the issuer host --------------------------------------------------------------
    def card_keys(self, holder: HolderData, version: int | None = None) -> CardKeys:
        """The card's own keys: each city key diversified by the card factor (PBOC_AC by PAN ‖ PSN)."""
        v = version or self.current_version()
        city = self._city_keys(holder.region_code, holder.algorithm, v, KEY_NAMES)
        factor = card_specific_bytes(holder)
        pfactor = pan_factor(debit_pan(holder), holder.pan_sequence)
        keys = {
            name: diversify(key, pfactor if name == "PBOC_AC" else factor, holder.algorithm)
            for name, key in city.items()
        }
        return CardKeys(algorithm=holder.algorithm, keys=keys, version=v)

    def issue_psam(self, city_code: str, version: int | None = None) -> Psam:
        """A PSAM loaded with the city's social-security keys for both algorithms."""
        v = version or self.current_version()
        names = {name for name, _, _ in PSAM_KEYS.values()}
        keys: dict[tuple[str, str], bytes] = {
            (alg, name): key for alg in ALGORITHMS for name, key in self._city_keys(city_code, alg, v, names).items()
        }
        return Psam(city_code=city_code, keys=keys, version=v)

    def card_ac_key(self, region_code: str, pan: str, pan_sequence: int, algorithm: Algorithm,
                    version: int | None = None) -> bytes:
        """One card's PBOC AC key (UDK): the city MDK diversified by PAN ‖ PSN, as personalisation put it on the
        chip. A derived per-card key (the issuer host caches it); the city master key stays here."""
        v = version or self.current_version()
        mdk = self._key("PBOC_AC", algorithm, "city", region_code, v)
        return diversify(mdk, pan_factor(pan, pan_sequence), algorithm)

    def verify_arqc(
        self,
        holder: HolderData,
        atc: int,
        cdol1_data: bytes,
        aip: bytes,
        cvr: bytes,
        arqc: bytes,
        version: int | None = None,
    ) -> bool:
        """Issuer-host check of a debit ARQC: UDK from the city MDK, AC session key from the ATC."""
        v = version or self.current_version()
        mdk = self._key("PBOC_AC", holder.algorithm, "city", holder.region_code, v)
        udk = diversify(mdk, pan_factor(debit_pan(holder), holder.pan_sequence), holder.algorithm)
        session = secure.pboc_session_key(holder.algorithm, udk, atc)
        expected = secure.pboc_application_cryptogram(holder.algorithm, session, arqc_input(cdol1_data, aip, atc, cvr))
        return expected == arqc
