"""Block ciphers (SM4 ECB, DES/3DES ECB), MACs (ISO 9797-1 alg. 3, SM4 CBC-MAC), SM3 and diversification.

Short DES keys are expanded by hand (``k*3``, ``k1+k2+k1``) because ``cryptography`` deprecates them.
"""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class CryptoError(ValueError):
    """A key or data length that the algorithm cannot take."""


def xor_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise XOR of two equally long byte strings."""
    if len(a) != len(b):
        raise CryptoError("xor of unequal lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def pad_iso9797_m2(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 0x80, zeros to whole blocks (always pads)."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block)


def _whole_blocks(data: bytes, block: int) -> None:
    if len(data) % block:
        raise CryptoError(f"data length {len(data)} is not a multiple of {block}")


def _tdes_key(key: bytes) -> bytes:
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise CryptoError(f"DES/3DES key must be 8, 16 or 24 bytes, got {len(key)}")


def _sm4_key(key: bytes) -> bytes:
    if len(key) != 16:
        raise CryptoError(f"SM4 key must be 16 bytes, got {len(key)}")
    return key


def sm4_encrypt(key: bytes, data: bytes) -> bytes:
    """SM4 (GB/T 32907) in ECB mode over whole 16-byte blocks."""
    _whole_blocks(data, 16)
    enc = Cipher(algorithms.SM4(_sm4_key(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def sm4_decrypt(key: bytes, data: bytes) -> bytes:
    """Inverse of :func:`sm4_encrypt`."""
    _whole_blocks(data, 16)
    dec = Cipher(algorithms.SM4(_sm4_key(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()


def tdes_encrypt(key: bytes, data: bytes) -> bytes:
    """3DES-EDE in ECB mode; 16-byte keys are 2-key 3DES, 24-byte keys 3-key, 8-byte keys single DES."""
    _whole_blocks(data, 8)
    enc = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_decrypt(key: bytes, data: bytes) -> bytes:
    """Inverse of :func:`tdes_encrypt`."""
    _whole_blocks(data, 8)
    dec = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()


def des_encrypt(key8: bytes, data: bytes) -> bytes:
    """Single DES in ECB mode (FIPS 46), as the inner step of the retail MAC."""
    if len(key8) != 8:
        raise CryptoError("single DES key must be 8 bytes")
    return tdes_encrypt(key8, data)


def retail_mac(key16: bytes, data: bytes, iv: bytes = bytes(8), *, padding: Literal[1, 2] = 2) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC), full 8 bytes.

    DES-CBC with K_L over the padded data from ``iv``, then D(K_R) and E(K_L) on the last block. Padding
    method 2 by default (0x80 then zeros, always added); method 1 (zeros, only if needed) on request.
    """
    if len(key16) != 16:
        raise CryptoError("retail MAC key must be 16 bytes")
    if len(iv) != 8:
        raise CryptoError("retail MAC IV must be 8 bytes")
    # Method 1 pads with zeros only when needed; an empty message still takes one block.
    padded = pad_iso9797_m2(data, 8) if padding == 2 else (data + bytes(-len(data) % 8)) or bytes(8)
    kl, kr = key16[:8], key16[8:]
    enc = Cipher(TripleDES(kl * 3), modes.CBC(iv)).encryptor()
    last = (enc.update(padded) + enc.finalize())[-8:]
    dec = Cipher(TripleDES(kr * 3), modes.ECB()).decryptor()
    return tdes_encrypt(kl, dec.update(last) + dec.finalize())


def sm4_cbc_mac(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    """SM4 CBC-MAC: SM4-CBC from ``iv`` over data with ISO 9797-1 padding 2; the last block."""
    if len(iv) != 16:
        raise CryptoError("SM4 CBC-MAC IV must be 16 bytes")
    enc = Cipher(algorithms.SM4(_sm4_key(key)), modes.CBC(iv)).encryptor()
    return (enc.update(pad_iso9797_m2(data, 16)) + enc.finalize())[-16:]


def sm3(data: bytes) -> bytes:
    """SM3 hash (GB/T 32905), 32 bytes."""
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    """HMAC-SM3 of ``data`` as lower-case hex (64 characters): the signature of the exchange's requests and of
    the messages between centres (docs/exchange.md, docs/transfer.md, docs/cross-region.md)."""
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def diversify(master_key: bytes, factor: bytes, algorithm: str) -> bytes:
    """One level of key diversification (分散) with an 8-byte factor D.

    ``"3des"``: ``3DES_K(D) ‖ 3DES_K(D ⊕ FF…FF)`` (16 bytes, PBOC 2.0 / EMV option A).
    ``"sm4"``: ``SM4_K(D ‖ D ⊕ FF…FF)`` (16 bytes, PBOC 3.0 国密) — the left half of the block is D, the right
    half its complement, so one SM4 block yields the whole child key.
    """
    if len(factor) != 8:
        raise CryptoError(f"diversification factor must be 8 bytes, got {len(factor)}")
    inverted = xor_bytes(factor, b"\xff" * 8)
    if algorithm == "3des":
        if len(master_key) not in (16, 24):
            raise CryptoError("3DES master key must be 16 or 24 bytes")
        return tdes_encrypt(master_key, factor + inverted)
    if algorithm == "sm4":
        return sm4_encrypt(master_key, factor + inverted)
    raise CryptoError(f"unknown diversification algorithm {algorithm!r}")
