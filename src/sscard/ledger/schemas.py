"""Pydantic shapes in and out of the ledger. Amounts are integer fen; strict mode refuses floats and strings."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class TransferIn(BaseModel):
    """One transfer as the caller asks for it. ``id`` is the idempotency key: a retry sends the same body."""

    model_config = ConfigDict(frozen=True, strict=True)

    id: str = Field(max_length=64, description="client-chosen unique id, e.g. settle:2026:000123:fund")
    debit_account: str = Field(max_length=100, description="code of the account debited (money leaves)")
    credit_account: str = Field(max_length=100, description="code of the account credited (money arrives)")
    amount: int = Field(description="fen, > 0")
    pending: bool = Field(default=False, description="reserve only (冻结); post or void it later")
    code: str = Field(default="", max_length=40, description="reason, e.g. medical.settlement")
    reference: str | None = Field(default=None, max_length=64, description="the business record, e.g. settlement no")


class TransferOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    id: str
    debit_account: str
    credit_account: str
    amount: int
    state: str
    pending_id: str | None
    code: str
    reference: str | None
    timestamp: dt.datetime
    replayed: bool = Field(default=False, description="true when a retry returned the first result")


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    code: str
    kind: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int

    @property
    def credit_balance(self) -> int:
        """Posted credits minus posted debits: what a person's account holds (余额)."""
        return self.credits_posted - self.debits_posted

    @property
    def available_credit_balance(self) -> int:
        """The credit balance less what pending debits have reserved (可用余额)."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def debit_balance(self) -> int:
        return self.debits_posted - self.credits_posted


class HistoryEntry(BaseModel):
    """One transfer seen from one account: ``side`` says whether it debited or credited that account."""

    model_config = ConfigDict(frozen=True)

    seq: int
    id: str
    timestamp: dt.datetime
    state: str
    side: str  # debit | credit
    amount: int
    counterparty: str
    pending_id: str | None
    code: str
    reference: str | None


class ZeroSum(BaseModel):
    model_config = ConfigDict(frozen=True)

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def ok(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending
