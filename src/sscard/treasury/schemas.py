"""What the treasury's interfaces send and answer (docs/treasury.md "API"): the service's views as Pydantic models
(read from the dataclasses by attribute), and the bodies of the requests. Amounts are integer fen."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Code = Field(min_length=1, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_.\-]*$", examples=["PEN-ICBC-COL"])
Key = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$", description="the proposer's idempotency key")
Ref = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:/\-]+$")
Fen = Field(gt=0, le=2**62, description="fen")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class DepositOut(_Out):
    tender_ref: str
    principal: int
    rate_bp: int = Field(description="annual rate in basis points: 175 = 1.75 %")
    term_months: int
    placed_on: dt.date
    maturity_on: dt.date
    source_code: str = Field(description="the 财政专户 it came from and returns to")


class AccountOut(_Out):
    code: str
    fund: str
    bank_code: str
    kind: str
    account_no: str
    name: str
    status: str
    ledger_code: str
    balance: int = Field(description="fen: the ledger's balance, what the bank should hold")
    deposit: DepositOut | None = None


class PositionOut(_Out):
    fund: str
    collection: int
    payment: int
    special: int
    deposits: int
    total: int
    interest_earned: int


class InstructionOut(_Out):
    id: int
    reference: str = Field(description="the bank's statement line carries it (EndToEndId)")
    kind: str
    from_code: str
    to_code: str
    fund: str
    amount: int
    interest: int
    plan_no: str | None
    memo: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    reject_reason: str | None


class BalanceCheckOut(_Out):
    account_code: str
    day: dt.date
    statement_balance: int
    ledger_balance: int
    difference: int = Field(description="statement − ledger, fen")
    open_items: int = Field(description="bank-only lines − ledger-only transfers, fen, signed")
    status: str = Field(description="ok, explained or unexplained")


class ImportOut(_Out):
    statement_id: int
    account_code: str
    format: str
    lines: int
    matched: int
    queued: int
    checks: list[BalanceCheckOut]


class QueueItemOut(_Out):
    line_id: int
    account_code: str
    statement_id: str
    line_no: int
    booking_date: dt.date
    direction: str = Field(description="C money in, D money out")
    amount: int
    reference: str
    bank_ref: str
    description: str
    suggestions: list[str] = Field(description="ledger transfer ids that may be this line, best first")
    note: str


class StatementOut(BaseModel):
    id: int
    account: str
    statement_id: str
    format: str
    from_date: dt.date
    to_date: dt.date
    opening: int
    closing: int
    lines: int
    matched: int
    imported_by: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> StatementOut:
        return cls(**{k: v for k, v in row.items() if k not in ("from", "to")}, from_date=row["from"],
                   to_date=row["to"])


class ReconItemOut(_Out):
    day: dt.date
    reference: str
    description: str
    amount: int


class ReconciliationOut(_Out):
    account: AccountOut
    month: str
    as_of: dt.date
    bank_balance: int
    ledger_balance: int
    ledger_in_bank_not: list[ReconItemOut] = Field(description="企业已收、银行未收")
    ledger_out_bank_not: list[ReconItemOut] = Field(description="企业已付、银行未付")
    bank_in_ledger_not: list[ReconItemOut] = Field(description="银行已收、企业未收")
    bank_out_ledger_not: list[ReconItemOut] = Field(description="银行已付、企业未付")
    adjusted_bank: int
    adjusted_ledger: int
    balanced: bool


class AccountIn(BaseModel):
    code: str = Code
    fund: Literal["pension", "medical", "unemployment", "work_injury", "employment"]
    bank_code: str = Field(min_length=1, max_length=10, pattern=r"^[A-Z0-9]+$", examples=["ICBC"])
    kind: Literal["collection", "payment", "special"]
    account_no: str = Field(min_length=4, max_length=34, pattern=r"^[0-9A-Za-z\-]+$")
    name: str = Field(min_length=1, max_length=100)
    opened_on: dt.date | None = None


class MoneyIn(BaseModel):
    """收款 on a 收入户 or 付款 from a 支出户, as the bank did it (the reference its statement line carries)."""

    account: str = Code
    amount: int = Fen
    reference: str = Ref


class FlowIn(BaseModel):
    kind: Literal["sweep", "plan"] = Field(
        description="sweep: 收入户 → 财政专户; plan: 财政专户 → 支出户 on a 用款计划")
    from_code: str = Code
    to_code: str = Code
    amount: int = Fen
    request_key: str = Key
    plan_no: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:/\-]+$")
    memo: str = Field(default="", max_length=200)


class PlacementIn(BaseModel):
    request_key: str = Key
    special_code: str = Code
    deposit_code: str = Code
    certificate_no: str = Field(min_length=4, max_length=34, pattern=r"^[0-9A-Za-z\-]+$")
    tender_ref: str = Ref
    principal: int = Fen
    rate_bp: int = Field(ge=0, le=10_000)
    term_months: int = Field(ge=1, le=120)
    placed_on: dt.date
    bank_code: str | None = Field(default=None, min_length=1, max_length=10, pattern=r"^[A-Z0-9]+$")


class MaturityIn(BaseModel):
    request_key: str = Key


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class MatchIn(BaseModel):
    transfer_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=200)


class ExplainIn(BaseModel):
    note: str = Field(min_length=1, max_length=200)


class BookIn(BaseModel):
    as_: Literal["charge", "interest"] = Field(alias="as", description="charge: a debit line; interest: a credit")
    note: str = Field(default="", max_length=200)


class Rematched(BaseModel):
    matched: int
