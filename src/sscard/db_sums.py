"""Sums of BIGINT amount columns that cannot overflow on either database.

SQLite's SUM() raises "integer overflow" once a total passes 2^63 - 1 (PostgreSQL's SUM(bigint) is a NUMERIC and
never does). ``exact_sum`` sums the high and the low 32 bits of each value apart — each partial sum stays within
a BIGINT for up to 2^31 rows — and ``combined`` joins them in Python, whose integers have no limit: exact on
both databases, one query, no float (SQLite's TOTAL() would round).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute

_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1


def exact_sum(column: ColumnElement[Any] | InstrumentedAttribute[Any], where: ColumnElement[bool] | None = None,
              ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Two aggregate expressions (high part, low part) to select; ``combined`` of their values is the sum.
    ``where``: an aggregate FILTER (only the rows it holds for are summed)."""
    high = column.op(">>")(literal_column(str(_LOW_BITS)))  # constants inline: bigint >> int4, bigint & bigint
    low = column.op("&")(literal_column(str(_LOW_MASK)))
    if where is None:
        return func.coalesce(func.sum(high), 0), func.coalesce(func.sum(low), 0)
    return func.coalesce(func.sum(high).filter(where), 0), func.coalesce(func.sum(low).filter(where), 0)


def combined(high: Any, low: Any) -> int:
    """The exact sum from the two parts ``exact_sum`` selected (NULL/None counts as 0; PostgreSQL gives Decimal)."""
    return (int(high or 0) << _LOW_BITS) + int(low or 0)
