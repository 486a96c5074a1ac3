"""The bureau's clock: UTC instants for records, local (Asia/Shanghai) dates for business rules."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from sscard.config import get_settings


@lru_cache(maxsize=1)
def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_date(at: dt.datetime | None = None) -> dt.date:
    return (at or now()).astimezone(local_zone()).date()
