"""Pydantic shapes for applications and cards."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from sscard.cards.states import CancelReason, ExchangeReason, ProductionStatus, Source


class ApplyNew(BaseModel):
    id_number: str = Field(max_length=40)
    source: Source = Source.PERSONAL
    employer_uscc: str | None = Field(default=None, max_length=40)


class ApplyBulk(BaseModel):
    employer_uscc: str = Field(max_length=40, description="统一社会信用代码 of the employer")
    id_numbers: list[str] = Field(min_length=1, max_length=5000)


class ApplyExchange(BaseModel):
    reason: ExchangeReason


class AdvanceProduction(BaseModel):
    to_status: ProductionStatus
    outlet_code: str | None = Field(default=None, max_length=20, description="required for AT_OUTLET (60)")
    bank_code: str | None = Field(default=None, max_length=10)


class PinIn(BaseModel):
    pin: str = Field(max_length=20)


class ChangePin(BaseModel):
    old_pin: str = Field(max_length=20)
    new_pin: str = Field(max_length=20)


class UnlockIn(BaseModel):
    new_pin: str | None = Field(default=None, max_length=20, description="optionally reset the PIN too")


class CancelIn(BaseModel):
    reason: CancelReason


class CardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    card_no: str
    person_id: int
    application_id: int
    production_status: str
    app_status: str | None
    outlet_id: int | None
    bank_code: str | None
    pin_failures: int
    temp_loss_expires_at: dt.datetime | None
    issued_at: dt.datetime | None
    activated_at: dt.datetime | None
    expires_on: dt.date | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None


class FeeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    receipt_no: str
    business: str
    reason: str
    amount_fen: int


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    business: str
    reason: str
    source: str
    employer_uscc: str | None
    status: str
    old_card_id: int | None
    created_at: dt.datetime


class ApplicationResult(BaseModel):
    application: ApplicationOut
    card: CardOut
    fee: FeeOut


class BulkRow(BaseModel):
    index: int
    id_number: str
    ok: bool
    card_no: str | None = None
    error_code: str | None = None
    error: str | None = None


class BulkResult(BaseModel):
    accepted: int
    refused: int
    rows: list[BulkRow]


class PinCheckOut(BaseModel):
    ok: bool
    remaining_tries: int
    locked: bool
