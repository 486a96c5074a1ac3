"""Pydantic shapes of the employment use cases (API, pages, CLI). Amounts are integer fen; ID numbers leave
only masked."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from sscard.employment.states import CloseReason, RegistrationKind, SubsidyKind


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=15, max_length=18, description="公民身份号码 of a registered person")
    kind: RegistrationKind
    registered_on: dt.date | None = Field(default=None, description="登记日期; default today, never in the future")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: CloseReason
    closed_on: dt.date | None = Field(default=None, description="注销日期; default today, not before the "
                                                                  "registration, never in the future")


class BenefitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: int | None = Field(default=None, ge=1, le=600, description="领取期限; default and maximum: policy "
                                                                       "employment.ui.max_months")


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    id_number_masked: str
    kind: str
    status: str
    registered_on: dt.date
    channel: str
    closed_on: dt.date | None
    close_reason: str | None
    entitlement_id: int | None = Field(description="the unemployment benefit opened from it (benefits)")


class SubsidyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: int = Field(ge=1)
    kind: SubsidyKind


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=200)


class SubsidyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    registration_id: int
    person_id: int
    kind: str
    amount: int
    status: str
    proposed_by: str
    decided_by: str | None
    note: str | None
    entitlement_id: int | None


class FlexibleIn(BaseModel):
    """灵活就业人员参保登记 with its first 缴费申报: the schemes and the base as a share of the average wage."""

    model_config = ConfigDict(extra="forbid")

    pension: bool = True
    medical: bool = True
    base_ratio_bp: int = Field(ge=1, le=50_000, description="缴费基数 as a share of the average wage, bp "
                                                           "(6000 = 60 %); within policy bounds")
    start_period: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                                     description="first month; default the current month")


class DeclarationIn(BaseModel):
    """缴费申报: a new base from a month on."""

    model_config = ConfigDict(extra="forbid")

    base_ratio_bp: int = Field(ge=1, le=50_000)
    from_period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class FlexibleOut(BaseModel):
    person_id: int
    schemes: list[str]
    base_ratio_bp: int
    base_fen: int = Field(description="the monthly base the ratio gives in the month declared")
    from_period: str
