"""A death reaches the money (死亡停发 and 多发追回): the person's monthly benefits end with the month of death,
months after it still held are cancelled, and every month after it already paid becomes a recovery with a
ledger receivable (``receivable:<fund>:overpayment`` → ``fund:<fund>``), all in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.funds.benefits.models import (
    ONE_OFF_KINDS,
    DisbursementBatch,
    DisbursementLine,
    Entitlement,
    Hold,
    Recovery,
    Reissue,
)
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferIn

TRANSFER_CODE = "benefit.overpayment"
DECEASED = "DECEASED"


@dataclass(frozen=True, slots=True)
class Recovered:
    line_id: int
    entitlement_id: int
    kind: str
    period_due: str
    fund: str
    amount: int
    transfer_id: str


@dataclass(frozen=True, slots=True)
class DeathStop:
    ended: list[tuple[int, str]]  # (entitlement id, kind) ended with the month of death
    recoveries: list[Recovered]
    kinds: list[str]  # the kinds the person drew (survivor benefits follow from them)

    @property
    def recoverable_fen(self) -> int:
        return sum(r.amount for r in self.recoveries)


def transfer_id(line_id: int) -> str:
    return f"recover:{line_id}"


def stop_for_death_in(session: Session, actor: Actor, person_id: int, death_date: dt.date,
                      source: str) -> DeathStop:
    """No month after the month of ``death_date`` is owed; months after it already paid are recoverable. Running
    it again for the same death changes nothing (a recovery per line, transfer ids per line)."""
    actor.require(Permission.FUNDS_CORRECT)
    last = f"{death_date.year:04d}-{death_date.month:02d}"
    one_offs = sorted(k.value for k in ONE_OFF_KINDS)
    ents = list(session.execute(select(Entitlement).where(Entitlement.person_id == person_id)
                                .order_by(Entitlement.id).with_for_update()).scalars())
    ended: list[tuple[int, str]] = []
    recoveries: list[Recovered] = []
    for ent in ents:
        if ent.kind in one_offs:
            continue
        # A death before the start still leaves the start month (the CHECK keeps end >= start): its month is
        # held as DECEASED by the month run, never paid to the card.
        end = max(min(ent.end_period or last, last), ent.start_period)
        if ent.status == "active" or ent.end_period != end:
            before = {"end_period": ent.end_period, "status": ent.status}
            ent.end_period, ent.status = end, "ended"
            ended.append((ent.id, ent.kind))
            audit.record(session, actor, "benefit.end", "entitlement", ent.id, before,
                         {"end_period": end, "status": "ended", "reason": DECEASED, "source": source[:64]})
        session.execute(update(Hold).where(Hold.entitlement_id == ent.id, Hold.period_due > last,
                                           Hold.state == "open").values(state="cancelled", released_at=clock.now()))
        recoveries += _recover(session, actor, ent, last, source)
    return DeathStop(ended, recoveries, sorted({e.kind for e in ents}))


def _recover(session: Session, actor: Actor, ent: Entitlement, last: str, source: str) -> list[Recovered]:
    paid = session.execute(
        select(DisbursementLine.id, DisbursementLine.period_due, DisbursementLine.fund, DisbursementLine.amount)
        .join(DisbursementBatch, DisbursementBatch.id == DisbursementLine.batch_id)
        .where(DisbursementLine.entitlement_id == ent.id, DisbursementLine.period_due > last,
               DisbursementBatch.state == "posted", DisbursementLine.id.not_in(select(Reissue.line_id)),
               DisbursementLine.id.not_in(select(Recovery.line_id)))
        .order_by(DisbursementLine.period_due, DisbursementLine.id)).all()
    out: list[Recovered] = []
    for line_id, period_due, fund, amount in paid:
        receivable, fund_account = chart.OverpaymentReceivable(fund), chart.Fund(fund)
        chart.open_missing(session, [receivable, fund_account])
        ledger.transfer(session, TransferIn(id=transfer_id(line_id), debit_account=receivable.code,
                                            credit_account=fund_account.code, amount=int(amount),
                                            code=TRANSFER_CODE, reference=f"line:{line_id}"))
        session.add(Recovery(line_id=line_id, entitlement_id=ent.id, person_id=ent.person_id,
                             period_due=period_due, fund=fund, amount=int(amount), reason=DECEASED,
                             source=source[:64], state="open"))
        out.append(Recovered(line_id, ent.id, ent.kind, period_due, fund, int(amount), transfer_id(line_id)))
        audit.record(session, actor, "benefit.recovery_opened", "disbursement_line", line_id, None,
                     {"entitlement_id": ent.id, "period_due": period_due, "fund": fund, "amount": int(amount),
                      "reason": DECEASED, "source": source[:64]})
    session.flush()
    return out


def recoveries_of(session: Session, person_id: int) -> list[Recovery]:
    """The person's open and closed recoveries (oldest month first)."""
    return list(session.execute(select(Recovery).where(Recovery.person_id == person_id)
                                .order_by(Recovery.period_due, Recovery.line_id)).scalars())
