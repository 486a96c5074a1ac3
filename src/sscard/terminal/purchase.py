"""The hospital terminal's PBOC purchase on the card's debit application (the cash part of a settled bill,
docs/debit.md): SELECT the debit application, READ RECORD for the PAN and PAN sequence, VERIFY the holder's
offline PIN (ISO 9564 format-2 plaintext PIN block, P2 = 80), GET PROCESSING OPTIONS, GENERATE AC asking for an
ARQC over CDOL1 data carrying the amount; after the issuer's answer, issuer authentication (EXTERNAL
AUTHENTICATE with ARPC ‖ ARC). As in EMV, a wrong PIN does not stop the transaction at the terminal: the card
records it in its CVR, which the ARQC covers, and the issuer declines (PIN_WRONG).
"""

from __future__ import annotations

import datetime as dt
import os

from sscard.banks.schemas import PurchaseIn
from sscard.chip.builders import purchase_cdol1, read_record, select_aid
from sscard.chip.personalise import DEBIT_AID
from sscard.chip.tlv import find_ber, parse_ber
from sscard.terminal.terminal import Terminal, TerminalError

GPO_EMPTY_PDOL = bytes.fromhex("80A8000002830000")
P1_ARQC = 0x80
DEBIT_PIN_REF = 0x80


def pin_block(pin: str) -> bytes:
    """ISO 9564 format 2 (plaintext offline PIN): 2N ‖ PIN digits ‖ F padding, 8 bytes."""
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("PIN must be 4–12 digits")
    return bytes.fromhex(f"2{len(pin):X}{pin}".ljust(16, "F"))


def read_pan(terminal: Terminal) -> tuple[str, int]:
    """SELECT the debit application and read its PAN (5A) and PAN sequence number (5F34)."""
    terminal.send(select_aid(DEBIT_AID), "select debit")
    record = terminal.send(read_record(2, 2), "read debit record")
    fields = dict(parse_ber(find_ber(record, 0x70) or b""))
    pan_bcd, psn = fields.get(0x5A), fields.get(0x5F34)
    if pan_bcd is None or psn is None:
        raise TerminalError("read debit record: no PAN", 0x6A83)
    return pan_bcd.hex().upper().rstrip("F"), int(psn.hex())


def purchase(terminal: Terminal, amount_fen: int, txn_date: dt.date, *, ref: str, merchant: str,
             terminal_no: str = "", pin: str | None = None, key_version: int | None = None) -> PurchaseIn:
    """Run the card side of a purchase of ``amount_fen`` and return the authorisation request for the issuer.
    ``pin`` is what the holder typed on the PIN pad (None: no PIN entered)."""
    pan, psn = read_pan(terminal)
    if pin is not None:
        data = pin_block(pin)
        terminal.send(bytes((0x00, 0x20, 0x00, DEBIT_PIN_REF, len(data))) + data, "verify debit PIN",
                      ok=(0x9000, 0x6983, *range(0x63C0, 0x63D0)))  # the CVR carries a failure to the issuer
    gpo = terminal.send(GPO_EMPTY_PDOL, "get processing options")
    aip = find_ber(gpo, 0x82)
    un = os.urandom(4)
    data = purchase_cdol1(amount_fen, f"{txn_date:%y%m%d}", un)
    answer = terminal.send(bytes((0x80, 0xAE, P1_ARQC, 0x00, len(data))) + data + b"\x00", "generate AC")
    fields = dict(parse_ber(find_ber(answer, 0x77) or b""))
    cid, atc, ac, iad = fields.get(0x9F27), fields.get(0x9F36), fields.get(0x9F26), fields.get(0x9F10)
    if aip is None or cid is None or atc is None or ac is None or iad is None or cid[0] & 0xC0 != 0x80:
        raise TerminalError("generate AC: no ARQC", 0x6F00)
    return PurchaseIn(ref=ref, pan=pan, pan_sequence=psn, algorithm="sm4" if terminal.algorithm == "sm4" else "3des",
                      key_version=key_version, atc=int.from_bytes(atc, "big"), aip=aip.hex().upper(),
                      cvr=iad[3:].hex().upper(), arqc=ac.hex().upper(), un=un.hex().upper(), amount=amount_fen,
                      txn_date=f"{txn_date:%y%m%d}", merchant=merchant, terminal_no=terminal_no)


def issuer_authenticate(terminal: Terminal, arpc: str, arc: str) -> bool:
    """Give the card the issuer's ARPC and ARC for its last ARQC; True when the card accepts them as genuine."""
    data = bytes.fromhex(arpc) + arc.encode("ascii")
    rapdu = terminal.card.transmit(bytes((0x00, 0x82, 0x00, 0x00, len(data))) + data)
    sw = int.from_bytes(rapdu[-2:], "big") if len(rapdu) >= 2 else 0x6F00
    if sw not in (0x9000, 0x6300):
        raise TerminalError("issuer authentication", sw)
    return sw == 0x9000
