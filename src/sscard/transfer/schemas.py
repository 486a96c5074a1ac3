"""Shapes of the transfer: the bodies of the signed messages (strict: unknown fields, floats and wrong types are
refused) and what the service answers with."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Fen = Annotated[int, Field(ge=0, le=10**13)]
Period = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Month(_Body):
    period: Period
    base_fen: Fen
    amount_fen: Fen
    personal_fen: Fen


class PensionPart(_Body):
    """养老保险: months paid, the personal account (with this year's interest) and the pooled share."""

    months: Annotated[int, Field(ge=0, le=1200)]
    personal_fen: Fen  # the personal account's balance when the voucher was issued
    interest_fen: Fen  # this year's interest on it, to the voucher's month (transfer.pension.interest_bp)
    pool_fen: Fen  # the pooled fund's share: transfer.pension.pool_share_bp of the months' bases (from 1998)
    interest_bp: Annotated[int, Field(ge=0, le=10_000)]
    pool_share_bp: Annotated[int, Field(ge=0, le=10_000)]
    history: Annotated[list[Month], Field(max_length=1200)]

    @model_validator(mode="after")
    def _months(self) -> PensionPart:
        if self.months != len(self.history) or len({m.period for m in self.history}) != len(self.history):
            raise ValueError("months must be the number of distinct months in history")
        return self

    @property
    def total_fen(self) -> int:
        return self.personal_fen + self.interest_fen + self.pool_fen


class MedicalPart(_Body):
    """医疗保险: months paid and the personal medical account's balance."""

    months: Annotated[int, Field(ge=0, le=1200)]
    personal_fen: Fen
    history: Annotated[list[Month], Field(max_length=1200)]

    @model_validator(mode="after")
    def _months(self) -> MedicalPart:
        if self.months != len(self.history) or len({m.period for m in self.history}) != len(self.history):
            raise ValueError("months must be the number of distinct months in history")
        return self


class PersonRef(_Body):
    id_number: Annotated[str, Field(min_length=15, max_length=18, pattern=r"^[0-9]{15}([0-9]{2}[0-9X])?$")]
    name: Annotated[str, Field(min_length=1, max_length=50)]


class VoucherBody(_Body):
    """参保缴费凭证: what the sending city holds of the person and will transfer."""

    voucher_no: Code
    issued_on: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    person: PersonRef
    pension: PensionPart
    medical: MedicalPart
    total_fen: Fen

    @model_validator(mode="after")
    def _total(self) -> VoucherBody:
        if self.total_fen != self.pension.total_fen + self.medical.personal_fen:
            raise ValueError("total_fen must be the pension total plus the medical account")
        return self


class PayTo(_Body):
    bank_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,10}$")]
    account_no: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$")]
    account_name: Annotated[str, Field(min_length=1, max_length=50)]


class ContactLetterBody(_Body):
    """联系函: the receiving city asks for the transfer of the voucher's record and says where to pay."""

    voucher_no: Code
    voucher_digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    person: PersonRef
    pay_to: PayTo


class NoticeBody(_Body):
    """基金划转通知: the sending city paid the amounts (bank reference) and sends the record with them."""

    voucher_no: Code
    bank_ref: Code
    pay_to: PayTo
    pension_personal_fen: Fen
    pension_interest_fen: Fen
    pension_pool_fen: Fen
    medical_personal_fen: Fen
    total_fen: Fen


class AckBody(_Body):
    in_reply_to: Code
    voucher_no: Code
    status: Annotated[str, Field(pattern=r"^(applied)$")]


class ReceiptBody(_Body):
    in_reply_to: Code
    voucher_no: Code
    received_fen: Fen
    status: Annotated[str, Field(pattern=r"^(credited)$")]


class CaseOut(BaseModel):
    """One transfer as either city sees it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    voucher_no: str
    direction: str  # out (this city sends) | in (this city receives)
    person_id: int
    partner_city: str
    status: str
    pension_months: int
    pension_personal_fen: int
    pension_interest_fen: int
    pension_pool_fen: int
    medical_months: int
    medical_personal_fen: int
    total_fen: int
    bank_ref: str | None
    counterpart_fen: int | None
    last_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    audit_seq: int | None = None


class ReconRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    voucher_no: str
    direction: str
    partner_city: str
    status: str
    voucher_fen: int  # what the voucher says
    ledger_fen: int  # what this city's ledger moved for it (paid out, or credited in)
    counterpart_fen: int | None  # what the other city answered it received (out) or sent (in)
    agrees: bool


class ReconReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    city: str
    rows: list[ReconRow]
    sent_fen: int  # Σ ledger_fen of completed outgoing transfers
    sent_confirmed_fen: int  # Σ what the receiving cities said they credited
    received_fen: int  # Σ ledger_fen of incoming transfers credited
    received_announced_fen: int  # Σ what the sending cities said they paid
    agrees: bool
