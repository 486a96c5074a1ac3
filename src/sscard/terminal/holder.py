"""Decoding of the SSSE basic files: EF05 (发卡机构数据) and EF06 (持卡人基本信息) records into plain data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CardInfo:
    """The holder-facing view of EF05 + EF06 (what iReadCardBas returns)."""

    region_code: str
    card_identification: str  # 卡识别码, hex
    card_type: str
    spec_version: str
    init_org: str
    issue_date: dt.date | None
    expiry_date: dt.date | None
    card_no: str
    id_number: str
    name: str
    sex: str
    nationality: str
    birthplace_code: str
    birth_date: dt.date | None

    def as_iread_card_bas(self, atr_historical: bytes = b"") -> str:
        """The pipe-separated string of the MOHRSS reader interface (terminal fields left empty)."""
        parts = [
            self.region_code,
            self.id_number,
            self.card_no,
            self.card_identification,
            self.name,
            atr_historical.hex().upper(),
            self.spec_version,
            self.issue_date.strftime("%Y%m%d") if self.issue_date else "",
            self.expiry_date.strftime("%Y%m%d") if self.expiry_date else "",
            "",
            "",
        ]
        return "|".join(parts) + "|"


def tlv_records(records: Iterable[bytes]) -> dict[int, bytes]:
    """Map tag → value for simple-TLV records; malformed records are skipped."""
    out: dict[int, bytes] = {}
    for rec in records:
        if len(rec) >= 2 and rec[1] == len(rec) - 2:
            out.setdefault(rec[0], rec[2:])
    return out


def _date(value: bytes | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value.hex(), "%Y%m%d").date()
    except ValueError:
        return None


def _an(value: bytes | None) -> str:
    return (value or b"").rstrip(b"\x00").decode("gb18030", errors="replace")


def _cn(value: bytes | None) -> str:
    return (value or b"").hex().upper().rstrip("F")


def decode_basic(ef05: dict[int, bytes], ef06: dict[int, bytes]) -> CardInfo:
    """Build :class:`CardInfo` from tag→value maps of EF05 and EF06; the name is 姓名 ‖ 姓名扩展."""
    ident = ef05.get(0x01, b"")
    return CardInfo(
        region_code=ident[:3].hex().upper(),
        card_identification=ident.hex().upper(),
        card_type=_an(ef05.get(0x02)),
        spec_version=_an(ef05.get(0x03)),
        init_org=_an(ef05.get(0x04)),
        issue_date=_date(ef05.get(0x05)),
        expiry_date=_date(ef05.get(0x06)),
        card_no=_an(ef05.get(0x07)),
        id_number=_an(ef06.get(0x08)),
        name=_an(ef06.get(0x09, b"").rstrip(b"\x00") + ef06.get(0x4E, b"").rstrip(b"\x00")),
        sex=_an(ef06.get(0x0A)),
        nationality=_cn(ef06.get(0x0B)),
        birthplace_code=_cn(ef06.get(0x0C)),
        birth_date=_date(ef06.get(0x0D)),
    )
