"""What a terminal does with a social-security card: select the SSSE, read holder data, verify/change/reload
the PIN, check the card is genuine (internal authentication), authenticate to it through the PSAM (external
authentication) and write with line-protection MACs. Keys stay inside the PSAM; this module only moves APDUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sscard.chip import secure
from sscard.chip.personalise import SSSE_AID
from sscard.chip.tlv import find_ber
from sscard.kms.psam import (
    OP_ENCRYPT,
    OP_MAC_WITH_IV,
    OP_PIN_RELOAD_MAC,
    PSAM_3DES_AID,
    PSAM_SM4_AID,
    TYPE_ENCRYPT,
    TYPE_MAC,
    TYPE_PIN_RELOAD,
)
from sscard.terminal.holder import CardInfo, decode_basic, tlv_records
from sscard.terminal.reader import Reader

KID_IRK, KID_UPDATE, KID_MAC, KID_READ, KID_RELOAD = 0x01, 0x04, 0x06, 0x0A, 0x0B


class TerminalError(Exception):
    """A card or PSAM answered with an unexpected status word."""

    code = "CARD_ERROR"

    def __init__(self, what: str, sw: int) -> None:
        super().__init__(f"{what}: SW {sw:04X}")
        self.what = what
        self.sw = sw


class WrongPin(TerminalError):
    code = "PIN_WRONG"

    @property
    def tries_left(self) -> int:
        return self.sw & 0x0F


class PinBlocked(TerminalError):
    code = "PIN_BLOCKED"


class CardNotGenuine(TerminalError):
    code = "CARD_NOT_GENUINE"


def _split(rapdu: bytes) -> tuple[bytes, int]:
    if len(rapdu) < 2:
        return b"", 0x6F00
    return rapdu[:-2], int.from_bytes(rapdu[-2:], "big")


@dataclass(frozen=True, slots=True)
class SelectResult:
    algorithm: str
    fci: bytes


class Terminal:
    """A terminal with a card reader and a PSAM reader (the PSAM must hold the card's city keys)."""

    def __init__(self, card: Reader, psam: Reader) -> None:
        self.card = card
        self.psam = psam
        self.algorithm = "3des"
        self._psam_env: str | None = None

    # -- plumbing --------------------------------------------------------------------------------------
    def send(self, apdu: bytes, what: str, ok: tuple[int, ...] = (0x9000,)) -> bytes:
        data, sw = _split(self.card.transmit(apdu))
        if sw not in ok:
            raise TerminalError(what, sw)
        return data

    def _psam(self, apdu: bytes, what: str) -> bytes:
        data, sw = _split(self.psam.transmit(apdu))
        if sw != 0x9000:
            raise TerminalError(f"PSAM {what}", sw)
        return data

    def _psam_compute(self, ktype: int, kid: int, op: int, data: bytes) -> bytes:
        """Diversify the PSAM key (type, kid) with the card factor, then run one computation."""
        if self._psam_env != self.algorithm:
            aid = PSAM_SM4_AID if self.algorithm == "sm4" else PSAM_3DES_AID
            self._psam(b"\x00\xa4\x04\x00" + bytes((len(aid),)) + aid, "select")
            self._psam_env = self.algorithm
        self._psam(bytes((0x80, 0x1A, (1 << 5) | ktype, kid, 8)) + self.card_factor(), "init")
        return self._psam(bytes((0x80, 0xFA, op, 0x00, len(data))) + data, "compute")

    def card_factor(self) -> bytes:
        """The card-level diversification factor: the last 8 bytes of the ATR (historical bytes)."""
        return self.card.atr()[-8:]

    # -- operations ------------------------------------------------------------------------------------
    def select_ssse(self) -> SelectResult:
        fci = self.send(b"\x00\xa4\x04\x00" + bytes((len(SSSE_AID),)) + SSSE_AID + b"\x00", "select SSSE")
        flag = find_ber(fci, 0x9F0C)
        # 9F0C 03 86 01 xx; absent means 01 (3DES). 03 = SM4 in this project.
        self.algorithm = "sm4" if flag is not None and flag[-1:] == b"\x03" else "3des"
        return SelectResult(self.algorithm, fci)

    def internal_authenticate(self) -> bool:
        """Is the card genuine? Compare its answer to a fresh random with the PSAM's computation."""
        challenge = os.urandom(secure.block_size(self.algorithm))
        answer = self.send(
            bytes((0x00, 0x88, 0x00, KID_IRK, len(challenge))) + challenge + b"\x00", "internal authenticate"
        )
        expected = self._psam_compute(TYPE_ENCRYPT, KID_IRK, OP_ENCRYPT, challenge)
        return answer == expected

    def require_genuine(self) -> None:
        if not self.internal_authenticate():
            raise CardNotGenuine("internal authenticate", 0x6300)

    def external_authenticate(self, kid: int) -> None:
        """Prove the terminal holds key ``kid`` (via the PSAM) so the card opens the files it protects."""
        size = secure.block_size(self.algorithm)
        challenge = self.send(b"\x00\x84\x00\x00" + bytes((8,)), "get challenge")
        cryptogram = self._psam_compute(TYPE_ENCRYPT, kid, OP_ENCRYPT, secure.zero_pad(challenge, size))
        self.send(bytes((0x00, 0x82, 0x00, kid, len(cryptogram))) + cryptogram, "external authenticate")

    def read_records(self, sfi: int, count: int) -> list[bytes]:
        return [
            self.send(bytes((0x00, 0xB2, n, (sfi << 3) | 4, 0x00)), f"read EF{sfi:02X}/{n}")
            for n in range(1, count + 1)
        ]

    def read_holder(self) -> CardInfo:
        """Read EF05 and EF06. On 3rd-generation cards first check the card and authenticate with RKSSSE."""
        self.select_ssse()
        if self.algorithm == "sm4":
            self.require_genuine()
            self.external_authenticate(KID_READ)
        ef05 = tlv_records(self.read_records(5, 7))
        ef06 = tlv_records(self.read_records(6, 7))
        return decode_basic(ef05, ef06)

    def verify_pin(self, pin: str) -> None:
        """VERIFY the SSSE PIN; raises WrongPin (with tries left) or PinBlocked."""
        _, sw = _split(self.card.transmit(b"\x00\x20\x00\x00" + _lc(secure.pin_to_bcd(pin))))
        if sw == 0x9000:
            return
        if sw & 0xFFF0 == 0x63C0:
            raise WrongPin("verify PIN", sw)
        if sw == 0x6983:
            raise PinBlocked("verify PIN", sw)
        raise TerminalError("verify PIN", sw)

    def pin_tries_left(self) -> int:
        _, sw = _split(self.card.transmit(b"\x00\x20\x00\x00"))
        if sw == 0x6983:
            return 0
        return sw & 0x0F if sw & 0xFFF0 == 0x63C0 else -1

    def change_pin(self, old: str, new: str) -> None:
        data = secure.pin_to_bcd(old) + b"\xff" + secure.pin_to_bcd(new)
        _, sw = _split(self.card.transmit(b"\x80\x5e\x01\x00" + _lc(data)))
        if sw & 0xFFF0 == 0x63C0:
            raise WrongPin("change PIN", sw)
        if sw == 0x6983:
            raise PinBlocked("change PIN", sw)
        if sw != 0x9000:
            raise TerminalError("change PIN", sw)

    def reload_pin(self, new: str) -> None:
        """Reset a forgotten or blocked PIN (重装PIN), authorised by the PSAM's reload key."""
        bcd = secure.pin_to_bcd(new)
        mac = self._psam_compute(TYPE_PIN_RELOAD, KID_RELOAD, OP_PIN_RELOAD_MAC, bcd)
        self.send(b"\x80\x5e\x00\x00" + _lc(bcd + mac), "reload PIN")

    def _mac_write(self, header: bytes, payload: bytes, what: str) -> None:
        self.external_authenticate(KID_UPDATE)
        size = secure.block_size(self.algorithm)
        challenge = self.send(b"\x00\x84\x00\x00\x04", "get challenge")
        protected = header + bytes((len(payload) + 4,)) + payload
        mac = self._psam_compute(TYPE_MAC, KID_MAC, OP_MAC_WITH_IV, secure.zero_pad(challenge, size) + protected)
        self.send(protected + mac, what)

    def update_record(self, sfi: int, record_no: int, record: bytes) -> None:
        """MAC-protected UPDATE RECORD (CLA 04) of record ``record_no`` in EF ``sfi`` of the current DF."""
        self._mac_write(bytes((0x04, 0xDC, record_no, (sfi << 3) | 4)), record, f"update EF{sfi:02X}/{record_no}")

    def update_binary(self, sfi: int, offset: int, data: bytes) -> None:
        """MAC-protected UPDATE BINARY (CLA 04) with SFI addressing."""
        self._mac_write(bytes((0x04, 0xD6, 0x80 | sfi, offset)), data, f"update binary EF{sfi:02X}")

    def read_binary(self, sfi: int, offset: int, length: int) -> bytes:
        return self.send(bytes((0x00, 0xB0, 0x80 | sfi, offset, length & 0xFF)), f"read binary EF{sfi:02X}")


def _lc(data: bytes) -> bytes:
    return bytes((len(data),)) + data
