"""Proof that the card is present at a settlement by card (2207): what the institution's terminal sends in the
``X-Card-Presence`` header, bound to the exact request body (docs/settlement.md, "Proof of card presence").

Two proofs, which of them an institution class may use set by the policy in effect on the bill date
(``Policy.card_presence``; a class the policy does not name needs ``arqc``):

- ``arqc``: the card's PBOC debit application computes an ARQC (GENERATE AC) over CDOL1 data whose
  unpredictable number (9F37) is the first 4 bytes of SHA-256 of the request body, and whose date (9A) is the
  bill date. The centre recomputes it with the card's AC key (UDK), derived by ``sscard.kms`` from the city
  master key (which never leaves the KMS) and cached per card in this process: on the hot path one SHA-256
  of the body, one block encryption (the session key from the ATC) and one MAC of 29 + 8 bytes. A PSAM holds
  no PBOC AC key, so a terminal cannot make the cryptogram without the card. The ATC is stored with the
  settlement under a unique index (card, ATC): one cryptogram settles once.
- ``pin``: the medical PIN (set at activation), checked against the card's PIN digest before the settlement's
  transaction; a wrong PIN counts towards the card's lock (``card.pin_max_tries``) even though the settlement
  is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from sscard.chip import secure
from sscard.chip.cmd_pboc import arqc_input
from sscard.chip.fs import Algorithm
from sscard.chip.personalise import derived_debit_pan
from sscard.kms import KeyManager, KmsError
from sscard.kms.keystore import KeyStore
from sscard.medical.errors import CardPresenceInvalid, CardPresenceRequired, PresenceKeysUnavailable
from sscard.medical.policy import Policy
from sscard.registry.regions import CITY_CODE

HEADER = "X-Card-Presence"
VERSION = "1"
Method = Literal["arqc", "pin"]
DEFAULT_ACCEPTED: tuple[Method, ...] = ("arqc",)  # a class the policy does not name
PAN_SEQUENCE = 1  # 5F34 of the cards personalisation makes
COUNTRY, CURRENCY = bytes.fromhex("0156"), bytes.fromhex("0156")  # 9F1A, 5F2A: China, CNY
KEYSTORE_ENV = "SSCARD_KEYSTORE"
_HEX = frozenset("0123456789abcdefABCDEF")
_FIELDS = {"v", "method", "alg", "kv", "atc", "aip", "iad", "ac", "pin"}


@dataclass(frozen=True, slots=True)
class Proof:
    """A parsed ``X-Card-Presence`` header and the body it is bound to (``un``: 9F37 from the body's digest)."""

    method: Method
    un: bytes
    algorithm: Algorithm = "sm4"
    key_version: int | None = None
    atc: int = 0
    aip: bytes = b""
    cvr: bytes = b""
    ac: bytes = b""
    pin: str = ""
    pin_verified: bool = False

    def __repr__(self) -> str:  # never show the PIN
        return f"Proof(method={self.method}, atc={self.atc})"


def unpredictable_number(body: bytes) -> bytes:
    """9F37: the first 4 bytes of SHA-256 over the exact bytes of the request body."""
    return hashlib.sha256(body).digest()[:4]


def cdol1_data(bill_date: dt.date, un: bytes) -> bytes:
    """The 29 bytes of CDOL1 data the terminal sends in GENERATE AC for a settlement: 9F02 amount authorised
    and 9F03 amount other both zero (the amounts are in the body, which 9F37 covers), 9F1A 0156, 95 TVR zero,
    5F2A 0156, 9A the bill date (YYMMDD), 9C 00, 9F37 the unpredictable number."""
    return (bytes(6) + bytes(6) + COUNTRY + bytes(5) + CURRENCY + bytes.fromhex(f"{bill_date:%y%m%d}") + b"\x00"
            + un)


def _hex(fields: dict[str, str], name: str, size: int | None = None, max_size: int = 32) -> bytes:
    value = fields.get(name, "")
    if not value or len(value) % 2 or not set(value) <= _HEX:
        raise CardPresenceInvalid(f"{name}: hex expected")
    raw = bytes.fromhex(value)
    if (size is not None and len(raw) != size) or len(raw) > max_size:
        raise CardPresenceInvalid(f"{name}: wrong length")
    return raw


def parse(header: str | None, body: bytes) -> Proof | None:
    """The proof in ``header`` (None when there is none); CARD_PRESENCE_INVALID when it is malformed."""
    if header is None or not header.strip():
        return None
    if len(header) > 512:
        raise CardPresenceInvalid("header too long")
    fields: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in _FIELDS or name in fields:
            raise CardPresenceInvalid("expected name=value pairs: v, method, alg, kv, atc, aip, iad, ac, pin")
        fields[name] = value.strip()
    if fields.get("v") != VERSION:
        raise CardPresenceInvalid(f"v must be {VERSION}")
    un = unpredictable_number(body)
    method = fields.get("method")
    if method == "pin":
        pin = fields.get("pin", "")
        if not (4 <= len(pin) <= 12 and pin.isascii() and pin.isdigit()) or fields.keys() - {"v", "method", "pin"}:
            raise CardPresenceInvalid("pin: 4 to 12 digits, and nothing else")
        return Proof("pin", un, pin=pin)
    if method != "arqc" or "pin" in fields:
        raise CardPresenceInvalid("method must be arqc or pin")
    algorithm = fields.get("alg", "")
    if algorithm not in ("sm4", "3des"):
        raise CardPresenceInvalid("alg must be sm4 or 3des")
    kv = fields.get("kv")
    if kv is not None and not (kv.isascii() and kv.isdigit() and 0 < len(kv) <= 4 and int(kv) > 0):
        raise CardPresenceInvalid("kv: the key version, a positive number")
    iad = _hex(fields, "iad")
    if len(iad) < 4:
        raise CardPresenceInvalid("iad: too short")
    return Proof("arqc", un, algorithm="sm4" if algorithm == "sm4" else "3des",
                 key_version=int(kv) if kv is not None else None,
                 atc=int.from_bytes(_hex(fields, "atc", 2), "big"), aip=_hex(fields, "aip", 2), cvr=iad[3:],
                 ac=_hex(fields, "ac", 8))


def header_value(proof: Proof, iad: bytes | None = None) -> str:
    """The header a terminal sends for ``proof`` (``iad``: 9F10 as the card returned it)."""
    if proof.method == "pin":
        return f"v={VERSION};method=pin;pin={proof.pin}"
    parts = [f"v={VERSION}", "method=arqc", f"alg={proof.algorithm}"]
    if proof.key_version is not None:
        parts.append(f"kv={proof.key_version}")
    iad = iad if iad is not None else bytes((0x07, 0x01, 0x01)) + proof.cvr
    parts += [f"atc={proof.atc:04X}", f"aip={proof.aip.hex().upper()}", f"iad={iad.hex().upper()}",
              f"ac={proof.ac.hex().upper()}"]
    return ";".join(parts)


def accepted(policy: Policy, kind: str, level: str | None) -> tuple[Method, ...]:
    """The proofs an institution of ``kind`` (and hospital ``level``) may bring; empty: none needed."""
    table = policy.card_presence
    if level is not None and f"{kind}:{level}" in table:
        return tuple(table[f"{kind}:{level}"])
    if kind in table:
        return tuple(table[kind])
    return DEFAULT_ACCEPTED


class Verifier:
    """Checks ARQC proofs with per-card AC keys derived by the KMS, cached in this process (a bounded dict:
    cleared when full; a derived key is only good for its one card)."""

    MAX_CACHED = 200_000

    def __init__(self, keys: Callable[[], KeyManager]) -> None:
        self._keys_factory = keys
        self._keys: KeyManager | None = None
        self._lock = threading.Lock()
        self._udk: dict[tuple[str, str, int | None], bytes] = {}

    def _card_key(self, card_no: str, algorithm: Algorithm, version: int | None) -> bytes:
        cache_key = (card_no, algorithm, version)
        found = self._udk.get(cache_key)
        if found is not None:
            return found
        with self._lock:
            try:
                if self._keys is None:
                    self._keys = self._keys_factory()
                udk = self._keys.card_ac_key(CITY_CODE, derived_debit_pan(CITY_CODE, card_no), PAN_SEQUENCE,
                                             algorithm, version)
            except KmsError as exc:
                if "not provisioned" in str(exc) and version is not None:
                    raise CardPresenceInvalid("no such key version") from None
                raise PresenceKeysUnavailable(type(exc).__name__) from None
            except (OSError, ValueError) as exc:
                raise PresenceKeysUnavailable(type(exc).__name__) from None
            if len(self._udk) >= self.MAX_CACHED:
                self._udk.clear()
            self._udk[cache_key] = udk
        return udk

    def check_arqc(self, card_no: str, proof: Proof, bill_date: dt.date) -> None:
        if not arqc_matches(self._card_key(card_no, proof.algorithm, proof.key_version), proof, bill_date):
            raise CardPresenceInvalid("the cryptogram does not match this card and request")


    def purchase_matches(self, card_no: str, algorithm: Algorithm, key_version: int | None, atc: int, aip: bytes,
                         cvr: bytes, ac: bytes, cdol1: bytes) -> bool:
        """Does the purchase cryptogram ``ac`` (a GENERATE AC over ``cdol1``, docs/debit.md) come from card
        ``card_no``?"""
        udk = self._card_key(card_no, algorithm, key_version)
        session = secure.pboc_session_key(algorithm, udk, atc)
        expected = secure.pboc_application_cryptogram(algorithm, session, arqc_input(cdol1, aip, atc, cvr))
        return hmac.compare_digest(expected, ac)


def arqc_matches(udk: bytes, proof: Proof, bill_date: dt.date) -> bool:
    """Does ``proof``'s ARQC come from the card whose AC key is ``udk``, over this body and bill date? The AC
    session key from the ATC, then the cryptogram over CDOL1 data ‖ AIP ‖ ATC ‖ CVR (``chip.cmd_pboc``)."""
    session = secure.pboc_session_key(proof.algorithm, udk, proof.atc)
    expected = secure.pboc_application_cryptogram(
        proof.algorithm, session, arqc_input(cdol1_data(bill_date, proof.un), proof.aip, proof.atc, proof.cvr))
    return hmac.compare_digest(expected, proof.ac)


def check(policy: Policy, kind: str, level: str | None, card_no: str, proof: Proof | None, bill_date: dt.date,
          verifier: Verifier) -> Proof | None:
    """Refuse a settlement by card without an accepted, valid proof; the proof that was checked (or None)."""
    allowed = accepted(policy, kind, level)
    if not allowed:
        return None
    if proof is None:
        raise CardPresenceRequired(f"send {HEADER} ({' or '.join(allowed)})", accepted=",".join(allowed))
    if proof.method not in allowed:
        raise CardPresenceRequired(f"{proof.method} is not accepted here ({' or '.join(allowed)})",
                                   accepted=",".join(allowed))
    if proof.method == "pin":
        if not proof.pin_verified:
            raise CardPresenceInvalid("the PIN was not checked")
        return proof
    verifier.check_arqc(card_no, proof, bill_date)
    return proof


def pin_checked(proof: Proof) -> Proof:
    return replace(proof, pin_verified=True)


def keystore_verifier(path: Path | None = None) -> Verifier:
    """A verifier over the JSON keystore at ``path`` (default ``$SSCARD_KEYSTORE`` or var/keystore.json), KEK
    from the settings, opened on first use."""
    where = path or Path(os.environ.get(KEYSTORE_ENV, "var/keystore.json"))

    def open_keys() -> KeyManager:
        if not where.exists():
            raise PresenceKeysUnavailable("keystore not found")
        return KeyManager.from_settings(KeyStore(where))
    return Verifier(open_keys)
