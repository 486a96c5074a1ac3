"""Key management: wrapped master keys per level (ministry → province → city), versions and rotation,
per-card derivation and the PSAM emulation."""

from sscard.kms.keystore import KeyEntry, KeyStore
from sscard.kms.manager import KeyManager, KeyNotProvisioned, KmsError, province_of, region_factor
from sscard.kms.psam import PSAM_3DES_AID, PSAM_SM4_AID, Psam

__all__ = [
    "PSAM_3DES_AID",
    "PSAM_SM4_AID",
    "KeyEntry",
    "KeyManager",
    "KeyNotProvisioned",
    "KeyStore",
    "KmsError",
    "Psam",
    "province_of",
    "region_factor",
]
