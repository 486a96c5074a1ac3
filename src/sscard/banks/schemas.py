"""What the banks package hands out: where a person is paid or withheld (``PaymentAccount``); the card
purchase authorisation's request and answer (``PurchaseIn``, ``AuthOut``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


@dataclass(frozen=True, slots=True)
class PaymentAccount:
    """The bank account the agency pays benefits into and withholds contributions from."""

    person_id: int
    bank_code: str
    account_no: str
    holder_name: str
    source: str  # card: the valid card's bank account | registered: an account registered at the agency


# ---------------------------------------------------------------------------------------------- card purchases

_HEX = r"^[0-9A-Fa-f]*$"


class PurchaseIn(BaseModel):
    """What a hospital terminal sends the card's issuing bank for a PBOC purchase (授权请求): the card's PAN, the
    fields of its GENERATE AC answer, and the CDOL1 values the terminal sent (the amount in fen is among them,
    so the ARQC covers it). ``ref`` is the terminal's idempotency key: a retry gets the first answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    pan: str = Field(pattern=r"^[0-9]{12,19}$")
    pan_sequence: int = Field(default=1, ge=0, le=99)
    algorithm: Literal["sm4", "3des"]
    key_version: int | None = Field(default=None, ge=1, le=9999)
    atc: int = Field(ge=0, le=0xFFFF)
    aip: str = Field(min_length=4, max_length=4, pattern=_HEX)
    cvr: str = Field(min_length=8, max_length=8, pattern=_HEX)
    arqc: str = Field(min_length=16, max_length=16, pattern=_HEX)
    un: str = Field(min_length=8, max_length=8, pattern=_HEX)
    tvr: str = Field(default="0000000000", min_length=10, max_length=10, pattern=_HEX)
    amount: int = Field(gt=0, lt=10**12)  # fen
    txn_date: str = Field(pattern=r"^[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$")  # YYMMDD (9A)
    merchant: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    terminal_no: str = Field(default="", max_length=20)

    @field_validator("txn_date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        dt.date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))  # ValueError: not a calendar date
        return value

    @property
    def day(self) -> dt.date:
        return dt.date(2000 + int(self.txn_date[:2]), int(self.txn_date[2:4]), int(self.txn_date[4:]))


class AuthOut(BaseModel):
    """The issuer's answer (授权应答): approved, or the reason; the ARC and the ARPC the card checks (issuer
    authentication) whenever the cryptogram was genuine; a 6-digit authorisation code when approved."""

    model_config = ConfigDict(frozen=True)

    ref: str
    approved: bool
    reason: str | None
    arc: str
    arpc: str | None
    auth_code: str | None
    amount: int
    atc: int
    replayed: bool = False


class RefundIn(BaseModel):
    """A refund of an approved card purchase (退货): the whole amount of the purchase ``original_ref`` back to the
    card's account, from the merchant's. ``ref`` is the message id: a retry gets the first answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    original_ref: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    amount: int = Field(gt=0, lt=10**12)  # fen: the purchase's amount
    merchant: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")


class RefundOut(BaseModel):
    """The issuer's answer to a refund: done (``refunded_on``: the bank's day), or the reason it is not."""

    model_config = ConfigDict(frozen=True)

    ref: str
    original_ref: str
    ok: bool
    reason: str | None  # PURCHASE_UNKNOWN | AMOUNT_MISMATCH | ALREADY_REFUNDED
    amount: int
    refunded_on: dt.date | None
    replayed: bool = False


class PurchaseLine(BaseModel):
    """One approved purchase on the bank's statement for a merchant and day (what reconciliation compares)."""

    ref: str
    amount: int
    atc: int
    auth_code: str
    terminal_no: str
    refunded: int = 0  # fen refunded of this purchase (its settlement was reversed), 0 if none
    refund_ref: str | None = None
