"""What is owed in a month run: the month's amount of every entitlement in force (a one-off: once, in or after
its start month), plus months held earlier that are payable now (back-pay), minus what the eligibility rules
stop (no survival certification within the window, death or other living-status data from the registry).

Read set-based: one SELECT over every entitlement in force (amount in force, living status and certification
decided in SQL, plain driver tuples), one over the open holds. Nothing is written here but cancellations of
holds past an entitlement's end; the caller writes holds, releases and lines in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, NamedTuple

from sqlalchemy import update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.bulksql import fetch_all
from sscard.funds import add_months, first_day, parse_period
from sscard.funds.benefits.models import CERTIFIED_KINDS, ONE_OFF_KINDS, Hold
from sscard.policy import service as policy
from sscard.registry.schemas import LivingStatus

CERTIFICATION_MONTHS = "benefits.certification_months"
_ONE_OFFS = ", ".join(f"'{k.value}'" for k in sorted(ONE_OFF_KINDS))
_CERTIFIED = ", ".join(f"'{k.value}'" for k in sorted(CERTIFIED_KINDS))
_ALIVE, _DECEASED = LivingStatus.ALIVE.value, LivingStatus.DECEASED.value


# One month owed as a plain tuple (a million per run): entitlement, month due, person, kind, fund, amount (fen),
# ID number. ``Owed`` names the same fields where there are few.
OwedRow = tuple[int, str, int, str, str, int, str]
PERSON: Final = 2
AMOUNT: Final = 5


class Owed(NamedTuple):
    """One month owed: (entitlement, month due) with what its line needs."""

    entitlement_id: int
    period_due: str
    person_id: int
    kind: str
    fund: str
    amount: int
    id_number: str


@dataclass(frozen=True, slots=True)
class OpenHold:
    owed: Owed
    reason: str  # the hold's reason as recorded
    now: str | None  # why it is still stopped today, or None when it is payable (subject to an account)


@dataclass(frozen=True, slots=True)
class Dues:
    owed: list[OwedRow]  # payable this month (subject to a payment account)
    stopped: list[tuple[OwedRow, str]]  # owed this month but stopped now, with the reason
    holds: list[OpenHold]  # months held earlier


def certification_cutoff(period: str, months: int) -> dt.date:
    """A month is payable when the person was certified on or after this date (or at any time later)."""
    return first_day(add_months(period, -months))


def stop_reason(living_status: str, certified: bool, kind: str) -> str | None:
    """Why a month is stopped (the month SQL computes the same in SQL), or None when it is payable."""
    if living_status != _ALIVE:
        return "DECEASED" if living_status == _DECEASED else f"LIVING_STATUS_{living_status}"
    if kind in CERTIFIED_KINDS and not certified:
        return "NOT_CERTIFIED"
    return None


def owed_for_month(session: Session, period: str) -> Dues:
    period = parse_period(period)  # also makes the literal below safe to inline
    months = policy.get_int(session, CERTIFICATION_MONTHS, clock.local_date())
    sql = _month_sql(period, certification_cutoff(period, months), session.get_bind().dialect.name)
    owed: list[OwedRow] = []
    stopped: list[tuple[OwedRow, str]] = []
    for row in fetch_all(session, sql):
        if row[7] is None:  # no amount in force for that month yet: nothing owed
            continue
        if row[8] is None:
            owed.append(row[:7])
        else:
            stopped.append((row[:7], row[8]))
    return Dues(owed, stopped, _open_holds(session, period, months))


def _month_sql(period: str, cutoff: dt.date, dialect: str) -> str:
    """Every entitlement in force in ``period`` with no line and no hold for its month due yet: (id, month due,
    person, kind, fund, id number, amount in force, stop reason or NULL). The amount is the latest one from
    a month up to ``period`` (an unpaid one-off is paid as last corrected). PostgreSQL joins the amounts and the
    certifications as sets (one pass each); SQLite probes its indexes per row."""
    due = f"(CASE WHEN e.kind IN ({_ONE_OFFS}) THEN e.start_period ELSE '{period}' END)"
    certified = ("c.person_id IS NOT NULL" if dialect == "postgresql" else
                 "EXISTS (SELECT 1 FROM benefit_certifications c WHERE c.person_id = e.person_id "
                 f"AND c.certified_on >= '{cutoff.isoformat()}')")
    reason = (f"CASE WHEN p.living_status = '{_ALIVE}' THEN "
              f"(CASE WHEN e.kind IN ({_CERTIFIED}) AND NOT ({certified}) THEN 'NOT_CERTIFIED' END) "
              f"WHEN p.living_status = '{_DECEASED}' THEN 'DECEASED' "
              "ELSE 'LIVING_STATUS_' || p.living_status END")
    if dialect == "postgresql":
        amount = "a.amount"
        joins = ("LEFT JOIN (SELECT DISTINCT ON (entitlement_id) entitlement_id, amount FROM benefit_amounts "
                 f"WHERE from_period <= '{period}' ORDER BY entitlement_id, from_period DESC, version DESC) a "
                 "ON a.entitlement_id = e.id "
                 "LEFT JOIN (SELECT DISTINCT person_id FROM benefit_certifications "
                 f"WHERE certified_on >= '{cutoff.isoformat()}') c ON c.person_id = e.person_id ")
    else:
        amount = ("(SELECT a.amount FROM benefit_amounts a WHERE a.entitlement_id = e.id "
                  f"AND a.from_period <= '{period}' ORDER BY a.from_period DESC, a.version DESC LIMIT 1)")
        joins = ""
    return (
        f"SELECT e.id, {due}, e.person_id, e.kind, e.fund, {amount}, p.id_number, {amount}, {reason} "
        f"FROM benefit_entitlements e JOIN persons p ON p.id = e.person_id {joins}"
        f"WHERE e.start_period <= '{period}' "
        f"AND (e.kind IN ({_ONE_OFFS}) OR e.end_period IS NULL OR e.end_period >= '{period}') "
        "AND NOT EXISTS (SELECT 1 FROM disbursement_lines l WHERE l.entitlement_id = e.id "
        f"AND l.period_due = {due} AND l.reissue_of IS NULL) "
        "AND NOT EXISTS (SELECT 1 FROM benefit_holds h WHERE h.entitlement_id = e.id "
        f"AND h.period_due = {due})"
    )


def _open_holds(session: Session, period: str, months: int) -> list[OpenHold]:
    """Open holds of months up to ``period`` with today's verdict; holds past an entitlement's end are cancelled."""
    rows = fetch_all(session, (
        "SELECT h.entitlement_id, h.period_due, h.person_id, e.kind, e.fund, e.end_period, p.living_status, "
        "p.id_number, h.reason, "
        "(SELECT MAX(c.certified_on) FROM benefit_certifications c WHERE c.person_id = h.person_id), "
        "(SELECT a.amount FROM benefit_amounts a WHERE a.entitlement_id = h.entitlement_id "
        "AND a.from_period <= h.period_due ORDER BY a.from_period DESC, a.version DESC LIMIT 1) "
        "FROM benefit_holds h JOIN benefit_entitlements e ON e.id = h.entitlement_id "
        "JOIN persons p ON p.id = h.person_id "
        f"WHERE h.state = 'open' AND h.period_due <= '{period}' ORDER BY h.period_due, h.entitlement_id"))
    out: list[OpenHold] = []
    for ent_id, due, person_id, kind, fund, end, living, id_number, reason, last_cert, amount in rows:
        if (end is not None and due > end) or amount is None:
            session.execute(update(Hold).where(Hold.entitlement_id == ent_id, Hold.period_due == due)
                            .values(state="cancelled", released_at=clock.now()))
            continue
        last = dt.date.fromisoformat(last_cert) if isinstance(last_cert, str) else last_cert
        certified = last is not None and last >= certification_cutoff(due, months)
        item = Owed(ent_id, due, person_id, kind, fund, int(amount), id_number)
        out.append(OpenHold(item, reason, stop_reason(living, certified, kind)))
    return out
