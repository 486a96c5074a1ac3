"""/funds/contributions: enrolment, withholding authorisations (代扣协议), employer contribution files, arrears
payments, the month's debit batches and failures, and a person's contribution history. Thin: parse, call one
service function (which authorises); domain errors go through the app's handlers with their stable codes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, UploadFile
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor
from sscard.funds import PERIOD_PATTERN
from sscard.funds.contributions import arrears, history, service
from sscard.funds.contributions.employer import import_employer_file
from sscard.funds.contributions.schemas import (
    ArrearsPaymentResult,
    AuthorisationOut,
    BatchOut,
    ContributionRecord,
    EmployerImportResult,
    EnrolmentOut,
    FailureOut,
)
from sscard.funds.contributions.terms import ContribScheme

router = APIRouter(prefix="/funds/contributions", tags=["contributions"])
Period = Annotated[str, Path(pattern=PERIOD_PATTERN, examples=["2014-07"])]
Id = Annotated[int, Path(ge=1, le=2**62)]
IdNumber = Annotated[str, Field(min_length=15, max_length=18, examples=["441802198001011234"])]
MAX_FILE = 64 * 1024 * 1024  # an employer file of a very large employer is a few MB


class EnrolIn(BaseModel):
    id_number: IdNumber
    scheme: ContribScheme
    start_period: str = Field(pattern=PERIOD_PATTERN)
    base_ratio_bp: int | None = Field(default=None, description="share of the average wage, 6000 = 60 %")
    level: int | None = Field(default=None, description="residents' level (档次)")


class AuthoriseIn(BaseModel):
    id_number: IdNumber
    signed_on: dt.date
    signature_ref: str = Field(min_length=1, max_length=100, description="the signed bank form")
    valid_until: dt.date | None = None
    bank_code: str | None = Field(default=None, max_length=10, description="default: the card's bank account")
    account_no: str | None = Field(default=None, max_length=32)
    holder_name: str | None = Field(default=None, max_length=50)


class ArrearsIn(BaseModel):
    id_number: IdNumber  # in the body, not the path: ID numbers stay out of URLs and access logs


@router.post("/enrolments", response_model=EnrolmentOut, status_code=201)
def enrol(body: EnrolIn, actor: CurrentActor, db: DB) -> EnrolmentOut:
    """参保登记: join a scheme with a base ratio (flexible workers) or a level (residents)."""
    return service.enrol(db, actor, body.id_number, body.scheme, body.start_period,
                         base_ratio_bp=body.base_ratio_bp, level=body.level)


@router.post("/authorisations", response_model=AuthorisationOut, status_code=201)
def authorise(body: AuthoriseIn, actor: CurrentActor, db: DB) -> AuthorisationOut:
    """代扣协议: record a signed withholding authorisation (replaces the active one)."""
    return service.sign_authorisation(db, actor, body.id_number, signed_on=body.signed_on,
                                      signature_ref=body.signature_ref, valid_until=body.valid_until,
                                      bank_code=body.bank_code, account_no=body.account_no,
                                      holder_name=body.holder_name)


@router.post("/employer-files", response_model=EmployerImportResult, status_code=201)
def employer_file(file: UploadFile, actor: CurrentActor, db: DB) -> EmployerImportResult:
    """单位缴费文件: imported whole or refused whole (``EMPLOYER_FILE_*``); the same file again is a replay."""
    return import_employer_file(db, actor, file.file.read(MAX_FILE))


@router.post("/arrears-payments", response_model=ArrearsPaymentResult)
def pay_arrears(body: ArrearsIn, actor: CurrentActor, db: DB) -> ArrearsPaymentResult:
    """补缴: debit every unpaid month now from the authorised account (real-time bank debit)."""
    return arrears.pay_arrears(db, actor, body.id_number)


@router.get("/months/{period}/batches", response_model=list[BatchOut])
def batches(period: Period, actor: CurrentActor, db: DB) -> list[BatchOut]:
    return history.batches(db, actor, period)


@router.get("/months/{period}/failures", response_model=list[FailureOut])
def failures(period: Period, actor: CurrentActor, db: DB) -> list[FailureOut]:
    return history.failures(db, actor, period)


@router.get("/persons/{person_id}/history", response_model=list[ContributionRecord])
def person_history(person_id: Id, actor: CurrentActor, db: DB) -> list[ContributionRecord]:
    return history.contribution_history(db, actor, person_id)
