"""C-APDU builders and R-APDU helpers for code that talks to the card (terminal, CLI, tests, bench)."""

from __future__ import annotations

from sscard.chip.personalise import SSSE_AID


def lc(data: bytes) -> bytes:
    """Lc byte followed by the data."""
    return bytes((len(data),)) + data


def select_aid(aid: bytes) -> bytes:
    return b"\x00\xa4\x04\x00" + lc(aid) + b"\x00"


def select_fid(fid: int, p1: int = 0x00) -> bytes:
    return bytes((0x00, 0xA4, p1, 0x00, 0x02)) + fid.to_bytes(2, "big")


def read_record(record_no: int, sfi: int, le: int = 0) -> bytes:
    """READ RECORD by number with SFI addressing (P2 = SFI<<3 | 100b)."""
    return bytes((0x00, 0xB2, record_no, (sfi << 3) | 0x04, le))


def read_record_by_tag(tag: int, le: int = 0) -> bytes:
    """READ RECORD of the first record with data-item tag ``tag`` (P2 = 00)."""
    return bytes((0x00, 0xB2, tag, 0x00, le))


def read_binary(sfi: int, offset: int, le: int = 0) -> bytes:
    return bytes((0x00, 0xB0, 0x80 | sfi, offset, le))


def get_challenge(n: int = 8) -> bytes:
    return bytes((0x00, 0x84, 0x00, 0x00, n))


def verify(pin_bcd: bytes, ref: int = 0x00) -> bytes:
    return bytes((0x00, 0x20, 0x00, ref)) + lc(pin_bcd)


SELECT_SSSE = select_aid(SSSE_AID)


def status(rapdu: bytes) -> int:
    """SW1SW2 of an R-APDU as an int."""
    return int.from_bytes(rapdu[-2:], "big")


def split(rapdu: bytes) -> tuple[bytes, int]:
    return rapdu[:-2], status(rapdu)


def purchase_cdol1(amount_fen: int, txn_date: str, un: bytes, tvr: bytes = bytes(5)) -> bytes:
    """The 29 bytes of CDOL1 data (personalise.CDOL1) for a purchase of ``amount_fen`` on ``txn_date``
    (YYMMDD): 9F02 amount authorised (n12 BCD, fen), 9F03 amount other 0, 9F1A 0156, 95 TVR, 5F2A 0156 (CNY),
    9A date, 9C 00 (goods and services), 9F37 the terminal's unpredictable number."""
    if not 0 <= amount_fen < 10**12 or len(un) != 4 or len(tvr) != 5:
        raise ValueError("amount 0…999999999999 fen, UN 4 bytes, TVR 5 bytes")
    if len(txn_date) != 6 or not txn_date.isdigit():
        raise ValueError("date YYMMDD")
    country = currency = bytes.fromhex("0156")
    return (bytes.fromhex(f"{amount_fen:012d}") + bytes(6) + country + tvr + currency + bytes.fromhex(txn_date)
            + b"\x00" + un)
