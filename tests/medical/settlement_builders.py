"""Builders for settlement tests: a small catalogue, one-rule policies, bills and persons with plain defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.engine import settle
from sscard.medical.engine_schemas import Bill, BillLine, PersonContext, Split
from sscard.medical.policy import BenefitRule, Policy

DAY = dt.date(2013, 6, 30)

# code → (item_type, class, price_cap_fen, yi_self_pay_bp)
ITEMS: dict[str, tuple[str, str, int | None, int | None]] = {
    "JIA": ("drug", "甲", None, None),
    "JIA-CAP": ("service", "甲", 5000, None),  # 5,000 fen per unit at most
    "YI": ("drug", "乙", None, None),  # the policy's 乙类 rate
    "YI-OWN": ("material", "乙", None, 2000),  # its own 20 %
    "YI-CAP": ("drug", "乙", 10000, None),
    "BING": ("drug", "丙", None, None),
}


def catalogue() -> Catalogue:
    return Catalogue([CatalogueItem(code=code, name=f"item {code}", item_type=t, catalogue_class=c,
                                    price_cap_fen=cap, yi_self_pay_bp=yi)
                      for code, (t, c, cap, yi) in ITEMS.items()])


def rule(**overrides: Any) -> BenefitRule:
    data: dict[str, Any] = {"deductible_fen": 0, "annual_cap_fen": 10**12}
    data.update(overrides)
    if "ratio_bands" not in data:
        data.setdefault("ratio_bp", 10000)
    return BenefitRule.model_validate(data)


def policy(*rules: BenefitRule, **overrides: Any) -> Policy:
    data: dict[str, Any] = {"policy_id": "T", "effective_from": dt.date(2013, 1, 1), "yi_self_pay_bp": 1000,
                            "rules": list(rules) or [rule()]}
    data.update(overrides)
    return Policy.model_validate(data)


def line(code: str, amount: int, quantity: int | str = 1, **kw: Any) -> BillLine:
    q = Decimal(quantity)
    unit = amount // int(q) if q == int(q) else amount
    return BillLine(code=code, quantity=q, unit_price_fen=unit, **kw)


def bill(*lines: BillLine, **overrides: Any) -> Bill:
    data: dict[str, Any] = {"date": DAY, "visit_type": "inpatient", "hospital_level": "3", "lines": list(lines)}
    data.update(overrides)
    return Bill.model_validate(data)


def person(**overrides: Any) -> PersonContext:
    data: dict[str, Any] = {"scheme": "employee", "person_type": "in_service"}
    data.update(overrides)
    return PersonContext.model_validate(data)


def run(the_bill: Bill, the_rule: BenefitRule | None = None, who: PersonContext | None = None,
        **policy_overrides: Any) -> Split:
    rules = [the_rule] if the_rule is not None else []
    return settle(the_bill, policy(*rules, **policy_overrides), catalogue(), who or person())
