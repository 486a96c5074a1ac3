"""Readers: the one seam between a terminal and a card. ``VirtualReader`` talks to an in-process card (or
PSAM); ``PcscReader`` goes through pyscard → pcscd, with pyscard imported only when used.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Reader(Protocol):
    """A slot with a card in it."""

    name: str

    def atr(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def close(self) -> None: ...


class _Transmitter(Protocol):
    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...


class VirtualReader:
    """A reader around an in-process card or PSAM. With ``image_path``, the card image is saved on close."""

    def __init__(self, card: _Transmitter, name: str = "sscard virtual reader", image_path: Path | None = None):
        self.name = name
        self.card = card
        self.image_path = image_path
        self._atr = card.reset()

    def atr(self) -> bytes:
        return self._atr

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.transmit(apdu)

    def close(self) -> None:
        if self.image_path is not None:
            from sscard.chip import VirtualCard, save

            if isinstance(self.card, VirtualCard):
                save(self.card, self.image_path)


class PcscError(RuntimeError):
    """PC/SC is unavailable (no pyscard, no pcscd, no such reader, no card)."""


def _pyscard_readers() -> Any:
    """``smartcard.System.readers``, imported lazily (pyscard ships no type hints, hence ``Any``)."""
    try:
        module = importlib.import_module("smartcard.System")
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PcscError("pyscard is not installed (pip install pyscard)") from exc
    return module.readers


def list_pcsc_readers() -> list[str]:
    """Names of the PC/SC readers pcscd knows about."""
    readers = _pyscard_readers()
    try:
        return [str(r) for r in readers()]
    except Exception as exc:
        raise PcscError(f"pcscd not reachable: {exc}") from exc


class PcscReader:
    """A PC/SC reader through pyscard. ``name`` may be a prefix, e.g. "Virtual PCD 00 00"."""

    def __init__(self, name: str | None = None) -> None:
        readers = _pyscard_readers()
        try:
            available = readers()
        except Exception as exc:
            raise PcscError(f"pcscd not reachable: {exc}") from exc
        chosen = [r for r in available if name is None or str(r).startswith(name)]
        if not chosen:
            raise PcscError(f"no PC/SC reader matching {name!r}; have {[str(r) for r in available]}")
        self.name = str(chosen[0])
        self._conn: Any = chosen[0].createConnection()
        try:
            self._conn.connect()
        except Exception as exc:
            raise PcscError(f"cannot connect to the card in {self.name}: {exc}") from exc

    def atr(self) -> bytes:
        return bytes(self._conn.getATR())

    def transmit(self, apdu: bytes) -> bytes:
        data, sw1, sw2 = self._conn.transmit(list(apdu))
        return bytes(data) + bytes((sw1, sw2))

    def close(self) -> None:
        try:
            self._conn.disconnect()
        except Exception:  # already gone; closing must not fail
            return
