"""Command-APDU parsing (ISO 7816-4 short cases 1–4) and the status words the card answers with.

Handlers raise :class:`CardError` with a status word; :mod:`sscard.chip.cos` turns it into the R-APDU.
"""

from __future__ import annotations

from dataclasses import dataclass

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_FILE_STRUCTURE = 0x6981
SW_SECURITY = 0x6982
SW_BLOCKED = 0x6983
SW_RANDOM_INVALID = 0x6984
SW_CONDITIONS = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_MAC_INCORRECT = 0x6988
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_RECORD_NOT_FOUND = 0x6A83
SW_WRONG_P1P2 = 0x6A86
SW_REF_NOT_FOUND = 0x6A88
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00


def sw_tries_left(n: int) -> int:
    """63Cx: verification failed, x tries left (x < 16)."""
    return 0x63C0 | min(n, 15)


def sw_wrong_le(n: int) -> int:
    """6Cxx: wrong Le, xx is the exact length (00 = 256)."""
    return 0x6C00 | (n & 0xFF)


class CardError(Exception):
    """A command ends with this status word instead of 9000."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed short C-APDU. ``le`` is None when absent (cases 1 and 3); Le=00 means 256."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))


def parse(apdu: bytes) -> Command:
    """Parse a short C-APDU; anything malformed (including extended length) raises CardError(6700)."""
    n = len(apdu)
    if n < 4:
        raise CardError(SW_WRONG_LENGTH)
    cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
    if n == 4:
        return Command(cla, ins, p1, p2, b"", None)
    if n == 5:
        return Command(cla, ins, p1, p2, b"", apdu[4] or 256)
    lc = apdu[4]
    if lc == 0:
        raise CardError(SW_WRONG_LENGTH)  # extended-length APDUs are not supported
    if n == 5 + lc:
        return Command(cla, ins, p1, p2, bytes(apdu[5:]), None)
    if n == 6 + lc:
        return Command(cla, ins, p1, p2, bytes(apdu[5 : 5 + lc]), apdu[-1] or 256)
    raise CardError(SW_WRONG_LENGTH)
