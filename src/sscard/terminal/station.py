"""The card reader of a kiosk or a counter (the bureau's, or a hospital's: ``sscard medical counter-settle``):
reads the card number (and the holder's ID number) from the chip through ``sscard.terminal``.

A real kiosk has a PC/SC reader (``sscard.terminal.PcscReader``) and a PSAM; in the demo and in tests the
"inserted card" is a card image file (``SSCARD_KIOSK_CARD_IMAGE``) read through the virtual reader, with a
PSAM issued by the key manager over ``SSCARD_KIOSK_KEYSTORE`` (the same keys the card maker used), so the
3rd-generation card's internal and external authentication run exactly as on hardware.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sscard.chip import load
from sscard.chip.image import ImageError
from sscard.kms import KeyManager, KmsError
from sscard.registry.regions import CITY_CODE
from sscard.terminal import PcscError, PcscReader, Reader, Terminal, TerminalError, VirtualReader
from sscard.terminal.payment import settlement_cryptogram

IMAGE_ENV = "SSCARD_KIOSK_CARD_IMAGE"
KEYSTORE_ENV = "SSCARD_KIOSK_KEYSTORE"


class NoCard(Exception):
    """No card in the reader, or it could not be read (the page asks to insert it again)."""


@dataclass(frozen=True)
class ReadCard:
    card_no: str
    id_number: str


class KioskReader(Protocol):
    """A card reader with its PSAM: the kiosk's, or the one on a counter's desk."""

    def read_card(self) -> ReadCard: ...

    def read_card_no(self) -> str: ...


class _Station:
    """What a reader with its PSAM does with the card in it; subclasses say how the card is reached."""

    keys: KeyManager

    def open_card(self) -> Reader:  # pragma: no cover - overridden
        raise NotImplementedError

    def terminal(self, card: Reader) -> Terminal:
        return Terminal(card, VirtualReader(self.keys.issue_psam(CITY_CODE), name="PSAM"))

    def read_card(self) -> ReadCard:
        card = self.open_card()
        try:
            info = self.terminal(card).read_holder()
        except (TerminalError, KmsError) as exc:
            raise NoCard(str(exc)) from exc
        finally:
            card.close()
        return ReadCard(info.card_no, info.id_number)

    def read_card_no(self) -> str:
        return self.read_card().card_no

    def prove_settlement(self, card_no: str, body: bytes, bill_date: dt.date) -> str:
        """For a settlement by card: read the card through the PSAM (it must still be ``card_no``), then have
        its chip compute the ARQC bound to ``body`` (``sscard.terminal.payment``); the ``X-Card-Presence``
        header. The card counts its ATC (an image is saved back, as a real card keeps it)."""
        card = self.open_card()
        try:
            terminal = self.terminal(card)
            if terminal.read_holder().card_no != card_no:
                raise NoCard("another card was put in the reader")
            return settlement_cryptogram(terminal, body, bill_date).header
        except (TerminalError, KmsError) as exc:
            raise NoCard(str(exc)) from exc
        finally:
            card.close()


@dataclass
class ImageCardReader(_Station):
    """The card image at ``path`` is the card in the slot; ``keys`` issues the PSAM the terminal uses."""

    path: Path
    keys: KeyManager

    def open_card(self) -> Reader:
        """The card, saved back to its image when closed (its ATC and PIN counters change as a chip's do)."""
        try:
            return VirtualReader(load(self.path), image_path=self.path)
        except (FileNotFoundError, ImageError, ValueError, KeyError) as exc:
            raise NoCard(str(exc)) from exc


@dataclass
class PcscCardReader(_Station):
    """A PC/SC reader (pcscd; e.g. "Virtual PCD 00 00" for vpcd) with the card in it."""

    reader: str
    keys: KeyManager

    def open_card(self) -> Reader:
        try:
            return PcscReader(self.reader)
        except PcscError as exc:
            raise NoCard(str(exc)) from exc


def from_environment() -> KioskReader | None:
    """The demo kiosk: a card image and a keystore named by the environment; None when not configured."""
    image = os.environ.get(IMAGE_ENV)
    if not image:
        return None
    keys = KeyManager.provisioned(Path(os.environ.get(KEYSTORE_ENV, "var/keystore.json")), CITY_CODE)
    return ImageCardReader(Path(image), keys)
