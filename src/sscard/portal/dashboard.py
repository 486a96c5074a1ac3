"""Aggregates for the administrator dashboard that no owning package offers yet: settlement volumes and
amounts by clearing day (medical). Aggregates only, no personal data; ``stats.read``."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import func, select

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.db_sums import combined, exact_sum
from sscard.medical.models import Settlement


class DayVolume(BaseModel):
    day: dt.date
    settlements: int
    total_fen: int
    fund_paid_fen: int
    reversed: int


def settlements_by_day(db: Database, actor: Actor, days: int = 31) -> list[DayVolume]:
    """Settlements per clearing day over the last ``days`` local days (reversed ones counted apart)."""
    actor.require(Permission.STATS_READ)
    since = clock.local_date() - dt.timedelta(days=days - 1)
    settled = Settlement.status == "settled"
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Settlement.settled_on, func.count().filter(settled),
                   *exact_sum(Settlement.total_fen, settled), *exact_sum(Settlement.fund_paid_fen, settled),
                   func.count().filter(Settlement.status == "reversed"))  # sums that never overflow (SQLite)
            .where(Settlement.settled_on >= since).group_by(Settlement.settled_on).order_by(Settlement.settled_on))
        out = [DayVolume(day=d, settlements=n, total_fen=combined(t_hi, t_lo), fund_paid_fen=combined(f_hi, f_lo),
                         reversed=r)
               for d, n, t_hi, t_lo, f_hi, f_lo, r in rows]
        audit.record(session, actor, "stats.settlements_by_day", "stats", "settlements", None, {"days": days})
        return out
