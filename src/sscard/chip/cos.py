"""The card operating system: :class:`VirtualCard` parses C-APDUs, dispatches commands and keeps the
security state. ``transmit`` never raises — every problem becomes a status word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sscard.chip import apdu as sw
from sscard.chip.apdu import CardError, Command, parse
from sscard.chip.fs import AccessRule, DedicatedFile, ElementaryFile
from sscard.chip.tlv import ber

Handler = Callable[["VirtualCard", Command], bytes]


@dataclass(slots=True)
class PbocData:
    """Persistent data of the PBOC debit application (ADF): AIP, AFL, CDOL1 length, ATC, CVR."""

    aid: bytes
    aip: bytes
    afl: bytes
    cdol1_len: int
    atc: int = 0
    cvr: bytes = bytes.fromhex("03A00000")


@dataclass(slots=True)
class SecurityState:
    """Volatile state: verified PINs and authenticated keys, each tagged with its environment's FID."""

    env: int | None = None
    pins: set[tuple[int, int]] = field(default_factory=set)
    keys: set[tuple[int, int]] = field(default_factory=set)

    def enter(self, env: int | None) -> None:
        if env != self.env:
            self.pins.clear()
            self.keys.clear()
            self.env = env


class VirtualCard:
    """A social-security CPU card in software (SSSE + PSE). Public entry: :meth:`transmit`."""

    def __init__(self, mf: DedicatedFile, atr: bytes, generation: int, pboc: PbocData | None = None) -> None:
        self.mf = mf
        self.atr = atr
        self.generation = generation
        self.pboc = pboc
        self.current_df: DedicatedFile = mf
        self.current_ef: ElementaryFile | None = None
        self.state = SecurityState()
        self.challenge: bytes | None = None
        self.gpo_done = False
        self.last_arqc: tuple[int, bytes] | None = None  # (ATC, ARQC) of the last GENERATE AC, for issuer auth

    # -- life cycle -------------------------------------------------------------------------------------
    def reset(self) -> bytes:
        """Warm/cold reset: clear all volatile state, select the MF, return the ATR."""
        self.current_df = self.mf
        self.current_ef = None
        self.state = SecurityState()
        self.challenge = None
        self.gpo_done = False
        self.last_arqc = None
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        """Process one C-APDU and return the R-APDU (data ‖ SW1 SW2)."""
        keep_challenge = False
        try:
            cmd = parse(bytes(apdu))
            handler = _lookup(cmd)
            keep_challenge = cmd.ins == 0x84
            data = handler(self, cmd)
            status = sw.SW_OK
        except CardError as err:
            data, status = b"", err.sw
        except Exception:  # a defect must still look like a card answer, never an exception
            data, status = b"", sw.SW_UNKNOWN
        if not keep_challenge:
            self.challenge = None
        return data + status.to_bytes(2, "big")

    # -- helpers used by the command modules ------------------------------------------------------------
    @property
    def env_fid(self) -> int | None:
        env = self.current_df.environment()
        return env.fid if env is not None else None

    def enter_df(self, df: DedicatedFile) -> None:
        self.current_df = df
        self.current_ef = None
        env = df.environment()
        self.state.enter(env.fid if env is not None else None)
        if self.pboc is None or df.aid != self.pboc.aid:
            self.gpo_done = False

    def allowed(self, rule: AccessRule, mac_ok: bool = False) -> bool:
        """Evaluate an access rule against the security state of the *current* environment only."""
        mode, terms = rule.terms()
        if mode == "free":
            return True
        if mode == "never":
            return False
        env = self.env_fid
        if env is None:
            return False

        def ok(term: str) -> bool:
            if term == "pin":
                return any(e == env for e, _ in self.state.pins)
            if term.startswith("key:"):
                return (env, int(term[4:], 16)) in self.state.keys
            if term.startswith("mac:"):
                return mac_ok
            return False

        return any(ok(t) for t in terms) if mode == "any" else all(ok(t) for t in terms)

    def fci(self, df: DedicatedFile) -> bytes:
        name = df.aid or df.fid.to_bytes(2, "big")
        return ber(0x6F, ber(0x84, name) + ber(0xA5, df.fci_extra))


_TABLE: dict[int, tuple[frozenset[int], Handler]] = {}


def register(ins: int, classes: set[int]) -> Callable[[Handler], Handler]:
    """Decorator: bind a handler to an INS and the CLA bytes it accepts."""

    def deco(fn: Handler) -> Handler:
        _TABLE[ins] = (frozenset(classes), fn)
        return fn

    return deco


def _lookup(cmd: Command) -> Handler:
    if cmd.cla not in (0x00, 0x04, 0x80, 0x84):
        raise CardError(sw.SW_CLA_NOT_SUPPORTED)
    entry = _TABLE.get(cmd.ins)
    if entry is None:
        raise CardError(sw.SW_INS_NOT_SUPPORTED)
    classes, handler = entry
    if cmd.cla not in classes:
        raise CardError(sw.SW_CLA_NOT_SUPPORTED)
    return handler
