"""Builders for the transition tests: valid ID numbers in bulk, persons loaded in bulk (test setup only, as the
benchmarks do), legacy card lines and LMC1 files MAC'd with the demo partner key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from sscard import bulksql
from sscard.db import Database
from sscard.registry.models import Person
from sscard.transition import legacy_file
from sscard.transition.legacy_file import Line

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "transition"
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def check_digit(body: str) -> str:
    """GB 11643's check character (the same as ``idnumber.check_digit``, inlined: a million calls)."""
    return _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def id_numbers(n: int, region: str = "441821", first_birth: dt.date = dt.date(1931, 1, 1)) -> list[str]:
    """``n`` distinct valid 18-character ID numbers (500 a birth day)."""
    out = []
    for i in range(n):
        body = f"{region}{first_birth + dt.timedelta(days=i // 500):%Y%m%d}{(i % 500) * 2 + 1:03d}"
        out.append(body + check_digit(body))
    return out


def load_persons(db: Database, numbers: Sequence[str], name: str = "迁移测试") -> dict[str, int]:
    """Registry rows for ``numbers`` in bulk (test setup); ID number → person id."""
    now = dt.datetime.now(dt.UTC)
    rows = [{"id_number": n, "name": name, "sex": "1" if int(n[16]) % 2 else "2",
             "birth_date": dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14])), "ethnicity": "01",
             "region_code": n[:6], "living_status": "1", "created_at": now, "updated_at": now, "version": 1}
            for n in numbers]
    with db.unit_of_work() as s:
        for start in range(0, len(rows), 20_000):
            bulksql.insert_rows(s, Person.__table__, rows[start:start + 20_000])
    with db.unit_of_work() as s:
        wanted = set(numbers)
        return {n: i for n, i in s.execute(select(Person.id_number, Person.id)) if n in wanted}


def lines_for(numbers: Sequence[str], prefix: str = "QY", balance: int | None = None) -> list[Line]:
    """One old card per number: ``<prefix><8 digits>``, balances 0…9,999,999 fen spread over the lines."""
    return [Line(i, f"{prefix}{i:08d}", number, "迁移测试", balance if balance is not None else (i * 7919) % 10_000_000,
                 "1") for i, number in enumerate(numbers, start=1)]


def make_file(lines: Sequence[Line], file_id: str = "QY-TEST-1", source: str = "QYMED", encoding: str = "UTF-8",
              as_of: str = "20261130", created: str = "20261201080000") -> bytes:
    header = legacy_file.new_header(source, file_id, as_of, lines, encoding, created)
    return legacy_file.write_file(header, lines)
