"""Pure cryptographic functions for the chip, the PSAM and terminals: SM4, 3DES, retail MAC, SM4 CBC-MAC, SM3,
and key diversification. Everything runs on ``cryptography``; nothing here touches I/O or keeps state.
"""

from sscard.crypto.primitives import (
    CryptoError,
    des_encrypt,
    diversify,
    pad_iso9797_m2,
    retail_mac,
    sm3,
    sm4_cbc_mac,
    sm4_decrypt,
    sm4_encrypt,
    tdes_decrypt,
    tdes_encrypt,
    xor_bytes,
)

__all__ = [
    "CryptoError",
    "des_encrypt",
    "diversify",
    "pad_iso9797_m2",
    "retail_mac",
    "sm3",
    "sm4_cbc_mac",
    "sm4_decrypt",
    "sm4_encrypt",
    "tdes_decrypt",
    "tdes_encrypt",
    "xor_bytes",
]
