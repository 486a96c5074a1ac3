"""Encrypting the sensitive fields of a personalisation file for the card maker, with keys from ``kms``.

Both sides hold a PSAM issued by the key manager for the city (the maker receives one as its key card). The
batch key is derived inside the PSAM: 通用DES计算 with the RKSSSE encryption key diversified by the batch
number encrypts the batch's random salt; HKDF-SHA256 turns that into an AES-256-GCM key. No key leaves the
PSAM; each record is sealed with AES-GCM bound to the batch, sequence and card number (AAD).
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sscard.crypto import sm3
from sscard.kms import PSAM_SM4_AID, Psam
from sscard.kms.psam import OP_ENCRYPT, TYPE_ENCRYPT
from sscard.production.errors import FileRejected

_KID_RKSSSE = 0x0A


def new_salt() -> str:
    return os.urandom(32).hex()


def _psam(psam: Psam, apdu: bytes) -> bytes:
    answer = psam.transmit(apdu)
    if answer[-2:] != b"\x90\x00":
        raise FileRejected(f"the PSAM refused the key derivation (SW {answer[-2:].hex().upper()})")
    return answer[:-2]


def batch_key(psam: Psam, batch_no: str, salt_hex: str) -> AESGCM:
    """The batch's AES-256-GCM key, derived in the PSAM from the batch number and salt."""
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError as exc:
        raise FileRejected("the transport salt is not hex") from exc
    if len(salt) != 32:
        raise FileRejected("the transport salt must be 32 bytes")
    factor = sm3(batch_no.encode("utf-8"))[:8]
    _psam(psam, bytes([0x00, 0xA4, 0x04, 0x00, len(PSAM_SM4_AID)]) + PSAM_SM4_AID)
    _psam(psam, bytes([0x80, 0x1A, (1 << 5) | TYPE_ENCRYPT, _KID_RKSSSE, 8]) + factor)
    secret = _psam(psam, bytes([0x80, 0xFA, OP_ENCRYPT, 0x00, len(salt)]) + salt)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"sscard maker transport v1").derive(secret)
    return AESGCM(key)


def _aad(batch_no: str, seq: int, card_no: str) -> bytes:
    return f"{batch_no}|{seq}|{card_no}".encode()


def seal(key: AESGCM, batch_no: str, seq: int, card_no: str, fields: dict[str, str]) -> str:
    nonce = os.urandom(12)
    plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return (nonce + key.encrypt(nonce, plain, _aad(batch_no, seq, card_no))).hex()


def open_sealed(key: AESGCM, batch_no: str, seq: int, card_no: str, payload_hex: str) -> dict[str, str]:
    try:
        raw = bytes.fromhex(payload_hex)
        plain = key.decrypt(raw[:12], raw[12:], _aad(batch_no, seq, card_no))
        data = json.loads(plain.decode("utf-8"))
    except (ValueError, InvalidTag) as exc:
        raise FileRejected(f"record {seq}: the encrypted payload does not open (tampered or wrong key)") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise FileRejected(f"record {seq}: the payload is not a field map")
    return {str(k): v for k, v in data.items()}
