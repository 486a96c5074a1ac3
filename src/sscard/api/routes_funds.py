"""/funds: run a month (contributions then benefits), disbursement batches, the re-issue queue, corrections,
re-issues, entitlements, certifications and a person's payments. Thin: parse, authorise, call one service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor
from sscard.api.errors import language
from sscard.funds import PERIOD_PATTERN
from sscard.funds.benefits import entitlements, reissue
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.schemas import (
    BatchOut,
    CorrectionIn,
    EntitlementIn,
    EntitlementOut,
    FailureOut,
    PaymentOut,
    ReissueRunOut,
)
from sscard.funds.month import MonthRunOut, run_month

router = APIRouter(tags=["funds"])
Period = Annotated[str, Path(pattern=PERIOD_PATTERN, examples=["2014-07"])]
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD_PATTERN)]
Id = Annotated[int, Path(ge=1, le=2**62)]


class RunIn(BaseModel):
    benefits_only: bool = Field(default=False, description="skip the contributions half")


class ReissueIn(BaseModel):
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN,
                               description="label of the re-issue batches; default the current month")


class CertifyIn(BaseModel):
    certified_on: dt.date | None = Field(default=None, description="default today")
    method: str = Field(default="counter", max_length=12)


@router.post("/funds/months/{period}/run", response_model=MonthRunOut)
def run(period: Period, body: RunIn, actor: CurrentActor, db: DB) -> MonthRunOut:
    """Run or resume the month (synchronous; a million lines take about a minute — use the CLI for those)."""
    return run_month(db, actor, period, contributions=not body.benefits_only)


@router.get("/funds/batches", response_model=list[BatchOut])
def batches(actor: CurrentActor, db: DB, period: PeriodQuery = None,
            kind: Annotated[str | None, Query(pattern="^(regular|reissue)$")] = None) -> list[BatchOut]:
    return benefits.list_batches(db, actor, period, kind)


@router.get("/funds/batches/{batch_no}", response_model=BatchOut)
def batch(batch_no: Annotated[str, Path(max_length=40)], actor: CurrentActor, db: DB) -> BatchOut:
    return benefits.get_batch(db, actor, batch_no)


@router.get("/funds/failures", response_model=list[FailureOut])
def failures(request: Request, actor: CurrentActor, db: DB,
             state: Annotated[str | None, Query(pattern="^(open|corrected|reissued|paid|failed|all)$")] = None,
             limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> list[FailureOut]:
    return reissue.failures(db, actor, state, language(request), limit)


@router.post("/funds/failures/{reissue_id}/correction", response_model=FailureOut)
def correct(reissue_id: Id, body: CorrectionIn, actor: CurrentActor, db: DB) -> FailureOut:
    return reissue.correct_failure(db, actor, reissue_id, body)


@router.post("/funds/reissues/run", response_model=ReissueRunOut)
def run_reissues(body: ReissueIn, actor: CurrentActor, db: DB) -> ReissueRunOut:
    return reissue.run_reissues(db, actor, body.period)


@router.post("/funds/entitlements", response_model=EntitlementOut, status_code=201)
def grant(body: EntitlementIn, actor: CurrentActor, db: DB) -> EntitlementOut:
    return entitlements.grant_entitlement(db, actor, body)


@router.get("/funds/persons/{person_id}/entitlements", response_model=list[EntitlementOut])
def entitlements_of(person_id: Id, actor: CurrentActor, db: DB) -> list[EntitlementOut]:
    return entitlements.entitlements_of(db, actor, person_id)


@router.post("/funds/persons/{person_id}/certifications", status_code=201)
def certify(person_id: Id, body: CertifyIn, actor: CurrentActor, db: DB) -> dict[str, int]:
    return {"certification_id": entitlements.certify(db, actor, person_id, body.certified_on, body.method)}


@router.get("/funds/persons/{person_id}/payments", response_model=list[PaymentOut])
def payments(person_id: Id, request: Request, actor: CurrentActor, db: DB) -> list[PaymentOut]:
    return reissue.payments_for_person(db, actor, person_id, language(request))
