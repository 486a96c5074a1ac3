"""Request and answer shapes of the health index outside FHIR resources: grant requests and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GrantIn(BaseModel):
    """``POST [base]/$grant``: the card in the terminal. The exact bytes of this body are what the card's
    cryptogram (``X-Card-Presence``) covers; ``nonce`` makes each request's bytes, and so its cryptogram, new."""

    model_config = ConfigDict(extra="forbid")
    card_no: str = Field(min_length=1, max_length=20)
    nonce: str | None = Field(default=None, max_length=64)


class EmergencyIn(BaseModel):
    """``POST [base]/$break-glass``: the patient's card number and why the index is read without consent."""

    model_config = ConfigDict(extra="forbid")
    card_no: str = Field(min_length=1, max_length=20)
    reason: str = Field(max_length=500)


class SensitiveCategoriesIn(BaseModel):
    effective_from: dt.date
    categories: list[dict[str, Any]]


class StatsCellOut(BaseModel):
    division: str
    month: str
    encounter_type: str
    count: int | None = Field(description="null: fewer than health.stats_min_cell (suppressed)")


class GrantOut(BaseModel):
    grant_id: str
    institution_code: str
    operator: str
    method: str
    purpose: str
    reason: str | None
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    needs_review: bool
