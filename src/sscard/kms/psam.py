"""PSAM (terminal secure access module) emulation: holds a city's keys and answers the generic PBOC PSAM
commands a terminal needs — 通用DES计算初始化 (80 1A: diversify into a session key) and 通用DES计算 (80 FA:
encrypt or MAC) — over APDUs. No command returns a key.
"""

from __future__ import annotations

from collections.abc import Mapping

from sscard.chip import apdu as sw
from sscard.chip import secure
from sscard.chip.apdu import CardError, Command, parse
from sscard.crypto import diversify

PSAM_3DES_AID = bytes.fromhex("D15600000590")  # DES environment DF01 (public PSAM layout)
PSAM_SM4_AID = bytes.fromhex("D15600000591")  # SM4 environment: AID not public, project choice

# PSAM key usage type (low 5 bits of P1) and key id (P2) -> (card key name, card kid, type).
TYPE_PIN_RELOAD, TYPE_MAC, TYPE_ENCRYPT = 0x04, 0x06, 0x07
PSAM_KEYS: dict[tuple[int, int], tuple[str, int, int]] = {
    (TYPE_ENCRYPT, 0x01): ("IRK", 0x01, TYPE_ENCRYPT),
    (TYPE_ENCRYPT, 0x04): ("UKSSSE", 0x04, TYPE_ENCRYPT),
    (TYPE_ENCRYPT, 0x0A): ("RKSSSE", 0x0A, TYPE_ENCRYPT),
    (TYPE_MAC, 0x06): ("MLK", 0x06, TYPE_MAC),
    (TYPE_PIN_RELOAD, 0x0B): ("RPK", 0x0B, TYPE_PIN_RELOAD),
}
OP_ENCRYPT, OP_PIN_RELOAD_MAC, OP_MAC_WITH_IV = 0x00, 0x02, 0x05
PSAM_ATR = bytes.fromhex("3B6C000000815053414DD15600000590")  # 12 historical bytes: "PSAM" + AID


class Psam:
    """A PSAM for one city and key version. ``transmit(apdu) -> rapdu``; never raises."""

    def __init__(self, city_code: str, keys: Mapping[tuple[str, str], bytes], version: int = 1) -> None:
        self.city_code = city_code
        self.version = version
        self.atr = PSAM_ATR
        self.__keys = dict(keys)  # (algorithm, key name) -> city key; private by convention and by API
        self._algorithm: str | None = None
        self._session: tuple[bytes, int] | None = None

    def __repr__(self) -> str:  # never show key material
        return f"Psam(city={self.city_code}, version={self.version})"

    def reset(self) -> bytes:
        self._algorithm = None
        self._session = None
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        try:
            cmd = parse(bytes(apdu))
            data = self._dispatch(cmd)
            status = sw.SW_OK
        except CardError as err:
            data, status = b"", err.sw
        except Exception:
            data, status = b"", sw.SW_UNKNOWN
        return data + status.to_bytes(2, "big")

    def _dispatch(self, cmd: Command) -> bytes:
        if (cmd.cla, cmd.ins) == (0x00, 0xA4):
            return self._select(cmd)
        if (cmd.cla, cmd.ins) == (0x80, 0x1A):
            return self._init(cmd)
        if (cmd.cla, cmd.ins) == (0x80, 0xFA):
            return self._compute(cmd)
        if cmd.cla not in (0x00, 0x80):
            raise CardError(sw.SW_CLA_NOT_SUPPORTED)
        raise CardError(sw.SW_INS_NOT_SUPPORTED)

    def _select(self, cmd: Command) -> bytes:
        if cmd.p1 != 0x04 or cmd.p2 not in (0x00, 0x0C):
            raise CardError(sw.SW_WRONG_P1P2)
        if cmd.data == PSAM_3DES_AID:
            self._algorithm = "3des"
        elif cmd.data == PSAM_SM4_AID:
            self._algorithm = "sm4"
        else:
            raise CardError(sw.SW_FILE_NOT_FOUND)
        self._session = None
        return b""

    def _init(self, cmd: Command) -> bytes:
        """80 1A P1 P2: P1 = levels<<5 | key type, P2 = key id, data = one 8-byte factor per level."""
        if self._algorithm is None:
            raise CardError(sw.SW_CONDITIONS)
        self._session = None
        levels, ktype = cmd.p1 >> 5, cmd.p1 & 0x1F
        slot = PSAM_KEYS.get((ktype, cmd.p2))
        if slot is None:
            raise CardError(sw.SW_REF_NOT_FOUND)
        if len(cmd.data) != 8 * levels:
            raise CardError(sw.SW_WRONG_LENGTH)
        key = self.__keys.get((self._algorithm, slot[0]))
        if key is None:
            raise CardError(sw.SW_REF_NOT_FOUND)
        for i in range(levels):
            key = diversify(key, cmd.data[8 * i : 8 * i + 8], self._algorithm)
        self._session = (key, ktype)
        return b""

    def _compute(self, cmd: Command) -> bytes:
        """80 FA P1 00: P1 = 00 encrypt blocks, 05 line MAC (data = IV block ‖ message), 02 RELOAD PIN MAC."""
        if self._session is None or self._algorithm is None:
            raise CardError(sw.SW_CONDITIONS)
        if cmd.p2 != 0:
            raise CardError(sw.SW_WRONG_P1P2)
        key, ktype = self._session
        alg, size = self._algorithm, secure.block_size(self._algorithm)
        if cmd.p1 == OP_ENCRYPT:
            if ktype != TYPE_ENCRYPT:
                raise CardError(sw.SW_CONDITIONS)
            if not cmd.data or len(cmd.data) % size:
                raise CardError(sw.SW_WRONG_LENGTH)
            return secure.encrypt(alg, key, cmd.data)
        if cmd.p1 == OP_MAC_WITH_IV:
            if ktype != TYPE_MAC:
                raise CardError(sw.SW_CONDITIONS)
            if len(cmd.data) <= size:
                raise CardError(sw.SW_WRONG_LENGTH)
            return secure.line_mac(alg, key, cmd.data[:size], cmd.data[size:])
        if cmd.p1 == OP_PIN_RELOAD_MAC:
            if ktype != TYPE_PIN_RELOAD:
                raise CardError(sw.SW_CONDITIONS)
            if not cmd.data:
                raise CardError(sw.SW_WRONG_LENGTH)
            return secure.reload_pin_mac(alg, key, cmd.data)
        raise CardError(sw.SW_WRONG_P1P2)
