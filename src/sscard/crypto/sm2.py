"""SM2 signatures (GB/T 32918.2) with SM3 and the signer ID ``1234567812345678``, through ``gmssl-pyx`` (a binding
of the GmSSL C library). Signatures travel as 64 bytes ``r ‖ s`` (32 bytes each, big-endian); public keys as 64
bytes ``x ‖ y`` (a leading 0x04 is accepted). Pure functions: no I/O, no state.
"""

from __future__ import annotations

import gmssl_pyx
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

SIGNER_ID = b"1234567812345678"  # GB/T 35276 default user ID; verifiers must use the same
SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 64
PRIVATE_KEY_LEN = 32
# The order n of the recommended curve (GB/T 32918.5): r and s lie in [1, n-1].
CURVE_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


class Sm2Error(ValueError):
    """A key or signature that is not an SM2 key or signature of the expected shape."""


def generate_key() -> tuple[bytes, bytes]:
    """A new key pair: (private key 32 bytes, public key 64 bytes ``x ‖ y``)."""
    public, private = gmssl_pyx.sm2_key_generate()
    return bytes(private), bytes(public)


def public_key(raw: bytes) -> bytes:
    """``raw`` (64 bytes, or 65 with the 0x04 prefix) as a 64-byte public key that is a point of the curve."""
    try:
        normal: bytes = gmssl_pyx.normalize_sm2_public_key(raw)
    except gmssl_pyx.InvalidValueError as exc:
        raise Sm2Error("not an SM2 public key") from exc
    return normal


def sign(private_key: bytes, public: bytes, message: bytes) -> bytes:
    """SM2 signature of ``message`` (e = SM3(Z_A ‖ M) with the default signer ID) as 64 bytes ``r ‖ s``."""
    if len(private_key) != PRIVATE_KEY_LEN or len(public) != PUBLIC_KEY_LEN:
        raise Sm2Error("an SM2 private key has 32 bytes and its public key 64")
    r, s = decode_dss_signature(gmssl_pyx.sm2_sign(private_key, public, message, SIGNER_ID))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (64 bytes ``r ‖ s``) is an SM2 signature of ``message`` under ``public``."""
    if len(signature) != SIGNATURE_LEN or len(public) != PUBLIC_KEY_LEN:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < CURVE_N and 0 < s < CURVE_N):
        return False
    try:
        return bool(gmssl_pyx.sm2_verify(public, message, encode_dss_signature(r, s), SIGNER_ID))
    except (gmssl_pyx.InvalidValueError, gmssl_pyx.GmsslInnerError):
        return False
