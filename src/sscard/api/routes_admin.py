"""Administration: outlets, operators, policy parameters, fee table, audit verification, jobs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from sscard import jobs
from sscard.access import Role
from sscard.api.deps import DB, CurrentActor
from sscard.audit import service as audit
from sscard.auth import service as auth
from sscard.config import Mode, Settings
from sscard.errors import DomainError
from sscard.fees import service as fees
from sscard.policy import service as policy

router = APIRouter(tags=["admin"])


class OutletIn(BaseModel):
    code: str = Field(max_length=20)
    name: str = Field(max_length=100)
    region_code: str = Field(max_length=6)
    kind: str = Field(default="hrss", pattern="^(hrss|bank)$")
    bank_code: str | None = Field(default=None, max_length=10)


class OutletOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    region_code: str
    kind: str
    bank_code: str | None


class OperatorIn(BaseModel):
    username: str = Field(min_length=2, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(max_length=50)
    role: Role
    password: str = Field(max_length=200)
    outlet_code: str | None = Field(default=None, max_length=20)


class OperatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    role: str
    outlet_id: int | None
    active: bool


class ParameterIn(BaseModel):
    name: str = Field(max_length=80)
    value: int
    effective_from: dt.date
    note: str | None = Field(default=None, max_length=200)


class ParameterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    value: str
    effective_from: dt.date
    version: int = Field(description="1, or the next version of a future date replaced before it took effect")
    note: str | None
    created_by: str


class FeeRateIn(BaseModel):
    business: str = Field(max_length=20)
    reason: str = Field(default="", max_length=20)
    amount_fen: int
    effective_from: dt.date
    basis: str | None = Field(default=None, max_length=200)


class FeeRateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    business: str
    reason: str
    amount_fen: int
    effective_from: dt.date
    version: int = Field(description="1, or the next version of a future date replaced before it took effect")
    basis: str | None


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    keyed_from: int | None = None
    anchors: int = 0
    latest_anchor_seq: int | None = None
    warnings: list[str] = []


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: dt.datetime
    operator: str
    role: str
    outlet: str | None
    action: str
    entity_type: str
    entity_id: str
    before: str | None
    after: str | None
    hash: str


class JobsIn(BaseModel):
    now: dt.datetime | None = Field(default=None, description="run as of this instant: only in SSCARD_MODE=dev "
                                    "(tests); otherwise refused with JOBS_CLOCK_REFUSED, jobs run as of now")


class JobsClockRefused(DomainError):
    code = "JOBS_CLOCK_REFUSED"
    http_status = 422
    message_zh = "只有开发模式允许指定作业运行时间"
    message_en = "Jobs run as of the server's clock; a chosen `now` is accepted in dev mode only"


@router.get("/outlets", response_model=list[OutletOut])
def list_outlets(actor: CurrentActor, db: DB) -> list[OutletOut]:
    return [OutletOut.model_validate(o) for o in auth.list_outlets(db, actor)]


@router.post("/outlets", response_model=OutletOut, status_code=201)
def create_outlet(body: OutletIn, actor: CurrentActor, db: DB) -> OutletOut:
    return OutletOut.model_validate(
        auth.create_outlet(db, actor, body.code, body.name, body.region_code, body.kind, body.bank_code))


@router.get("/operators", response_model=list[OperatorOut])
def list_operators(actor: CurrentActor, db: DB) -> list[OperatorOut]:
    return [OperatorOut.model_validate(o) for o in auth.list_operators(db, actor)]


@router.post("/operators", response_model=OperatorOut, status_code=201)
def create_operator(body: OperatorIn, actor: CurrentActor, db: DB) -> OperatorOut:
    return OperatorOut.model_validate(auth.create_operator(db, actor, body.username, body.display_name, body.role,
                                                           body.password, body.outlet_code))


@router.get("/policy", response_model=list[ParameterOut])
def list_policy(actor: CurrentActor, db: DB) -> list[ParameterOut]:
    return [ParameterOut.model_validate(p) for p in policy.list_parameters(db, actor)]


@router.post("/policy", response_model=ParameterOut, status_code=201)
def set_policy(body: ParameterIn, actor: CurrentActor, db: DB) -> ParameterOut:
    return ParameterOut.model_validate(
        policy.set_parameter(db, actor, body.name, body.value, body.effective_from, body.note))


@router.get("/fees", response_model=list[FeeRateOut])
def list_fees(actor: CurrentActor, db: DB) -> list[FeeRateOut]:
    return [FeeRateOut.model_validate(r) for r in fees.list_rates(db, actor)]


@router.post("/fees", response_model=FeeRateOut, status_code=201)
def set_fee(body: FeeRateIn, actor: CurrentActor, db: DB) -> FeeRateOut:
    return FeeRateOut.model_validate(
        fees.set_rate(db, actor, body.business, body.reason, body.amount_fen, body.effective_from, body.basis))


@router.get("/audit/verify", response_model=VerifyOut)
def verify_audit(actor: CurrentActor, db: DB) -> VerifyOut:
    result = audit.verify(db, actor)
    return VerifyOut(ok=result.ok, checked=result.checked, first_bad_seq=result.first_bad_seq, reason=result.reason,
                     keyed_from=result.keyed_from, anchors=result.anchors,
                     latest_anchor_seq=result.latest_anchor_seq, warnings=list(result.warnings))


@router.get("/audit/{entity_type}/{entity_id}", response_model=list[AuditOut])
def audit_history(entity_type: Annotated[str, Path(max_length=30, pattern=r"^[^\x00]+$")],
                  entity_id: Annotated[str, Path(max_length=50, pattern=r"^[^\x00]+$")],
                  actor: CurrentActor, db: DB) -> list[AuditOut]:
    """An entity's audit records, newest first (``audit.read``); the read itself is audited."""
    return [AuditOut.model_validate(r) for r in audit.history(db, actor, entity_type, entity_id)]


@router.post("/jobs/run", response_model=dict[str, int])
def run_jobs(body: JobsIn, request: Request, actor: CurrentActor, db: DB) -> dict[str, int]:
    settings: Settings = request.app.state.settings
    if body.now is not None and settings.mode is not Mode.DEV:
        raise JobsClockRefused()
    return jobs.run_due(db, actor, body.now)
