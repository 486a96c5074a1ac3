"""Sample holder data (test data only, valid GB 11643 check digits) for demos, the CLI, benches and tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sscard.chip.personalise import HolderData

if TYPE_CHECKING:
    from sscard.chip.cos import VirtualCard

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def sample_holder(generation: int = 3, serial: int = 1, **overrides: Any) -> HolderData:
    """A plausible holder in 深圳 (440300); ``serial`` varies the ID number and card number."""
    body = f"440304199001{(serial % 28) + 1:02d}{serial % 1000:03d}"
    base = HolderData(
        id_number=body + id_check_char(body),
        name="张三",
        sex="1",
        birth_date=dt.date(1990, 1, (serial % 28) + 1),
        nationality="01",
        region_code="440300",
        card_no=f"A{serial % 10**8:08d}",
        issue_date=dt.date(2024, 1, 1),
        expiry_date=dt.date(2034, 1, 1),
        generation=generation,
    )
    return dataclasses.replace(base, **overrides) if overrides else base


CardFactory = Callable[..., "tuple[VirtualCard, HolderData]"]
"""Type of a test/bench fixture that personalises a card: ``make(generation, **holder_overrides)``."""
