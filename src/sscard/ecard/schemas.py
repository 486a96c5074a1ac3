"""What the e-card's use cases answer (pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from sscard.ecard.states import EcardStatus

Relation = Literal["parent", "child", "spouse", "grandparent", "grandchild"]
VerifyResult = Literal["valid", "expired", "revoked", "forged", "malformed", "used"]


class EcardOut(BaseModel):
    status: EcardStatus
    activated_at: dt.datetime
    activated_via: str


class IssuedCode(BaseModel):
    text: str = Field(description="the QR code's text: ESSC1. + base64url (docs/ecard.md)")
    issued_at: int
    expires_at: int
    validity_seconds: int
    key_version: int


class VerifyIn(BaseModel):
    code: str = Field(max_length=512)


class VerifyOut(BaseModel):
    result: VerifyResult
    valid: bool
    code: str | None = Field(default=None, description="the stable error code when not valid")
    key_version: int | None = None
    issued_at: int | None = None
    expires_at: int | None = None


class FamilyMemberOut(BaseModel):
    person_id: int
    relation: Relation
    name_masked: str
    status: EcardStatus
    consented_at: dt.datetime
