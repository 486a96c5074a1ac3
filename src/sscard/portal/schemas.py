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
    can_lift_loss: bool = False  # a temporary loss: lifted online
    can_replace: bool = False  # under formal loss, no new card being made: 补卡 online
    can_exchange: bool = False  # 换卡 online


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
    lines: list[LineView] = Field(default_factory=list)


class Medical(_Frozen):
    insured: bool
    scheme: str | None
    balance_fen: int
    settlements: list[SettlementView] = Field(default_factory=list)
    credits: list[AccountCredit] = Field(default_factory=list)


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


class StandingView(_Frozen):
    """参保状态 of one insurance type; ``months_paid`` is 缴费年限 in months (``years``/``months`` split it)."""

    insurance_type: str
    status: str  # paying | suspended | stopped | none | insured (enrolled, no contribution recorded here)
    first_period: str | None
    last_paid_period: str | None
    months_paid: int
    payer: str | None

    @property
    def years(self) -> int:
        return self.months_paid // 12

    @property
    def months(self) -> int:
        return self.months_paid % 12


class ContributionLine(_Frozen):
    """One month of one insurance type in 缴费记录 / 缴费清单, with the employer's and the person's share."""

    period: str
    insurance_type: str
    source: str  # withholding | employer
    base_fen: int | None
    employer_fen: int
    employee_fen: int
    amount_fen: int
    status: str
    failed: bool
    advice: str | None


class Certificate(_Frozen):
    """参保证明 (``insured``) or 缴费清单 (``contributions``) as issued: what the PDF prints."""

    code: str  # the verification code, grouped for reading (XXXX-XXXX-XXXX-XXXX)
    kind: str
    name: str
    id_masked: str
    issued_at: dt.datetime
    valid_until: dt.date
    standings: list[StandingView] = Field(default_factory=list)
    lines: list[ContributionLine] = Field(default_factory=list)


class CertificateCheck(_Frozen):
    """What the public verification page shows: nothing beyond the masked name and ID and the validity."""

    kind: str
    name_masked: str
    id_masked: str
    issued_on: dt.date
    valid_until: dt.date
    valid: bool


class LineView(_Frozen):
    """One line of a medical bill as settled (结算明细)."""

    name: str
    quantity: str
    amount_fen: int
    own_expense_fen: int  # 全自费 + 超限价 + 不予支付
    first_self_pay_fen: int  # 乙类先行自付
    in_scope_fen: int  # 纳入统筹范围


class AccountCredit(_Frozen):
    """个人账户划入: one credit of the personal medical account."""

    credited_at: dt.datetime
    amount_fen: int


class OutletChoice(_Frozen):
    code: str
    name: str


class OrderStep(_Frozen):
    step: str  # accepted | making | made | at_outlet | done
    done: bool


class CardOrderView(_Frozen):
    """A card being replaced or exchanged, ordered online or at a counter, with where it goes and its progress."""

    card_no: str
    business: str
    reason: str
    production_status: str
    delivery: str | None  # mail | pickup | None (taken at a counter)
    address: str | None
    outlet_code: str | None
    outlet_name: str | None
    fee_fen: int
    ordered_at: dt.datetime
    steps: list[OrderStep] = Field(default_factory=list)
    failed: bool = False  # the bank or the card maker refused: being redone


class Quote(_Frozen):
    business: str
    reason: str
    fee_fen: int
