"""Social insurance money through the card's bank account: contributions in (``contributions``), benefits out
(``benefits``), and the month that runs both (``month``). Shared here: periods ("YYYY-MM"); the ledger
accounts are those of ``sscard.ledger.chart``."""

from __future__ import annotations

import datetime as dt
import re

from sscard.errors import ValidationFailed

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # YYYY-MM, for request validation (parse_period checks the year too)
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FUNDS = ("pension", "unemployment", "work_injury", "medical", "employment")


class PeriodInvalid(ValidationFailed):
    code = "FUNDS_PERIOD_INVALID"
    message_zh = "期间格式应为 YYYY-MM"
    message_en = "A period is written YYYY-MM"


def parse_period(raw: str) -> str:
    """The period in canonical form, or ``FUNDS_PERIOD_INVALID``."""
    text = raw.strip()
    match = _PERIOD.match(text)
    if not match or not 1990 <= int(match.group(1)) <= 2100:
        raise PeriodInvalid(raw, period=raw)
    return text


def period_index(period: str) -> int:
    """Months since year 0: consecutive periods differ by one."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def period_of_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(period: str, months: int) -> str:
    return period_of_index(period_index(period) + months)


def first_day(period: str) -> dt.date:
    return dt.date(int(period[:4]), int(period[5:7]), 1)


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
