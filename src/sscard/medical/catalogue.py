"""The medical-insurance catalogue (医保目录): drugs, services and materials with their class 甲/乙/丙, the unit
price cap (最高限价/支付标准) and an optional 乙类先行自付 rate of their own; every row effective-dated."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sscard.medical.terms import PLAIN_TEXT, BasisPoints, CatalogueClass, Fen, ItemType


class CatalogueItem(BaseModel):
    """One catalogue row (目录项). ``price_cap_fen`` is per unit; None means no cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(min_length=1, max_length=64, pattern=PLAIN_TEXT)]
    name: Annotated[str, Field(max_length=200, pattern=PLAIN_TEXT)]
    item_type: ItemType
    catalogue_class: CatalogueClass
    price_cap_fen: Fen | None = None
    yi_self_pay_bp: BasisPoints | None = None  # overrides the policy's rate for this 乙类 item
    effective_from: dt.date = dt.date.min
    effective_to: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"{self.code}: effective_to is before effective_from")
        if self.yi_self_pay_bp is not None and self.catalogue_class is not CatalogueClass.YI:
            raise ValueError(f"{self.code}: only 乙类 items carry a first self-pay rate")
        return self

    def in_effect_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class Catalogue:
    """The catalogue, looked up by item code on a date. Rows of one code must not overlap in time."""

    def __init__(self, items: list[CatalogueItem]) -> None:
        by_code: dict[str, list[CatalogueItem]] = defaultdict(list)
        for item in items:
            by_code[item.code].append(item)
        for code, rows in by_code.items():
            rows.sort(key=lambda r: r.effective_from)
            for earlier, later in itertools.pairwise(rows):
                if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                    raise ValueError(f"catalogue rows for {code} overlap in time")
        self._by_code = dict(by_code)

    def items(self) -> list[CatalogueItem]:
        """Every row, by code and then date."""
        return [row for code in sorted(self._by_code) for row in self._by_code[code]]

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._by_code.values())

    def item(self, code: str, on: dt.date) -> CatalogueItem | None:
        return next((r for r in self._by_code.get(code, ()) if r.in_effect_on(on)), None)
