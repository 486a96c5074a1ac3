"""Aggregated, de-identified statistics of the health index for the health department: encounters by division
(县区 of the patient's residence), month and type. Cells smaller than ``health.stats_min_cell`` are suppressed
(count None), so that no cell points at a few people. No person-level data leaves here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.health.models import HealthEncounter, HealthPatient
from sscard.policy import service as policy


@dataclass(frozen=True, slots=True)
class Cell:
    division: str
    month: str  # YYYY-MM
    encounter_type: str
    count: int | None  # None: fewer than the smallest published count


def encounter_counts(db: Database, actor: Actor, first: dt.date, last: dt.date) -> list[Cell]:
    """Encounters dated ``first``..``last`` (inclusive), counted by division, month and type."""
    with db.unit_of_work() as session:
        return encounter_counts_in(session, actor, first, last)


def encounter_counts_in(session: Session, actor: Actor, first: dt.date, last: dt.date) -> list[Cell]:
    """``encounter_counts`` in the caller's transaction (a department's answer is read in the transaction of its
    access record)."""
    actor.require(Permission.HEALTH_STATS)
    smallest = policy.get_int(session, "health.stats_min_cell", clock.local_date())
    rows = session.execute(
        select(HealthPatient.division, HealthEncounter.encounter_date, HealthEncounter.encounter_type,
               func.count())
        .join(HealthPatient, HealthPatient.id == HealthEncounter.patient_id)
        .where(HealthEncounter.encounter_date >= first, HealthEncounter.encounter_date <= last)
        .group_by(HealthPatient.division, HealthEncounter.encounter_date, HealthEncounter.encounter_type)).all()
    cells: dict[tuple[str, str, str], int] = {}
    for division, day, kind, n in rows:
        key = (division, f"{day:%Y-%m}", kind)
        cells[key] = cells.get(key, 0) + int(n)
    audit.record_read(session, actor, "health.stats.read", "health_index", "encounters", purpose="statistics",
                      first=first.isoformat(), last=last.isoformat(), cells=len(cells))
    return [Cell(d, m, k, n if n >= smallest else None) for (d, m, k), n in sorted(cells.items())]
