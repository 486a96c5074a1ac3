"""Builders for the feed tests: FEED1 files sealed under the demo keys, dropped into a partner's spool."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from pathlib import Path

from sscard.exchange.feeds import formats
from sscard.exchange.feeds.formats import Line
from sscard.kms.partners import PartnerKeys

RING = PartnerKeys.demo_ring()
KIND_OF = {"dept:PSB": "PSCHG", "dept:CIVIL": "CREM", "dept:EDU": "ROLL"}
_ivs = count(1)


def lines(*rows: tuple[str, ...]) -> list[Line]:
    """``(type, field, …)`` rows → numbered lines."""
    return [Line(i, row[0], tuple(row[1:])) for i, row in enumerate(rows, start=1)]


def plain(partner: str, seq: int, rows: Sequence[Line], kind: str | None = None, file_id: str | None = None,
          encoding: str = "UTF-8") -> bytes:
    kind = kind or KIND_OF[partner]
    header = formats.new_header(partner, kind, file_id or f"{partner[5:]}-{kind}-{seq:04d}", seq, rows, encoding,
                                "20260106020000")
    return formats.write_plain(header, rows)


def sealed(partner: str, seq: int, rows: Sequence[Line], kind: str | None = None, file_id: str | None = None,
           ring: PartnerKeys = RING) -> bytes:
    return formats.seal(plain(partner, seq, rows, kind, file_id), ring, iv=next(_ivs).to_bytes(16, "big"))


def drop(spool_in: Path, name: str, data: bytes) -> Path:
    spool_in.mkdir(parents=True, exist_ok=True)
    path = spool_in / name
    path.write_bytes(data)
    return path
