"""Reading the parameter in effect on a date, and setting new values (administrators only, audited).

History is appended, never rewritten. The rule for a new value, with "today" the bureau's local date
(``settings.timezone``, :func:`sscard.clock.local_date`):

- a value effective before today is refused (``POLICY_BACKDATED``): what was in effect stays what was in effect;
- a value for a date that already has one is refused while that date is today or earlier (``POLICY_IN_EFFECT``);
  for a future date it is appended as the next version of that date, the earlier version kept (and audited);
- the value in effect on a day is the latest version of the latest date on or before it.

A fresh database (no person registered yet) may be given its past schedule once through :func:`load_initial`,
the sanctioned path for seeds, imports at commissioning and test worlds; no API, page or CLI command calls it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import bulksql, clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.policy.errors import (
    PolicyBackdated,
    PolicyConflict,
    PolicyHistoryClosed,
    PolicyInEffect,
    PolicyInvalid,
    PolicyMissing,
)
from sscard.policy.models import PolicyParameter
from sscard.policy.parameters import KNOWN
from sscard.registry.models import Person

# Prebuilt (sscard.bulksql): read on hot paths (a remote settlement's care rule), where building the select
# each time was a visible share of the home centre's CPU per message.
_GET_INT = (select(PolicyParameter.value)
            .where(PolicyParameter.name == bindparam("name"), PolicyParameter.effective_from <= bindparam("on"))
            .order_by(PolicyParameter.effective_from.desc(), PolicyParameter.version.desc())
            .limit(1))


def get_int(session: Session, name: str, on: dt.date) -> int:
    if session.new:
        session.flush()  # a parameter added in this transaction is read back (the prebuilt query does not autoflush)
    rows = bulksql.execute(session, _GET_INT, {"name": name, "on": on})
    if not rows:
        raise PolicyMissing(f"{name} on {on.isoformat()}", name=name)
    return int(rows[0][0])


def _check(name: str, value: int) -> None:
    spec = KNOWN.get(name)
    if spec is None:
        raise PolicyInvalid(f"unknown parameter {name}", name=name)
    if not spec.minimum <= value <= spec.maximum:
        raise PolicyInvalid(f"{name} must be between {spec.minimum} and {spec.maximum}", name=name)


def set_parameter(db: Database, actor: Actor, name: str, value: int, effective_from: dt.date,
                  note: str | None = None) -> PolicyParameter:
    """Append a value of ``name`` effective from ``effective_from`` (today or later; see the module's rule)."""
    actor.require(Permission.POLICY_ADMIN)
    _check(name, value)
    today = clock.local_date()
    if effective_from < today:
        raise PolicyBackdated(f"{name} from {effective_from.isoformat()} is before today ({today.isoformat()})",
                              name=name, today=today.isoformat())
    with db.unit_of_work() as session:
        latest = session.execute(
            select(PolicyParameter).where(PolicyParameter.name == name,
                                          PolicyParameter.effective_from == effective_from)
            .order_by(PolicyParameter.version.desc()).limit(1)
        ).scalar_one_or_none()
        if latest is not None and effective_from <= today:
            raise PolicyInEffect(f"{name} from {effective_from.isoformat()} is in effect", name=name)
        before = {"value": latest.value, "version": latest.version, "note": latest.note} if latest else None
        row = PolicyParameter(name=name, value=str(value), effective_from=effective_from, note=note,
                              version=latest.version + 1 if latest else 1, created_by=actor.username)
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:
            raise PolicyConflict(f"{name} from {effective_from.isoformat()}", name=name) from exc
        audit.record(session, actor, "policy.set", "policy", f"{name}@{effective_from.isoformat()}", before,
                     {"value": str(value), "effective_from": effective_from.isoformat(), "version": row.version,
                      "note": note})
        return row


@dataclass(frozen=True)
class InitialValue:
    name: str
    value: int
    effective_from: dt.date
    note: str | None = None


def load_initial(db: Database, actor: Actor, values: list[InitialValue]) -> list[PolicyParameter]:
    """Give a fresh database its past schedule: rows of any date, while no person is registered.

    Each value is appended as the next version of its date (nothing already stored changes) and audited as
    ``policy.initial_load``. Once the registry holds a person, decisions have been taken under the policy in
    effect and this is refused (``POLICY_HISTORY_CLOSED``); :func:`set_parameter` is the only way on.
    """
    actor.require(Permission.POLICY_ADMIN)
    for v in values:
        _check(v.name, v.value)
    with db.unit_of_work() as session:
        if session.execute(select(Person.id).limit(1)).first() is not None:
            raise PolicyHistoryClosed(f"{len(values)} historical value(s) refused")
        rows: list[PolicyParameter] = []
        for v in values:
            top = session.execute(
                select(PolicyParameter.version).where(PolicyParameter.name == v.name,
                                                      PolicyParameter.effective_from == v.effective_from)
                .order_by(PolicyParameter.version.desc()).limit(1)
            ).scalar_one_or_none()
            row = PolicyParameter(name=v.name, value=str(v.value), effective_from=v.effective_from, note=v.note,
                                  version=(top or 0) + 1, created_by=actor.username)
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise PolicyConflict(f"{v.name} from {v.effective_from.isoformat()}", name=v.name) from exc
            audit.record(session, actor, "policy.initial_load", "policy",
                         f"{v.name}@{v.effective_from.isoformat()}", None,
                         {"value": str(v.value), "effective_from": v.effective_from.isoformat(),
                          "version": row.version, "note": v.note})
            rows.append(row)
        return rows


def list_parameters(db: Database, actor: Actor) -> list[PolicyParameter]:
    """Every parameter version, for anyone who reads cards (the rules their operations follow)."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        return list(session.execute(
            select(PolicyParameter).order_by(PolicyParameter.name, PolicyParameter.effective_from,
                                             PolicyParameter.version)
        ).scalars())
