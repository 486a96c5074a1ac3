"""What the exchange interface takes and answers (pydantic): the administrators' and the departments' side."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from sscard.exchange.models import MODES

Mode = str
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$"


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    sharing_class: str = Field(description="unconditional 无条件共享 / conditional 有条件共享 / none 不予共享")
    sensitivity: int = Field(description="1 (public) … 4 (most sensitive)")
    modes: list[str]
    fields: list[str]
    description: str


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE, examples=["PSB"])
    name: str = Field(min_length=1, max_length=80, examples=["清远市公安局"])
    endpoint: str | None = Field(default=None, max_length=300, pattern=r"^https?://[^\s]+$",
                                 description="where subscribed events are delivered (POST)")


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    endpoint: str | None
    status: str
    created_at: dt.datetime


class KeyOut(BaseModel):
    key_id: str
    department: str
    status: str
    created_at: dt.datetime


class IssuedKey(BaseModel):
    key_id: str
    department: str
    secret_hex: str = Field(description="shown once: sscard keeps it only sealed under the KMS KEK")


class AgreementItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=40)
    modes: list[str] = Field(min_length=1, max_length=len(MODES))


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(pattern=CODE)
    items: list[AgreementItemIn] = Field(min_length=1, max_length=20)
    purpose: str = Field(min_length=2, max_length=200, examples=["核验低保申请人的参保状态"])
    legal_basis: str = Field(min_length=2, max_length=200, examples=["《政务数据共享条例》第十四条"])
    valid_from: dt.date
    valid_until: dt.date
    daily_quota: int = Field(ge=1, le=100_000_000)
    masking: str = Field(default="masked", pattern=r"^(masked|clear)$",
                         description="masked: identifiers and names in answers masked; clear: as registered")


class AgreementOut(BaseModel):
    agreement_no: str
    department: str
    items: dict[str, list[str]]
    purpose: str
    legal_basis: str
    valid_from: dt.date
    valid_until: dt.date
    daily_quota: int
    masking: str
    status: str
    requested_by: str
    approved_by: str | None
    approved_at: dt.datetime | None
    revoked_at: dt.datetime | None
    reason: str | None
    in_force: bool


class Reason(BaseModel):
    reason: str = Field(min_length=2, max_length=200)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=40, examples=["card_status"])
    id_number: str = Field(min_length=15, max_length=18)
    name: str | None = Field(default=None, min_length=1, max_length=50)
    insurance: str | None = Field(default=None, pattern=r"^(pension|medical|unemployment)$",
                                  description="participation_status: which insurance type")


class VerifyOut(BaseModel):
    item: str
    result: bool
    reason: str = Field(description="CARD_NORMAL, NO_CARD, CARD_NOT_NORMAL, NAME_MISMATCH, PERSON_UNKNOWN, "
                                    "ENROLLED, NOT_ENROLLED, RECEIVING, NOT_RECEIVING, DECEASED, REGISTERED")
    agreement: str


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=40)
    id_number: str | None = Field(default=None, min_length=15, max_length=18)
    first: dt.date | None = Field(default=None, description="health_encounter_stats: first day")
    last: dt.date | None = Field(default=None, description="health_encounter_stats: last day")


class QueryOut(BaseModel):
    item: str
    agreement: str
    found: bool
    data: dict[str, object] | list[dict[str, object]]


class AccessOut(BaseModel):
    at: dt.datetime
    department: str
    department_name: str
    item: str
    item_name_zh: str
    item_name_en: str
    mode: str
    purpose: str
    agreement: str


class UsageRow(BaseModel):
    department: str
    agreement: str
    purpose: str
    requests: int
    persons: int
    by_item_mode: dict[str, int]
    daily_quota: int


class UsageReport(BaseModel):
    month: str
    rows: list[UsageRow]


class DeliveryReport(BaseModel):
    delivered: int
    failed: int
    pending: int
