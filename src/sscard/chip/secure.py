"""Card-side cryptographic conventions shared by the chip, the PSAM and terminals: 3DES cards (2nd generation)
use 8-byte blocks and the retail MAC, SM4 cards (3rd generation) 16-byte blocks and SM4 CBC-MAC. Where the
public sources are silent (SM4 IV, MAC length) the choices are project choices, listed in docs/chip.md."""

from __future__ import annotations

from sscard.crypto import retail_mac, sm4_cbc_mac, sm4_encrypt, tdes_encrypt, xor_bytes
from sscard.crypto.primitives import pad_iso9797_m2


def block_size(algorithm: str) -> int:
    """8 for 3DES, 16 for SM4."""
    return 16 if algorithm == "sm4" else 8


def encrypt(algorithm: str, key: bytes, data: bytes) -> bytes:
    """ECB encryption of whole blocks with the card algorithm."""
    return sm4_encrypt(key, data) if algorithm == "sm4" else tdes_encrypt(key, data)


def zero_pad(data: bytes, size: int) -> bytes:
    """Right-pad with zeros to ``size`` (a 4-byte challenge becomes an 8- or 16-byte IV/block)."""
    return data + bytes(max(0, size - len(data)))


def auth_cryptogram(algorithm: str, key: bytes, challenge: bytes) -> bytes:
    """EXTERNAL AUTHENTICATE cryptogram: E_K(challenge ‖ 00…) over one block."""
    return encrypt(algorithm, key, zero_pad(challenge, block_size(algorithm))[: block_size(algorithm)])


def line_mac(algorithm: str, key: bytes, challenge: bytes, data: bytes) -> bytes:
    """Line-protection MAC (4 bytes) over ``CLA INS P1 P2 Lc ‖ data``, IV = challenge ‖ 00…, pad method 2.

    3DES: ISO 9797-1 alg. 3 (PBOC COS). SM4: SM4 CBC-MAC, left 4 bytes (project choice, not public).
    """
    size = block_size(algorithm)
    iv = zero_pad(challenge, size)[:size]
    if algorithm == "sm4":
        return sm4_cbc_mac(key, data, iv)[:4]
    return retail_mac(key, data, iv)[:4]


def reload_pin_mac(algorithm: str, key: bytes, new_pin_bcd: bytes) -> bytes:
    """RELOAD PIN MAC: 3DES cards: single-DES CBC-MAC under K_L ⊕ K_R, IV 0; SM4: SM4 CBC-MAC; 4 bytes."""
    if algorithm == "sm4":
        return sm4_cbc_mac(key, new_pin_bcd)[:4]
    k = xor_bytes(key[:8], key[8:16])
    chain = bytes(8)
    padded = pad_iso9797_m2(new_pin_bcd, 8)
    for i in range(0, len(padded), 8):
        chain = tdes_encrypt(k, xor_bytes(chain, padded[i : i + 8]))
    return chain[:4]


def _odd_parity(key: bytes) -> bytes:
    return bytes((b & 0xFE) | ((bin(b >> 1).count("1") + 1) & 1) for b in key)


def pboc_session_key(algorithm: str, udk: bytes, atc: int) -> bytes:
    """PBOC AC session key: E(UDK, 00…‖ATC) ‖ E(UDK, 00…‖ATC⊕FFFF) with odd parity (3DES);
    SM4: one block E(UDK, 00×14 ‖ ATC)."""
    if algorithm == "sm4":
        return sm4_encrypt(udk, bytes(14) + atc.to_bytes(2, "big"))
    left = tdes_encrypt(udk, bytes(6) + atc.to_bytes(2, "big"))
    right = tdes_encrypt(udk, bytes(6) + (atc ^ 0xFFFF).to_bytes(2, "big"))
    return _odd_parity(left + right)


def pboc_application_cryptogram(algorithm: str, session_key: bytes, data: bytes) -> bytes:
    """ARQC/TC/AAC (8 bytes): retail MAC (pad 80) for 3DES; SM4 CBC-MAC left 8 bytes for SM4."""
    if algorithm == "sm4":
        return sm4_cbc_mac(session_key, data)[:8]
    return retail_mac(session_key, data)


def pboc_arpc(algorithm: str, session_key: bytes, arqc: bytes, arc: bytes) -> bytes:
    """ARPC (8 bytes), EMV Book 2 §8.2.1 method 1: E(SK_AC, ARQC ⊕ (ARC ‖ 00×6)). SM4: the 8 bytes are padded with
    00×8 to one block and the left 8 bytes of the answer kept (a project choice; PBOC's SM4 text is not public)."""
    if len(arqc) != 8 or len(arc) != 2:
        raise ValueError("ARQC is 8 bytes and ARC 2")
    block = bytes(a ^ b for a, b in zip(arqc, arc + bytes(6), strict=True))
    if algorithm == "sm4":
        return sm4_encrypt(session_key, block + bytes(8))[:8]
    return tdes_encrypt(session_key, block)


def pin_to_bcd(pin: str) -> bytes:
    """Digits as packed BCD, right-padded with F: ``"12345"`` → ``12 34 5F``."""
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("PIN must be 4–12 digits")
    text = pin + ("F" if len(pin) % 2 else "")
    return bytes.fromhex(text)


def bcd_to_pin(data: bytes) -> str | None:
    """Inverse of :func:`pin_to_bcd`; None when the nibbles are not digits followed by F padding."""
    text = data.hex().upper().rstrip("F")
    if not text.isdigit() or not 4 <= len(text) <= 12 or len(data) != (len(text) + 1) // 2:
        return None
    return text
