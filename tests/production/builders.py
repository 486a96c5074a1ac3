"""Collection and population files for production tests, written as real CSV/Parquet with real photo files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sscard.production.imports import COLLECTION_COLUMNS, POPULATION_COLUMNS
from sscard.registry.idnumber import parse


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI and an SOF0 segment carrying the size (all the import reads)."""
    return b"\xff\xd8\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03" + b"\x01\x11\x00" * 3


@dataclass
class Person:
    id_number: str
    name: str
    region_code: str
    living_status: str = "1"
    photo: tuple[int, int] | None = (358, 441)
    collected: dict[str, str] = field(default_factory=dict)  # collected values that differ from the register

    def register_row(self) -> dict[str, str]:
        parsed = parse(self.id_number)
        return {"id_number": self.id_number, "name": self.name, "sex": parsed.sex,
                "birth_date": f"{parsed.birth_date:%Y%m%d}", "region_code": self.region_code,
                "living_status": self.living_status}

    def collection_row(self) -> dict[str, str]:
        row = self.register_row()
        out = {"id_number": row["id_number"], "name": row["name"], "sex": row["sex"], "birth_date": row["birth_date"],
               "ethnicity": "01", "region_code": row["region_code"], "phone": "13800000000", "source": "outlet",
               "employer_uscc": "", "photo_ref": f"{self.id_number}.jpg" if self.photo else ""}
        out.update(self.collected)
        return out


def csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_photos(people: list[Person], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for p in people:
        if p.photo:
            (root / f"{p.id_number}.jpg").write_bytes(jpeg_header(*p.photo))


def collection_csv(people: list[Person]) -> bytes:
    return csv_bytes(COLLECTION_COLUMNS, [p.collection_row() for p in people])


def population_csv(people: list[Person]) -> bytes:
    return csv_bytes(POPULATION_COLUMNS, [p.register_row() for p in people])


def people(new_id: Callable[..., str], n: int, region: str = "441802", prefix: str = "张") -> list[Person]:
    return [Person(new_id(region=region), f"{prefix}{_COMMON[i % len(_COMMON)]}{_COMMON[(i * 7 + 3) % len(_COMMON)]}",
                   region) for i in range(n)]


_COMMON = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"  # all in GB2312


def today() -> dt.date:
    return dt.date.today()
