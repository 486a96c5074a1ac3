"""就业扶持政策补贴 granted against a registration, maker-checker: a clerk proposes (the amount from the dated
policy in force that day), another person approves or rejects; approval grants the one-off through the
benefits package (``entitlements.grant_in``, kind ``employment_subsidy``) in the same transaction, so it is paid by
the next month's disbursement run through the person's payment account, like every benefit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.employment.errors import (
    IdempotencyMismatch,
    MakerCannotApprove,
    RegistrationNotFound,
    RegistrationState,
    SubsidyExists,
    SubsidyNotFound,
    SubsidyNotQualified,
    SubsidyState,
)
from sscard.employment.models import Registration, Subsidy
from sscard.employment.schemas import DecisionIn, SubsidyIn, SubsidyOut
from sscard.employment.service import period_of
from sscard.employment.states import (
    SUBSIDY_AMOUNT_PARAMETER,
    SUBSIDY_OPS,
    SUBSIDY_REASON,
    RegistrationOp,
    SubsidyOp,
    SubsidyStatus,
    registration_allows,
    subsidy_next,
)
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.models import BenefitKind
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.policy import service as policy


def _snapshot(s: Subsidy) -> dict[str, object]:
    return {"kind": s.kind, "amount": s.amount, "status": s.status, "registration_id": s.registration_id,
            "decided_by": s.decided_by, "entitlement_id": s.entitlement_id}


def propose_subsidy(db: Database, actor: Actor, data: SubsidyIn, *, idempotency_key: str | None = None) -> SubsidyOut:
    """经办: propose the subsidy ``data.kind`` against a closed registration whose close reason qualifies."""
    actor.require(Permission.EMPLOYMENT_SUBSIDY)
    with db.unit_of_work() as session:
        if idempotency_key is not None:
            earlier = session.execute(select(Subsidy).where(Subsidy.idempotency_key == idempotency_key)
                                      ).scalar_one_or_none()
            if earlier is not None:
                if (earlier.registration_id, earlier.kind) != (data.registration_id, data.kind.value):
                    raise IdempotencyMismatch(idempotency_key[:40])
                return SubsidyOut.model_validate(earlier)
        reg = session.get(Registration, data.registration_id, with_for_update=True)
        if reg is None:
            raise RegistrationNotFound(str(data.registration_id), registration_id=data.registration_id)
        if not registration_allows(reg.status, RegistrationOp.PROPOSE_SUBSIDY):
            raise RegistrationState(f"registration {reg.id} is {reg.status}", status=reg.status)
        wanted = SUBSIDY_REASON[data.kind]
        if reg.close_reason != wanted.value:
            raise SubsidyNotQualified(f"{data.kind.value} needs a registration closed as {wanted.value}",
                                      kind=data.kind.value, needs=wanted.value)
        amount = policy.get_int(session, SUBSIDY_AMOUNT_PARAMETER[data.kind], clock.local_date())
        row = Subsidy(registration_id=reg.id, person_id=reg.person_id, kind=data.kind.value, amount=amount,
                      status=SubsidyStatus.PROPOSED.value, proposed_by=actor.username, proposed_at=clock.now(),
                      idempotency_key=idempotency_key)
        session.add(row)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:
            raise SubsidyExists(data.kind.value, kind=data.kind.value) from exc
        audit.record(session, actor, "employment.subsidy_propose", "employment_subsidy", row.id, None,
                     {**_snapshot(row), "person_id": reg.person_id})
        return SubsidyOut.model_validate(row)


def decide_subsidy(db: Database, actor: Actor, subsidy_id: int, op: SubsidyOp,
                   data: DecisionIn | None = None) -> SubsidyOut:
    """复核: approve (grants the one-off entitlement, paid by the next month run) or reject. The checker is never
    the maker; deciding again what is already decided the same way answers the decision as it stands."""
    actor.require(Permission.EMPLOYMENT_APPROVE)
    note = (data or DecisionIn()).note
    with db.unit_of_work() as session:
        row = session.get(Subsidy, subsidy_id, with_for_update=True)
        if row is None:
            raise SubsidyNotFound(str(subsidy_id), subsidy_id=subsidy_id)
        if row.proposed_by == actor.username:
            raise MakerCannotApprove(f"{actor.username} proposed subsidy {row.id}")
        target = subsidy_next(row.status, op)
        if target is None:
            if row.decided_by == actor.username and row.status == SUBSIDY_OPS[SubsidyStatus.PROPOSED][op].value:
                return SubsidyOut.model_validate(row)  # a retried decision
            raise SubsidyState(f"subsidy {row.id} is {row.status}", status=row.status)
        before = _snapshot(row)
        if target is SubsidyStatus.APPROVED:
            ent = entitlements.grant_in(session, actor, EntitlementIn(
                person_id=row.person_id, kind=BenefitKind.EMPLOYMENT_SUBSIDY, amount=row.amount,
                start_period=period_of(clock.local_date()), reference=f"EMP-SUB-{row.id}"))
            row.entitlement_id = ent.id
        row.status, row.decided_by, row.decided_at, row.note = target.value, actor.username, clock.now(), note
        session.flush()
        audit.record(session, actor, f"employment.subsidy_{op.value}", "employment_subsidy", row.id, before,
                     _snapshot(row))
        return SubsidyOut.model_validate(row)


def subsidies_of(db: Database, actor: Actor, person_id: int) -> list[SubsidyOut]:
    actor.require_own_or(Permission.EMPLOYMENT_READ, person_id)
    with db.unit_of_work() as session:
        rows = session.execute(select(Subsidy).where(Subsidy.person_id == person_id).order_by(Subsidy.id)).scalars()
        out = [SubsidyOut.model_validate(r) for r in rows]
        audit.record_read(session, actor, "employment.subsidies_read", "person", person_id,
                          "employment subsidies of a person", rows=len(out))
        return out


def pending_subsidies(db: Database, actor: Actor) -> list[SubsidyOut]:
    """The checker's queue: subsidies proposed and not yet decided."""
    actor.require(Permission.EMPLOYMENT_APPROVE)
    with db.unit_of_work() as session:
        rows = session.execute(select(Subsidy).where(Subsidy.status == SubsidyStatus.PROPOSED.value)
                               .order_by(Subsidy.id)).scalars()
        out = [SubsidyOut.model_validate(r) for r in rows]
        audit.record_read(session, actor, "employment.subsidies_pending_read", "employment_subsidy", "pending",
                          "subsidies waiting for a checker", rows=len(out))
        return out
