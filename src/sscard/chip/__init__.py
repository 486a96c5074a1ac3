"""The virtual social-security CPU card: file system, COS commands, SSSE + PSE/PBOC debit, card images.
Public entry: :class:`VirtualCard` (``transmit(apdu) -> rapdu``), :func:`personalise`, :func:`load`, :func:`save`.
"""

from sscard.chip import cmd_auth, cmd_files, cmd_pboc  # noqa: F401  (register the command handlers)
from sscard.chip.cos import VirtualCard
from sscard.chip.image import ImageError, load, save
from sscard.chip.personalise import (
    DEBIT_AID,
    PSE_AID,
    SSSE_AID,
    CardKeys,
    HolderData,
    Pins,
    card_atr,
    card_identification_code,
    card_specific_bytes,
    debit_pan,
    pan_factor,
    personalise,
)

__all__ = [
    "DEBIT_AID",
    "PSE_AID",
    "SSSE_AID",
    "CardKeys",
    "HolderData",
    "ImageError",
    "Pins",
    "VirtualCard",
    "card_atr",
    "card_identification_code",
    "card_specific_bytes",
    "debit_pan",
    "load",
    "pan_factor",
    "personalise",
    "save",
]
