"""Assessment arithmetic (核定): bases, amounts and their pool / personal-account parts, in integer fen.

Every number comes from effective-dated policy parameters (``contrib.*``, defined in ``sscard.policy.parameters``)
read for the first day of the period. Rounding, documented once: a product ``x × bp / 10000`` is rounded half up
to the fen (``bp_of``); the base is rounded first, then clamped into the city's floor and ceiling; the total and the
personal part are each rounded from the base, and the pool part is the total minus the personal part, so the
parts always add up to the total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from sscard.funds import first_day
from sscard.funds.contributions.errors import BaseChoiceInvalid, LevelInvalid
from sscard.funds.contributions.terms import BASE_SCHEMES, FLAT_SCHEMES, LEVEL_SCHEMES, ContribScheme
from sscard.policy import service as policy
from sscard.policy.errors import PolicyInvalid

BP = 10_000


@dataclass(frozen=True)
class Split:
    base_fen: int | None
    rate_bp: int | None
    level: int | None
    amount_fen: int
    pool_fen: int
    personal_fen: int


@dataclass(frozen=True)
class Rates:
    """The contribution policy in effect for one period."""

    avg_wage_fen: int
    ratio_min_bp: int
    ratio_max_bp: int
    floor_fen: int
    ceiling_fen: int
    scheme_rate_bp: dict[ContribScheme, int]  # total rate of each base scheme
    scheme_personal_bp: dict[ContribScheme, int]  # the part of it credited to a personal account
    resident_levels_fen: tuple[int, ...]  # level 1..n, monthly amount
    resident_pension_pool_bp: int  # share of a resident's level that goes to the pool (0: all personal)
    resident_medical_fen: int
    employer_bp: dict[str, int]  # per insurance type, for employer files
    employee_bp: dict[str, int]
    arrears_suspend_months: int


def bp_of(amount_fen: int, bp: int) -> int:
    """``amount × bp / 10000`` rounded half up to the fen (amounts and rates are never negative)."""
    return (amount_fen * bp + BP // 2) // BP


def base_from_ratio(avg_wage_fen: int, ratio_bp: int, floor_fen: int, ceiling_fen: int) -> int:
    """The monthly base for a chosen share of the average wage, within the city's floor and ceiling."""
    return min(max(bp_of(avg_wage_fen, ratio_bp), floor_fen), ceiling_fen)


def split_amount(base_fen: int, rate_bp: int, personal_bp: int) -> tuple[int, int, int]:
    """(total, pool, personal) for a base at a rate of which ``personal_bp`` goes to the personal account."""
    total = bp_of(base_fen, rate_bp)
    personal = bp_of(base_fen, personal_bp)
    return total, total - personal, personal


def check_ratio(rates: Rates, ratio_bp: int) -> None:
    if not rates.ratio_min_bp <= ratio_bp <= rates.ratio_max_bp:
        raise BaseChoiceInvalid(f"{ratio_bp / 100:.2f} % not in {rates.ratio_min_bp / 100:.0f}–"
                                f"{rates.ratio_max_bp / 100:.0f} %", ratio_bp=ratio_bp)


def check_level(rates: Rates, level: int) -> None:
    if not 1 <= level <= len(rates.resident_levels_fen):
        raise LevelInvalid(f"level {level}; levels are 1–{len(rates.resident_levels_fen)}", level=level)


def assess(rates: Rates, scheme: ContribScheme, base_ratio_bp: int | None, level: int | None) -> Split:
    """What one enrolment owes for the period ``rates`` belongs to."""
    if scheme in BASE_SCHEMES:
        assert base_ratio_bp is not None
        # A choice made under last year's bounds stays valid; it is clamped into this year's.
        ratio = min(max(base_ratio_bp, rates.ratio_min_bp), rates.ratio_max_bp)
        base = base_from_ratio(rates.avg_wage_fen, ratio, rates.floor_fen, rates.ceiling_fen)
        rate = rates.scheme_rate_bp[scheme]
        total, pool, personal = split_amount(base, rate, rates.scheme_personal_bp[scheme])
        return Split(base, rate, None, total, pool, personal)
    if scheme in LEVEL_SCHEMES:
        assert level is not None
        check_level(rates, level)
        amount = rates.resident_levels_fen[level - 1]
        pool = bp_of(amount, rates.resident_pension_pool_bp)
        return Split(None, None, level, amount, pool, amount - pool)
    if scheme in FLAT_SCHEMES:
        return Split(None, None, None, rates.resident_medical_fen, rates.resident_medical_fen, 0)
    raise AssertionError(scheme)


INSURANCE_TYPES = ("pension", "medical", "unemployment")


def load_rates(session: Session, period: str) -> Rates:
    """The policy in effect on the first day of ``period`` (``POLICY_MISSING`` if a number is not set)."""
    on = first_day(period)

    def get(name: str) -> int:
        return policy.get_int(session, f"contrib.{name}", on)

    count = get("resident_pension.levels")
    rates = Rates(
        avg_wage_fen=get("avg_wage_fen"), ratio_min_bp=get("base_ratio_min_bp"), ratio_max_bp=get("base_ratio_max_bp"),
        floor_fen=get("base_floor_fen"), ceiling_fen=get("base_ceiling_fen"),
        scheme_rate_bp={s: get(f"{s.value}.rate_bp") for s in BASE_SCHEMES if s is not ContribScheme.UNEMPLOYMENT}
        | {ContribScheme.UNEMPLOYMENT: get("unemployment.rate_bp")},
        scheme_personal_bp={ContribScheme.FLEX_PENSION: get("flex_pension.personal_bp"),
                            ContribScheme.EMPLOYEE_MEDICAL: get("employee_medical.personal_bp"),
                            ContribScheme.UNEMPLOYMENT: 0},
        resident_levels_fen=tuple(get(f"resident_pension.level_{n}") for n in range(1, count + 1)),
        resident_pension_pool_bp=get("resident_pension.pool_bp"),
        resident_medical_fen=get("resident_medical.amount_fen"),
        employer_bp={t: get(f"employer.{t}_bp") for t in INSURANCE_TYPES},
        employee_bp={t: get(f"employee.{t}_bp") for t in INSURANCE_TYPES},
        arrears_suspend_months=get("arrears_suspend_months"),
    )
    # Parameters are set one at a time; a combination that cannot work is refused when it is used.
    if rates.floor_fen > rates.ceiling_fen or rates.ratio_min_bp > rates.ratio_max_bp:
        raise PolicyInvalid(f"contribution base bounds cross on {on.isoformat()}")
    if any(rates.scheme_personal_bp[s] > rate for s, rate in rates.scheme_rate_bp.items()):
        raise PolicyInvalid(f"a personal-account share exceeds its rate on {on.isoformat()}")
    return rates
