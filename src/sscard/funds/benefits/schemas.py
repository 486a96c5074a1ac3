"""Pydantic shapes of the benefit use cases (API and CLI in/out). Amounts are integer fen."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from sscard.funds import PERIOD_PATTERN
from sscard.funds.benefits.models import BenefitKind

# What the holder or the business section does about each bank failure (退票原因 → 处理办法).
WHAT_TO_DO: dict[str, tuple[str, str]] = {
    "NAME_MISMATCH": ("户名与账号不符：请持身份证到合作银行核对户名，或到经办机构更正姓名后重新发放",
                      "The account name does not match: check the name at the bank or correct it at the agency"),
    "ACCOUNT_CLOSED": ("账户已销户：请到经办机构登记新的收款账户（社保卡银行账户）",
                       "The account is closed: register a new payment account at the agency"),
    "ACCOUNT_FROZEN": ("账户被冻结：请到合作银行办理解冻后告知经办机构",
                       "The account is frozen: have it unfrozen at the bank, then tell the agency"),
    "ACCOUNT_LOST": ("卡已挂失：请补领社保卡或解除挂失后告知经办机构",
                     "The card is reported lost: get a replacement or lift the loss, then tell the agency"),
    "FINANCIAL_NOT_ACTIVATED": ("社保卡金融功能未激活：请到合作银行网点激活后告知经办机构",
                                "The card's financial function is not activated: activate it at the bank"),
    "NO_ACCOUNT": ("银行无此账号：请到经办机构核对或登记收款账户",
                   "The bank has no such account: check or register the payment account at the agency"),
    "INSUFFICIENT_BALANCE": ("余额不足（代发不应出现）：请联系经办机构", "Insufficient balance: contact the agency"),
    "NOT_CERTIFIED": ("超过12个月未进行资格认证，已暂停发放：认证后次月补发",
                      "Payments stopped: no annual certification for 12 months; back-paid after certification"),
    "DECEASED": ("公安部门数据显示死亡，已暂停发放：如有误请到经办机构核实",
                 "Suspended: death reported by public security; contact the agency if wrong"),
    "NO_PAYMENT_ACCOUNT": ("未登记收款账户：请激活社保卡金融功能或到经办机构登记账户",
                           "No payment account: activate the card's bank account or register one at the agency"),
}


def what_to_do(reason: str, lang: str = "zh") -> str:
    zh, en = WHAT_TO_DO.get(reason, ("请联系经办机构", "Contact the agency"))
    return en if lang == "en" else zh


class EntitlementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int
    kind: BenefitKind
    amount: int = Field(gt=0, description="fen per month, or the one-off amount")
    start_period: str = Field(pattern=PERIOD_PATTERN, description="first month due, YYYY-MM")
    months: int | None = Field(default=None, ge=1, le=600,
                               description="duration in months (unemployment); none = open-ended; one-offs: 1")
    fund: str | None = Field(default=None, description="fund paying it; default by kind")
    reference: str | None = Field(default=None, max_length=64, description="award decision number")


class EntitlementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    kind: str
    fund: str
    start_period: str
    end_period: str | None
    status: str
    reference: str | None


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    batch_no: str
    kind: str
    period: str
    bank_code: str
    line_count: int
    total_amount: int
    state: str
    success_count: int
    success_amount: int
    failure_count: int
    failure_amount: int
    created_at: dt.datetime
    posted_at: dt.datetime | None

    @property
    def balanced(self) -> bool:
        """Header = Σ successes + Σ failures (before the return: nothing answered yet, so 0 + 0 ≤ header)."""
        return self.state != "posted" or (self.success_count + self.failure_count == self.line_count
                                          and self.success_amount + self.failure_amount == self.total_amount)


class FailureOut(BaseModel):
    """One entry of the re-issue queue (退票)."""

    id: int
    state: str
    reason_code: str
    what_to_do: str
    person_id: int
    name: str
    amount: int
    period_due: str
    batch_no: str
    line_id: int
    reissue_line_id: int | None
    correction: str | None
    corrected_by: str | None


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=2, max_length=200, description="what was corrected (and how it was checked)")
    bank_code: str | None = Field(default=None, max_length=10, description="new payment account: bank")
    account_no: str | None = Field(default=None, max_length=40)
    holder_name: str | None = Field(default=None, max_length=50)


class MonthOut(BaseModel):
    period: str
    owed: int = Field(description="payments owed in this run (incl. back-pay)")
    held: int = Field(description="months stopped in this run (no certification, death data)")
    released: int = Field(description="stopped months back-paid in this run")
    no_account: int = Field(description="payments waiting for a payment account")
    batches: list[BatchOut]
    resumed: bool = Field(description="true when an earlier, interrupted run was continued")


class ReissueRunOut(BaseModel):
    batches: list[BatchOut]
    reissued: int
    waiting_for_account: int


class PaymentOut(BaseModel):
    """One month (or one-off) owed to a person, as the cardholder portal shows it."""

    kind: str
    period_due: str
    amount: int
    status: str = Field(description="paid | in_progress | failed | reissue_pending | no_account | stopped")
    attempts: int = Field(default=0, description="lines sent for it (1 + re-issues)")
    paid_on: dt.datetime | None = None
    bank_code: str | None = None
    account_no_masked: str | None = None
    reason_code: str | None = None
    what_to_do: str | None = None


class CertificationStanding(BaseModel):
    """资格认证 of one person: whether a benefit needs it, when it was last done and when the next is due."""

    model_config = ConfigDict(frozen=True)

    needed: bool
    kinds: list[str]
    last_certified_on: dt.date | None
    due_on: dt.date | None
