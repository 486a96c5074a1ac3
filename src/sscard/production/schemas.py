"""Pydantic shapes of the production API and CLI output."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field


class Resolution(enum.StrEnum):
    TAKE_REGISTER = "take_register"  # 以公安数据为准
    ACCEPT = "accept"  # 确认无误（仅提示类）
    REJECT = "reject"  # 不予制卡
    SEND_BACK = "send_back"  # 退回重新采集


class RowErrorOut(BaseModel):
    row_no: int
    code: str
    reason: str


class ImportOut(BaseModel):
    import_id: int
    kind: str
    rows_total: int
    rows_ok: int
    rows_bad: int
    errors: list[RowErrorOut]


class ComparisonOut(BaseModel):
    compared: int
    with_exceptions: int
    exceptions: int
    approved: int
    by_reason: dict[str, int]


class ExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    record_id: int
    reason_code: str
    detail: str
    field: str | None
    register_value: str | None
    status: str
    resolution: str | None
    resolved_by: str | None


class ExceptionReview(BaseModel):
    """An open exception as the operator deciding it needs it: whose record (name, masked ID number), the
    reason in both languages, and the collected value beside the register's for the field concerned."""

    exception: ExceptionOut
    name: str
    id_masked: str
    reason_zh: str
    reason_en: str
    collected_value: str | None


class BatchFailureOut(BaseModel):
    """A card of a batch the bank or the card maker returned as failed, with the holder for the operator."""

    card_no: str
    name: str
    id_masked: str
    state: str
    fail_code: str | None
    fail_reason: str | None


class ResolveIn(BaseModel):
    resolution: Resolution


class ResolveOut(BaseModel):
    exception: ExceptionOut
    record_status: str
    card_no: str | None
    new_exceptions: list[str] = Field(default_factory=list)
    audit_seq: int = Field(description="the audit record of the resolution")


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    batch_no: str
    bank_code: str
    kind: str
    stage: str
    record_count: int
    bank_ok: int
    bank_failed: int
    maker_sent: int
    maker_ok: int
    maker_failed: int
    delivered: int
    created_at: dt.datetime


class HandOverIn(BaseModel):
    outlet_code: str | None = Field(default=None, max_length=20)


class CreateBatchesIn(BaseModel):
    max_per_batch: int = Field(default=10_000, ge=1, le=200_000)
