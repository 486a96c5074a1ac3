"""Valid, unique ID numbers and persons for tests, built through the services."""

from __future__ import annotations

import datetime as dt
import itertools
import os

from sscard.registry.idnumber import check_digit

DIVISION_CODES = ["441802", "441803", "441881", "441882", "441821", "441823", "441825", "441826"]
_counter = itertools.count()
# Different xdist workers use different birth years, so numbers never clash within one database either.
_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def next_id_number(region: str | None = None, male: bool | None = None) -> str:
    n = next(_counter)
    region = region or DIVISION_CODES[n % len(DIVISION_CODES)]
    birth = dt.date(1940 + _worker * 7, 1, 1) + dt.timedelta(days=n // 400)
    order = (n % 400) * 2 + (1 if (male if male is not None else n % 2 == 0) else 2)
    body = f"{region}{birth:%Y%m%d}{order:03d}"
    return body + check_digit(body)
