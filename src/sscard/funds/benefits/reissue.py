"""The re-issue queue (退票重发): list failures with their reasons, record a correction, pay again in a
supplementary batch (补发) whose lines point at the failed lines; and what a person was paid (portal).

A failed line is never changed: its queue entry moves open → corrected → reissued → paid (or failed, when the
new line failed too and has an open entry of its own). The original batch keeps its failure in its totals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks import service as banks
from sscard.db import Database
from sscard.funds import parse_period, period_of
from sscard.funds.benefits import batches as steps
from sscard.funds.benefits.batches import GatewayFor
from sscard.funds.benefits.errors import ReissueNotFound, ReissueState
from sscard.funds.benefits.models import DisbursementBatch, DisbursementLine, Entitlement, Hold, Reissue
from sscard.funds.benefits.schemas import CorrectionIn, FailureOut, PaymentOut, ReissueRunOut, what_to_do
from sscard.funds.benefits.service import (
    Progress,
    batch_outs,
    default_gateways,
    drive_batches,
    payment_accounts,
)
from sscard.registry.models import Person

UNRESOLVED = ("open", "corrected", "reissued")


def failures(db: Database, actor: Actor, state: str | None = None, lang: str = "zh",
             limit: int = 1000) -> list[FailureOut]:
    """The queue: unresolved entries by default, or those in ``state`` (``all`` for every entry)."""
    actor.require(Permission.FUNDS_READ)
    with db.unit_of_work() as session:
        query = (select(Reissue, DisbursementLine.period_due, DisbursementBatch.batch_no, Person.name)
                 .join(DisbursementLine, DisbursementLine.id == Reissue.line_id)
                 .join(DisbursementBatch, DisbursementBatch.id == Reissue.batch_id)
                 .join(Person, Person.id == Reissue.person_id).order_by(Reissue.id).limit(limit))
        if state is None:
            query = query.where(Reissue.state.in_(UNRESOLVED))
        elif state != "all":
            query = query.where(Reissue.state == state)
        out = [_failure_out(r, period_due, batch_no, name, lang)
               for r, period_due, batch_no, name in session.execute(query).all()]
        audit.record_read(session, actor, "benefit.failures_read", "benefit_reissue", "*", "re-issue queue",
                          state=state or "unresolved", limit=limit, rows=len(out))
        return out


def _failure_out(r: Reissue, period_due: str, batch_no: str, name: str, lang: str) -> FailureOut:
    return FailureOut(id=r.id, state=r.state, reason_code=r.reason_code, what_to_do=what_to_do(r.reason_code, lang),
                      person_id=r.person_id, name=name, amount=r.amount, period_due=period_due, batch_no=batch_no,
                      line_id=r.line_id, reissue_line_id=r.reissue_line_id, correction=r.correction,
                      corrected_by=r.corrected_by)


def correct_failure(db: Database, actor: Actor, reissue_id: int, data: CorrectionIn) -> FailureOut:
    """Record what was corrected; the next re-issue run pays it to the person's payment account as it is then.

    A new account given here is first registered with ``banks.service.register_payment_account`` (its own
    audited use case, committed before the correction; a failure of the correction leaves the account
    registered, which is what the holder asked for anyway)."""
    actor.require(Permission.FUNDS_CORRECT)
    changed = data.account_no is not None
    if changed:
        with db.unit_of_work() as session:
            person_id = _entry(session, reissue_id).person_id
        banks.register_payment_account(db, actor, person_id, "other", data.bank_code, data.account_no,
                                       data.holder_name)
    with db.unit_of_work() as session:
        entry = _entry(session, reissue_id)
        before = {"state": entry.state, "correction": entry.correction}
        entry.state, entry.correction, entry.account_changed = "corrected", data.note, changed
        entry.corrected_by, entry.corrected_at = actor.username, clock.now()
        audit.record(session, actor, "benefit.correct", "benefit_reissue", reissue_id, before,
                     {"state": "corrected", "note": data.note, "account_changed": changed})
        line = session.get(DisbursementLine, entry.line_id)
        batch = session.get(DisbursementBatch, entry.batch_id)
        person = session.get(Person, entry.person_id)
        assert line is not None and batch is not None and person is not None
        return _failure_out(entry, line.period_due, batch.batch_no, person.name, "zh")


def _entry(session: Session, reissue_id: int) -> Reissue:
    entry = session.get(Reissue, reissue_id, with_for_update=True)
    if entry is None:
        raise ReissueNotFound(str(reissue_id), reissue_id=reissue_id)
    if entry.state not in ("open", "corrected"):
        raise ReissueState(f"entry {reissue_id} is {entry.state}", state=entry.state)
    return entry


def run_reissues(db: Database, actor: Actor, period: str | None = None, progress: Progress | None = None,
                 gateways: GatewayFor | None = None) -> ReissueRunOut:
    """补发: one new batch per bank for the corrected entries, then each unfinished re-issue batch to posted."""
    actor.require(Permission.FUNDS_RUN)
    label = parse_period(period) if period else period_of(clock.local_date())
    report = progress or (lambda _label, _done, _total: None)
    report(f"re-issue {label}: building batches", 0, 1)
    with db.unit_of_work() as session:
        made, waiting = _build_reissues(session, actor, label)
    steps.crash_point("after_build")
    with db.unit_of_work() as session:
        batch_ids = list(session.execute(
            select(DisbursementBatch.id).where(DisbursementBatch.kind == "reissue",
                                               DisbursementBatch.state != "posted")
            .order_by(DisbursementBatch.id)).scalars())
    drive_batches(db, actor, batch_ids, gateways or default_gateways(db), report, f"re-issue {label}")
    with db.unit_of_work() as session:
        return ReissueRunOut(batches=batch_outs(session, batch_ids), reissued=made, waiting_for_account=waiting)


def _build_reissues(session: Session, actor: Actor, period: str) -> tuple[int, int]:
    failed = aliased(DisbursementLine)
    rows = session.execute(
        select(Reissue.id, failed).join(failed, failed.id == Reissue.line_id)
        .where(Reissue.state == "corrected").order_by(Reissue.id).with_for_update(of=Reissue)).all()
    accounts = payment_accounts(session, {line.person_id for _, line in rows})
    by_bank: dict[str, list[tuple[int, DisbursementLine]]] = defaultdict(list)
    for entry_id, line in rows:
        if line.person_id in accounts:
            by_bank[accounts[line.person_id].bank_code].append((entry_id, line))
    for bank_code in sorted(by_bank):
        items = by_bank[bank_code]
        seq = session.execute(select(func.count()).select_from(DisbursementBatch).where(
            DisbursementBatch.kind == "reissue", DisbursementBatch.period == period,
            DisbursementBatch.bank_code == bank_code)).scalar_one() + 1
        batch = steps.new_batch(session, actor.username, "reissue", period, bank_code,
                                f"BENR-{period}-{bank_code}-{seq}", len(items), sum(ln.amount for _, ln in items))
        session.execute(insert(DisbursementLine), [
            {"batch_id": batch.id, "line_no": n, "entitlement_id": ln.entitlement_id, "period_due": ln.period_due,
             "person_id": ln.person_id, "fund": ln.fund, "amount": ln.amount,
             "account_no": accounts[ln.person_id].account_no, "holder_name": accounts[ln.person_id].holder_name,
             "id_number": ln.id_number, "reissue_of": ln.id} for n, (_, ln) in enumerate(items, start=1)])
        new_ids = {old: new for old, new in session.execute(
            select(DisbursementLine.reissue_of, DisbursementLine.id).where(DisbursementLine.batch_id == batch.id))}
        for entry_id, ln in items:
            session.execute(update(Reissue).where(Reissue.id == entry_id)
                            .values(state="reissued", reissue_line_id=new_ids[ln.id]))
        audit.record(session, actor, "benefit.reissue_built", "disbursement_batch", batch.batch_no, None,
                     {"lines": len(items), "total": batch.total_amount, "reissues": [e for e, _ in items]})
    made = sum(len(v) for v in by_bank.values())
    return made, len(rows) - made


def payments_for_person(db: Database, actor: Actor, person_id: int, lang: str = "zh") -> list[PaymentOut]:
    """Every month owed to the person with where it stands: paid, in progress, failed (why and what to do),
    waiting for its re-issue, held (stopped, or no payment account yet)."""
    if not actor.can(Permission.FUNDS_READ):
        actor.require(Permission.PORTAL_SELF)
        actor.require_own(person_id)
    with db.unit_of_work() as session:
        kinds = {ent_id: kind for ent_id, kind in session.execute(
            select(Entitlement.id, Entitlement.kind).where(Entitlement.person_id == person_id))}
        out = [_payment_out(kinds[chain[0].entitlement_id], chain, states, lang)
               for chain, states in _chains(session, list(kinds))]
        holds = session.execute(select(Hold).where(Hold.person_id == person_id, Hold.state == "open")).scalars()
        out += [PaymentOut(kind=kinds[h.entitlement_id], period_due=h.period_due, amount=0,
                           status="no_account" if h.reason == steps.NO_ACCOUNT else "stopped", reason_code=h.reason,
                           what_to_do=what_to_do(h.reason, lang)) for h in holds]
        audit.record_read(session, actor, "benefit.payments_read", "person", person_id,
                          "benefit payments of a person", rows=len(out))
        return sorted(out, key=lambda p: (p.period_due, p.kind), reverse=True)


_LineState = tuple[str, dt.datetime | None, str, str | None, str | None]  # batch state, posted, bank, entry, reason


def _chains(session: Session, entitlement_ids: list[int]) -> list[tuple[list[DisbursementLine], _LineState]]:
    """For each month owed: its lines, first attempt to last (found through the re-issue links), and the state
    of the last one."""
    if not entitlement_ids:
        return []
    firsts = list(session.execute(select(DisbursementLine).where(
        DisbursementLine.entitlement_id.in_(entitlement_ids), DisbursementLine.reissue_of.is_(None))).scalars())
    chains = {line.id: [line] for line in firsts}
    last_of = {line.id: line.id for line in firsts}  # last line id → first line id
    frontier = list(last_of)
    while frontier:
        nxt = list(session.execute(select(DisbursementLine).where(DisbursementLine.reissue_of.in_(frontier)))
                   .scalars())
        frontier = []
        for line in nxt:
            assert line.reissue_of is not None
            first = last_of.pop(line.reissue_of)
            chains[first].append(line)
            last_of[line.id] = first
            frontier.append(line.id)
    states: dict[int, _LineState] = {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in session.execute(
        select(DisbursementLine.id, DisbursementBatch.state, DisbursementBatch.posted_at, DisbursementBatch.bank_code,
               Reissue.state, Reissue.reason_code)
        .join(DisbursementBatch, DisbursementBatch.id == DisbursementLine.batch_id)
        .outerjoin(Reissue, Reissue.line_id == DisbursementLine.id)
        .where(DisbursementLine.id.in_(list(last_of)))).all()}
    return [(chains[first], states[last]) for last, first in last_of.items()]


def _payment_out(kind: str, chain: list[DisbursementLine], state: _LineState, lang: str) -> PaymentOut:
    line = chain[-1]
    batch_state, posted_at, bank_code, entry_state, reason = state
    base = {"kind": kind, "period_due": line.period_due, "amount": line.amount, "bank_code": bank_code,
            "account_no_masked": "****" + line.account_no[-4:], "attempts": len(chain)}
    if batch_state != "posted":
        return PaymentOut(**base, status="in_progress")
    if entry_state is None:
        return PaymentOut(**base, status="paid", paid_on=posted_at)
    status = "failed" if entry_state == "open" else "reissue_pending"
    return PaymentOut(**base, status=status, reason_code=reason, what_to_do=what_to_do(str(reason), lang))
