"""What the portal's use cases return: frozen views with money in integer fen and personal data masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from sscard.access import Actor


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: dt.datetime
    actor: Actor
    kiosk: bool = False
    audit_seq: int | None = None  # the audit record of the change that issued it (a password change)


class CardView(_Frozen):
    card_no: str
    app_status: str | None
    production_status: str
    expires_on: dt.date | None
    temp_loss_expires_at: dt.datetime | None
    can_report_loss: bool


class Profile(_Frozen):
    """Personal data as the cardholder sees it: ID number and phone masked (invariant 8)."""

    name: str
    id_masked: str
    sex: str
    birth_date: dt.date
    region_code: str
    phone_masked: str | None
    address: str | None
    cards: list[CardView] = Field(default_factory=list)


class SettlementView(_Frozen):
    setl_id: str
    settled_on: dt.date
    institution: str
    total_fen: int
    fund_paid_fen: int
    account_paid_fen: int
    cash_fen: int
    status: str


class Medical(_Frozen):
    insured: bool
    scheme: str | None
    balance_fen: int
    settlements: list[SettlementView] = Field(default_factory=list)


class FundsRow(_Frozen):
    """One contribution month or one benefit payment (see reads.contribution_rows / payment_rows)."""

    period: str
    what: str  # insurance type or benefit kind (a code; the page names it)
    amount_fen: int
    status: str  # the funds package's status code
    failed: bool = False
    reason: str | None = None  # reason code of a failure
    advice: str | None = None  # what to do, in the reader's language


class FundsSection(_Frozen):
    available: bool  # False until the funds package provides the read
    rows: list[FundsRow] = Field(default_factory=list)
