"""The month run (``sscard funds run 2014-07``): contributions withheld first, then benefits paid out.

Both halves are resumable on their own (state per batch and step), so running the month again after a crash
continues where it stopped. The contributions half is the contributions package's ``run_withholding_month``;
when that package is not installed the month runs benefits only and says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from sscard.auth.roles import Actor, Permission
from sscard.db import Database
from sscard.funds import parse_period
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.schemas import MonthOut

Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in all)
_CONTRIBUTION_MODULES = ("sscard.funds.contributions.service", "sscard.funds.contributions.withholding")


class MonthRunOut(BaseModel):
    period: str
    contributions: dict[str, Any] | None = Field(description="the withholding run's result, as it reports it")
    contributions_skipped: str | None = Field(default=None, description="why contributions did not run")
    benefits: MonthOut


def withholding_runner() -> Callable[..., Any] | None:
    """The contributions package's ``run_withholding_month``, or None when it is not there."""
    for name in _CONTRIBUTION_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        runner = getattr(module, "run_withholding_month", None)
        if callable(runner):
            return runner  # type: ignore[no-any-return]  # getattr of a module is Any by nature
    return None


def run_month(db: Database, actor: Actor, period: str, progress: Progress | None = None,
              contributions: bool = True) -> MonthRunOut:
    """Run (or resume) the month: withholding, then disbursement. Each half checks FUNDS_RUN itself."""
    actor.require(Permission.FUNDS_RUN)
    period = parse_period(period)
    contributed: dict[str, Any] | None = None
    skipped: str | None = None
    runner = withholding_runner() if contributions else None
    if not contributions:
        skipped = "contributions not asked for (--benefits-only)"
    elif runner is None:
        skipped = "the contributions package is not installed: benefits only"
    else:
        result = runner(db, actor, period, progress)
        contributed = result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)
    paid = benefits.run_disbursement_month(db, actor, period, progress)
    return MonthRunOut(period=period, contributions=contributed, contributions_skipped=skipped, benefits=paid)
