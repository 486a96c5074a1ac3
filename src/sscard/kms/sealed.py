"""Small secrets sealed at rest in the database (an operator's TOTP secret, ...).

Each purpose has its own AES-256-GCM key, derived from the KMS key-encryption key (``SSCARD_KMS_KEK_HEX``)
with HKDF-SHA256, so a copy of the database alone opens nothing and one purpose's key opens no other. The
caller binds the sealed value to its row through the associated data (e.g. ``operator_totp:7``): a sealed
value copied to another row does not open there.

Format: ``s1:`` + URL-safe base64 of nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sscard.kms.manager import KmsError

PREFIX = "s1:"
_NONCE = 12


class SealedInvalid(KmsError):
    """A sealed value that does not open: altered, bound to another row, or sealed under another KEK."""


def _kek(kek: bytes | None) -> bytes:
    if kek is not None:
        return kek
    from sscard.config import get_settings

    return bytes.fromhex(get_settings().kms_kek_hex)


def _key(kek: bytes, purpose: str) -> AESGCM:
    if len(kek) != 32:
        raise KmsError("the KEK must be 32 bytes (AES-256)")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"sscard-sealed/1:" + purpose.encode()).derive(kek)
    return AESGCM(derived)


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(plaintext: bytes, purpose: str, aad: str, kek: bytes | None = None) -> str:
    """``plaintext`` encrypted for ``purpose``, bound to ``aad`` (which row it belongs to)."""
    nonce = os.urandom(_NONCE)
    sealed = _key(_kek(kek), purpose).encrypt(nonce, plaintext, aad.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_sealed(value: str, purpose: str, aad: str, kek: bytes | None = None) -> bytes:
    """The plaintext of a value made by ``seal`` with the same purpose, associated data and KEK."""
    if not is_sealed(value):
        raise SealedInvalid("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise SealedInvalid("malformed sealed value") from exc
    if len(raw) < _NONCE + 16:
        raise SealedInvalid("truncated sealed value")
    try:
        return _key(_kek(kek), purpose).decrypt(raw[:_NONCE], raw[_NONCE:], aad.encode())
    except InvalidTag as exc:
        raise SealedInvalid("the sealed value does not open (altered, moved, or another KEK)") from exc
