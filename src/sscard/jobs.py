"""Scheduled jobs (``sscard jobs run``, ``POST /api/v1/jobs/run``): everything that happens because time passed."""

from __future__ import annotations

import datetime as dt

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.db import Database
from sscard.production import progress


def run_due(db: Database, actor: Actor, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every job that is due at ``now``; returns a count per job."""
    actor.require(Permission.JOBS_RUN)
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    done = {"temporary_losses_lapsed": cards.lapse_temporary_losses(db, actor, now),
            "unactivated_cards_sealed": progress.seal_overdue(db, actor, now)}
    # Last, so that the checkpoint covers what the jobs just wrote; only where an anchor directory is set.
    if audit.anchoring():
        done["audit_anchored"] = int(audit.anchor(db, actor) is not None)
    return done
