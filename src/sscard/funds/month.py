"""The month run (``sscard funds run 2014-07``): contributions withheld first, then benefits paid out.

Both halves are resumable on their own (state per batch and step), so running the month again after a crash
continues where it stopped. The contributions half is the contributions package's ``run_withholding_month``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from sscard.access import Actor, Permission
from sscard.db import Database
from sscard.funds import parse_period
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.schemas import MonthOut
from sscard.funds.contributions.withholding import run_withholding_month

Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in all)


class MonthRunOut(BaseModel):
    period: str
    contributions: dict[str, Any] | None = Field(description="the withholding run's result, as it reports it")
    contributions_skipped: str | None = Field(default=None, description="why contributions did not run")
    benefits: MonthOut


def run_month(db: Database, actor: Actor, period: str, progress: Progress | None = None,
              contributions: bool = True) -> MonthRunOut:
    """Run (or resume) the month: withholding, then disbursement. Each half checks FUNDS_RUN itself."""
    actor.require(Permission.FUNDS_RUN)
    period = parse_period(period)
    contributed: dict[str, Any] | None = None
    skipped: str | None = None
    if contributions:
        contributed = run_withholding_month(db, actor, period, progress).model_dump(mode="json")
    else:
        skipped = "contributions not asked for (--benefits-only)"
    paid = benefits.run_disbursement_month(db, actor, period, progress)
    return MonthRunOut(period=period, contributions=contributed, contributions_skipped=skipped, benefits=paid)
