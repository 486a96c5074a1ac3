"""What a settlement terminal asks of the card for a settlement by card: the PBOC debit application's ARQC over
CDOL1 data bound to the exact request body (``sscard.medical.presence``), as the ``X-Card-Presence`` header.

The terminal has already read the card through its PSAM (``Terminal.read_holder``: on a 3rd-generation card
internal and external authentication), which also tells the card's algorithm. Then: SELECT the debit
application, GET PROCESSING OPTIONS (the card counts its ATC), GENERATE AC asking for an ARQC. The card
computes the cryptogram with its own AC key, which no PSAM holds; the centre checks it with the KMS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sscard.chip.personalise import DEBIT_AID
from sscard.chip.tlv import find_ber, parse_ber
from sscard.medical.presence import Proof, cdol1_data, header_value, unpredictable_number
from sscard.terminal.terminal import Terminal, TerminalError

GPO_EMPTY_PDOL = bytes.fromhex("80A8000002830000")
P1_ARQC = 0x80


@dataclass(frozen=True, slots=True)
class Cryptogram:
    """The card's answer to GENERATE AC and what the centre needs to check it."""

    proof: Proof
    iad: bytes

    @property
    def header(self) -> str:
        return header_value(self.proof, self.iad)


def settlement_cryptogram(terminal: Terminal, body: bytes, bill_date: dt.date,
                          key_version: int | None = None) -> Cryptogram:
    """ARQC for the settlement request ``body`` (the exact bytes to be sent) of a bill dated ``bill_date``."""
    un = unpredictable_number(body)
    data = cdol1_data(bill_date, un)
    terminal.send(b"\x00\xa4\x04\x00" + bytes((len(DEBIT_AID),)) + DEBIT_AID + b"\x00", "select debit")
    gpo = terminal.send(GPO_EMPTY_PDOL, "get processing options")
    aip = find_ber(gpo, 0x82)
    answer = terminal.send(bytes((0x80, 0xAE, P1_ARQC, 0x00, len(data))) + data + b"\x00", "generate AC")
    fields = dict(parse_ber(find_ber(answer, 0x77) or b""))
    cid, atc, ac, iad = fields.get(0x9F27), fields.get(0x9F36), fields.get(0x9F26), fields.get(0x9F10)
    if aip is None or cid is None or atc is None or ac is None or iad is None or cid[0] & 0xC0 != 0x80:
        raise TerminalError("generate AC: no ARQC", 0x6F00)
    proof = Proof("arqc", un, algorithm="sm4" if terminal.algorithm == "sm4" else "3des", key_version=key_version,
                  atc=int.from_bytes(atc, "big"), aip=aip, cvr=iad[3:], ac=ac)
    return Cryptogram(proof, iad)
