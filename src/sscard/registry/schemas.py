"""Pydantic shapes for persons (API and CLI in/out)."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field


class LivingStatus(enum.StrEnum):
    """AAC060 人员生存状态."""

    ALIVE = "1"
    DECEASED = "2"
    IMPRISONED = "3"
    MISSING = "4"
    UNDETERMINED = "5"


class PersonIn(BaseModel):
    id_number: str = Field(description="18-digit citizen ID number; a 15-digit legacy number is upgraded",
                           examples=["441802199001010017"], max_length=40)
    name: str = Field(description="Full Unicode, 1–50 characters", max_length=200)
    sex: str | None = Field(default=None, description="1 male, 2 female; must match the ID number if given")
    birth_date: dt.date | None = Field(default=None, description="must match the ID number if given")
    region_code: str = Field(description="one of Qingyuan's 8 county-level division codes", max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    ethnicity: str = Field(default="01", pattern=r"^(0[1-9]|[1-4][0-9]|5[0-6]|9[78])$",
                           description="民族 code, GB/T 3304 (01 汉族 … 56 基诺族, 97 其他, 98 外国血统)")


class PersonLookup(BaseModel):
    id_number: str = Field(description="18-digit citizen ID number (a 15-digit legacy number is upgraded)",
                           examples=["441802199001010017"], max_length=40)


class PersonUpdate(BaseModel):
    phone: str | None = Field(default=None, max_length=40)
    region_code: str | None = Field(default=None, max_length=20)
    living_status: LivingStatus | None = None


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    ethnicity: str
    region_code: str
    phone: str | None
    living_status: str
    legacy_id_number: str | None
