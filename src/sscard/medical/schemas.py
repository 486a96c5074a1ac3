"""Pydantic shapes of the institution API (after the national platform's 2206/2207/2208/2601/3201/3202) and of
the administrator's reads. Amounts are integer fen; every request names the institution's message id."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from sscard.medical.engine_schemas import LINES_MAX, BillLine, Split
from sscard.medical.terms import PLAIN_TEXT, Fen, FundExclusion, PersonType, RemoteCare, Scheme, VisitType

MsgId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", description="the institution's message id "
                                                                            "(msgid); a retry repeats it")]
SetlId = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$", description="settlement id (setl_id)")]
TerminalNo = Annotated[str | None, Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,20}$")]
CardNo = Annotated[str | None, Field(default=None, min_length=1, max_length=12)]
IdNumber = Annotated[str | None, Field(default=None, min_length=1, max_length=18)]
EcardCode = Annotated[str | None, Field(default=None, min_length=1, max_length=200,
                                        description="a scanned e-card code in place of the card (docs/ecard.md)")]
LegacyCardNo = Annotated[str | None, Field(default=None, min_length=4, max_length=20, pattern=r"^[0-9A-Za-z]{4,20}$",
                                           description="the old medical card's number, during the transition "
                                                       "window only (docs/transition.md)")]
IdentifiedBy = Literal["card", "id_number", "ecard", "legacy"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BillIn(_In):
    """The bill as the institution sends it; the hospital level is the institution's own, not the caller's."""

    bill_no: Annotated[str, Field(max_length=64, pattern=PLAIN_TEXT)] = ""
    date: dt.date = Field(description="settlement date; for an admission the discharge date (cap year)")
    visit_type: VisitType
    remote: RemoteCare = RemoteCare.NONE
    admission_no_in_year: Annotated[int, Field(strict=True, ge=1, le=366)] | None = None
    fund_exclusion: FundExclusion | None = None
    total_fen: Fen | None = None
    lines: list[BillLine] = Field(min_length=1, max_length=LINES_MAX)


class EligibilityIn(_In):
    """人员待遇享受检查 (2001/1101): by card, or by ID number where the card is formally lost or not yet made."""

    msg_id: MsgId
    terminal_no: TerminalNo = None
    card_no: CardNo = None
    id_number: IdNumber = None
    ecard_code: EcardCode = None
    legacy_card_no: LegacyCardNo = None
    year: Annotated[int, Field(strict=True, ge=2000, le=2999)] | None = None


class SettleIn(_In):
    """2206 预结算 and 2207 结算 share this body."""

    # fields added after messages were journalled: left out of the request hash while absent (journal.request_hash)
    HASH_OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset({"insuplc_admdvs"})

    msg_id: MsgId
    terminal_no: TerminalNo = None
    card_no: CardNo = None
    id_number: IdNumber = None
    ecard_code: EcardCode = None
    legacy_card_no: LegacyCardNo = None
    use_account: bool = Field(default=True, description="the patient lets the personal account pay (个账支付)")
    insuplc_admdvs: Annotated[str | None, Field(
        default=None, pattern=r"^[1-9][0-9]{5}$",
        description="参保地医保区划: the card's issuing 统筹区 as the terminal read it (卡识别码's region code); "
                    "another city's code settles through the provincial hub (docs/cross-region.md)")] = None
    bill: BillIn


class ReverseIn(_In):
    """2208 结算撤销 by the original settlement id."""

    msg_id: MsgId
    terminal_no: TerminalNo = None
    setl_id: SetlId


class VoidIn(_In):
    """2601 冲正: undo whatever the message ``original_msg_id`` did, even if its outcome is unknown."""

    msg_id: MsgId
    terminal_no: TerminalNo = None
    original_msg_id: MsgId


class AccumulatorsOut(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    year: int
    fund_paid_fen: int = 0
    deductible_paid_fen: int = 0
    in_scope_fen: int = 0
    account_spent_fen: int = 0
    admissions: int = 0
    settlements: int = 0


class EligibilityOut(BaseModel):
    """What the institution needs to decide whether to settle: who (masked), the scheme and the year's
    accumulators. No balance (only a settlement shows what the account paid and has left), no identifier the
    caller did not send (``card_no`` only when it was sent; no person number)."""

    model_config = ConfigDict(frozen=True)

    msg_id: str
    name_masked: str
    id_number_masked: str
    identified_by: IdentifiedBy
    card_no: str | None
    card_app_status: str | None
    scheme: Scheme
    person_type: PersonType
    accumulators: AccumulatorsOut


class SettlementOut(BaseModel):
    """The answer to 2206 (``setl_id`` null: nothing was stored) and 2207. ``card_no`` only when the caller sent
    it (a settlement by ID number does not learn the card number)."""

    model_config = ConfigDict(frozen=True)

    msg_id: str
    setl_id: str | None
    institution: str
    identified_by: IdentifiedBy
    card_no: str | None
    settled_on: dt.date
    split: Split
    accumulators_after: AccumulatorsOut
    account_balance_after_fen: int
    replayed: bool = False


class CardRefundOut(BaseModel):
    """退款: the card payment of a reversed settlement, to be refunded by the issuing bank under ``ref`` (the
    bank's ``RefundIn``: ``original_ref`` = the purchase's ``bank_ref``, ``merchant`` = ``institution``)."""

    model_config = ConfigDict(frozen=True)

    setl_id: str
    ref: str
    bank_code: str
    original_ref: str
    institution: str
    amount_fen: int
    status: Literal["due", "refunded"]
    refunded_on: dt.date | None = None
    replayed: bool = False


class ReversalOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    msg_id: str
    setl_id: str
    status: Literal["reversed"]
    reversal_msg_id: str
    reversed_at: dt.datetime
    fund_returned_fen: int
    account_returned_fen: int
    accumulators_after: AccumulatorsOut
    card_refund: CardRefundOut | None = None  # the cash part was paid by card: the bank must refund it
    replayed: bool = False


class VoidOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    msg_id: str
    original_msg_id: str
    outcome: Literal["reversed", "voided_unknown"]  # voided_unknown: never arrived; now refused if it does
    setl_id: str | None = None
    replayed: bool = False


class PositionOut(BaseModel):
    """A person's medical position: enrolment, this year's accumulators, the personal account balance."""

    model_config = ConfigDict(frozen=True)

    psn_no: str
    scheme: Scheme
    person_type: PersonType
    accumulators: AccumulatorsOut
    account_balance_fen: int


# ------------------------------------------------------------------------------------ the cash part paid by card


class CardPaymentIn(BaseModel):
    """刷卡支付登记: the terminal tells the centre that the issuing bank approved the card purchase for this
    settlement's cash part — the purchase request it sent (the card's ARQC over the amount, checked here too)
    and the bank's answer. ``key``: the idempotency key (a retry returns the first record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    bank_code: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z_-]+$")
    bank_ref: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    auth_code: str = Field(pattern=r"^[0-9]{6}$")
    amount_fen: int = Field(gt=0, lt=10**12)
    algorithm: Literal["sm4", "3des"]
    key_version: int | None = Field(default=None, ge=1, le=9999)
    atc: int = Field(ge=0, le=0xFFFF)
    aip: str = Field(pattern=r"^[0-9A-Fa-f]{4}$")
    cvr: str = Field(pattern=r"^[0-9A-Fa-f]{8}$")
    arqc: str = Field(pattern=r"^[0-9A-Fa-f]{16}$")
    un: str = Field(pattern=r"^[0-9A-Fa-f]{8}$")
    tvr: str = Field(default="0000000000", pattern=r"^[0-9A-Fa-f]{10}$")
    txn_date: dt.date
    pan: str = Field(pattern=r"^[0-9]{12,19}$")


class CardPaymentOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    setl_id: str
    key: str
    bank_code: str
    bank_ref: str
    auth_code: str
    amount_fen: int
    pan_masked: str
    atc: int
    txn_date: dt.date
    paid_on: dt.date
    card_refund: CardRefundOut | None = None  # the settlement was reversed: this payment is to be refunded
    replayed: bool = False


class CardRefundIn(BaseModel):
    """The terminal reports the issuing bank's refund (``RefundOut`` with ``ok``) of a settlement's card
    payment. Idempotent: the same report again returns the record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:._-]+$")
    bank_code: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z_-]+$")
    amount_fen: int = Field(gt=0, lt=10**12)
    refunded_on: dt.date


class CardReconOut(BaseModel):
    """One institution, bank and day: the settlements' cash part, what the centre recorded as paid by card and
    what the bank's statement says it approved — line by line (by the bank's reference) and to the fen."""

    model_config = ConfigDict(frozen=True)

    institution: str
    bank_code: str
    day: dt.date
    settlements_cash_fen: int  # Σ cash_fen of the settlements (not reversed) whose card payment is dated ``day``
    card_paid_fen: int
    card_paid_count: int
    bank_fen: int
    bank_count: int
    only_in_bank: list[str]
    only_in_centre: list[str]
    amount_differs: list[str]
    card_refunded_fen: int = 0  # Σ refunds the centre recorded as made, of these card payments
    bank_refunded_fen: int = 0  # Σ refunds on the bank's statement, of these purchases
    refunds_due: list[str] = Field(default_factory=list)  # bank refs whose settlement was reversed, not refunded
    balanced: bool
