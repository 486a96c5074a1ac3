"""/employment: public employment services (docs/employment.md) for the bureau's staff and the employment
service bureau's systems — registrations (求职登记, 失业登记) and their close, the unemployment benefit opened
from a registration, and employment-support subsidies (maker proposes, another person decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from sscard.api.deps import DB, CurrentActor
from sscard.employment import service, subsidies
from sscard.employment.schemas import (
    BenefitIn,
    CloseIn,
    DecisionIn,
    RegistrationIn,
    RegistrationOut,
    SubsidyIn,
    SubsidyOut,
)
from sscard.employment.states import SubsidyOp

router = APIRouter(prefix="/employment", tags=["employment"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
Id = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/registrations", response_model=RegistrationOut, status_code=201)
def register(body: RegistrationIn, actor: CurrentActor, db: DB, key: IdempotencyKey = None) -> RegistrationOut:
    """求职登记 / 失业登记 of a registered person."""
    return service.register(db, actor, body, channel="api", idempotency_key=key)


@router.get("/registrations/{registration_id}", response_model=RegistrationOut)
def registration(registration_id: Id, actor: CurrentActor, db: DB) -> RegistrationOut:
    return service.registration(db, actor, registration_id)


@router.get("/persons/{person_id}/registrations", response_model=list[RegistrationOut])
def registrations_of(person_id: Id, actor: CurrentActor, db: DB) -> list[RegistrationOut]:
    return service.registrations_of(db, actor, person_id)


@router.post("/registrations/{registration_id}/close", response_model=RegistrationOut)
def close(registration_id: Id, body: CloseIn, actor: CurrentActor, db: DB) -> RegistrationOut:
    """注销登记 with a reason code; its unemployment benefit is owed through the month of the close, no later."""
    return service.close_registration(db, actor, registration_id, body)


@router.post("/registrations/{registration_id}/benefit", response_model=RegistrationOut)
def open_benefit(registration_id: Id, body: BenefitIn, actor: CurrentActor, db: DB) -> RegistrationOut:
    """申领失业保险金 against an open unemployment registration (asked again: answered as it stands)."""
    return service.open_unemployment_benefit(db, actor, registration_id, body)


@router.post("/subsidies", response_model=SubsidyOut, status_code=201)
def propose(body: SubsidyIn, actor: CurrentActor, db: DB, key: IdempotencyKey = None) -> SubsidyOut:
    """Propose a subsidy against a closed registration (the maker)."""
    return subsidies.propose_subsidy(db, actor, body, idempotency_key=key)


@router.get("/subsidies/pending", response_model=list[SubsidyOut])
def pending(actor: CurrentActor, db: DB) -> list[SubsidyOut]:
    return subsidies.pending_subsidies(db, actor)


@router.post("/subsidies/{subsidy_id}/approve", response_model=SubsidyOut)
def approve(subsidy_id: Id, body: DecisionIn, actor: CurrentActor, db: DB) -> SubsidyOut:
    """Approve (another person than the maker): the one-off is paid by the next month's disbursement run."""
    return subsidies.decide_subsidy(db, actor, subsidy_id, SubsidyOp.APPROVE, body)


@router.post("/subsidies/{subsidy_id}/reject", response_model=SubsidyOut)
def reject(subsidy_id: Id, body: DecisionIn, actor: CurrentActor, db: DB) -> SubsidyOut:
    return subsidies.decide_subsidy(db, actor, subsidy_id, SubsidyOp.REJECT, body)


@router.get("/persons/{person_id}/subsidies", response_model=list[SubsidyOut])
def subsidies_of(person_id: Id, actor: CurrentActor, db: DB) -> list[SubsidyOut]:
    return subsidies.subsidies_of(db, actor, person_id)
