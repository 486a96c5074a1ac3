"""Citizen ID numbers (公民身份号码, GB 11643-1999): check digit, birth date, sex, region, 15→18 upgrade.

The ISO 7064 MOD 11-2 check character comes from python-stdnum (``stdnum.cn.ric.calc_check_digit``). We do
not use ``stdnum.cn.ric.validate`` as a whole: it rejects a region code that did not exist in the birth
year, but numbers were assigned at registration (often decades after birth), so elderly people would be refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, cast, func, literal
from stdnum.cn import ric

from sscard.registry.errors import (
    IdBirthDateInvalid,
    IdCheckDigitInvalid,
    IdFormatInvalid,
    IdRegionUnknown,
)
from sscard.registry.regions import is_known_region

MALE, FEMALE = "1", "2"  # GB/T 2261.1 sex codes
# Chinese input methods often type full-width digits (０-９) and Ｘ: fold them to ASCII, then accept ASCII only
# (str.isdigit() would let through superscripts and other scripts' digits).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９ＸｘＸ", "0123456789XXX")
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_FIFTEEN = re.compile(r"[0-9]{15}")


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str
    region_code: str
    birth_date: dt.date
    sex: str
    upgraded_from: str | None = None

    def masked(self) -> str:
        return mask(self.value)


def mask(number: str) -> str:
    """4418**********123X style: never show a whole ID number in logs or UIs."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def check_digit(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999
_CHECKS = "10X98765432"


def check_digit_ok_sql(number: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL (PostgreSQL and SQLite) that is true when an 18-character number of 17 digits and a check character
    has the right check character (``check_digit``), for millions of staged numbers at once; a caller
    evaluates it only for the few that matched nobody."""
    total = sum((cast(func.substr(number, i + 1, 1), Integer) * w for i, w in enumerate(_WEIGHTS)),
                start=literal(0))
    return func.substr(number, 18, 1) == func.substr(literal(_CHECKS), total % 11 + 1, 1)


def upgrade_15(number: str) -> str:
    """A 15-digit GB 11643-1989 number → 18 digits: insert the century "19" and append the check digit."""
    if not _FIFTEEN.fullmatch(number):
        raise IdFormatInvalid("a legacy number has 15 digits")
    body = number[:6] + "19" + number[6:]
    return body + check_digit(body)


def parse(raw: str, today: dt.date | None = None) -> IdNumber:
    """Validate an ID number and return its parts; 15-digit numbers are upgraded. Raises a typed error."""
    number = (raw or "").translate(_FULL_WIDTH).strip().upper().replace(" ", "")
    upgraded_from = None
    if len(number) == 15:
        upgraded_from = number
        number = upgrade_15(number)
    if not _EIGHTEEN.fullmatch(number):
        raise IdFormatInvalid("an ID number has 18 characters: 17 digits and a digit or X")
    if number[17] != check_digit(number[:17]):
        raise IdCheckDigitInvalid(f"expected check character {check_digit(number[:17])}")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise IdBirthDateInvalid("the birth date in the number is not a calendar date") from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1850:
        raise IdBirthDateInvalid("the birth date in the number is in the future or before 1850")
    region = number[:6]
    if not is_known_region(region):
        raise IdRegionUnknown(f"region code {region} never existed in GB/T 2260", region=region)
    sex = MALE if int(number[16]) % 2 == 1 else FEMALE
    return IdNumber(number, region, birth, sex, upgraded_from)
