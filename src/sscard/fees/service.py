"""Quoting the fee in effect and recording a charge with its receipt number.

The cooperating bank collects the cash at its counter (粤劳社〔2003〕169号); sscard records what is due and the
receipt. Moving that money through the ledger arrives with the ledger package (settlement issue).

The fee table keeps its history the way policy parameters do (:mod:`sscard.policy.service`): a rate effective
before today (the bureau's local date) is refused (``FEE_BACKDATED``); a rate for a date that already has one is
refused once that date has come (``FEE_IN_EFFECT``) and appended as the next version before it, the earlier one
kept; the database refuses UPDATE and DELETE of rates. Charges point at the exact rate version they used.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.fees.errors import FeeBackdated, FeeConflict, FeeInEffect, FeeRateInvalid, FeeRateMissing
from sscard.fees.models import FeeCharge, FeeRate

BUSINESSES = ("new", "replacement", "exchange")


def quote(session: Session, business: str, reason: str, on: dt.date) -> FeeRate:
    rate = session.execute(
        select(FeeRate)
        .where(FeeRate.business == business, FeeRate.reason == reason, FeeRate.effective_from <= on)
        .order_by(FeeRate.effective_from.desc(), FeeRate.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if rate is None:
        raise FeeRateMissing(f"{business}/{reason or '-'} on {on.isoformat()}", business=business)
    return rate


def charge(session: Session, actor: Actor, application_id: int, person_id: int, business: str, reason: str,
           on: dt.date) -> FeeCharge:
    """Record the fee for an application (also when it is zero: the receipt proves the business was done)."""
    rate = quote(session, business, reason, on)
    fee = FeeCharge(receipt_no=f"PENDING-{application_id}", application_id=application_id, person_id=person_id,
                    business=business, reason=reason, amount_fen=rate.amount_fen, fee_rate_id=rate.id,
                    operator=actor.username, outlet=actor.outlet_code)
    session.add(fee)
    session.flush()
    fee.receipt_no = f"R{on:%Y%m%d}{fee.id:010d}"
    return fee


def set_rate(db: Database, actor: Actor, business: str, reason: str, amount_fen: int, effective_from: dt.date,
             basis: str | None = None) -> FeeRate:
    actor.require(Permission.POLICY_ADMIN)
    if business not in BUSINESSES:
        raise FeeRateInvalid(f"business must be one of {', '.join(BUSINESSES)}")
    if not 0 <= amount_fen <= 1_000_000:
        raise FeeRateInvalid("amount must be between 0 and 10,000 yuan, in fen")
    today = clock.local_date()
    if effective_from < today:
        raise FeeBackdated(f"{business}/{reason or '-'} from {effective_from.isoformat()} is before today "
                           f"({today.isoformat()})", business=business, today=today.isoformat())
    with db.unit_of_work() as session:
        latest = session.execute(select(FeeRate).where(
            FeeRate.business == business, FeeRate.reason == reason, FeeRate.effective_from == effective_from)
            .order_by(FeeRate.version.desc()).limit(1)).scalar_one_or_none()
        if latest is not None and effective_from <= today:
            raise FeeInEffect(f"{business}/{reason or '-'} from {effective_from.isoformat()} is in effect",
                              business=business)
        before = {"amount_fen": latest.amount_fen, "version": latest.version, "basis": latest.basis} \
            if latest else None
        rate = FeeRate(business=business, reason=reason, amount_fen=amount_fen, effective_from=effective_from,
                       version=latest.version + 1 if latest else 1, basis=basis, created_by=actor.username)
        session.add(rate)
        try:
            session.flush()
        except IntegrityError as exc:
            raise FeeConflict(f"{business}/{reason or '-'} from {effective_from.isoformat()}",
                              business=business) from exc
        audit.record(session, actor, "fee.rate_set", "fee_rate", rate.id, before,
                     {"business": business, "reason": reason, "amount_fen": amount_fen,
                      "effective_from": effective_from.isoformat(), "version": rate.version, "basis": basis})
        return rate


def list_rates(db: Database, actor: Actor) -> list[FeeRate]:
    """Every fee rate version, for anyone who reads cards (the fees their applications are charged)."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        return list(session.execute(
            select(FeeRate).order_by(FeeRate.business, FeeRate.reason, FeeRate.effective_from,
                                    FeeRate.version)).scalars())
