"""Tables of medical settlement: institutions and their keys and terminals, insured enrolment, the persisted
catalogue and policy, accumulators, the message journal (idempotency), settlements, and reconciliation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Institution(Base):
    """定点医药机构: a designated hospital (level 1/2/3, community) or pharmacy, and an API client."""

    __tablename__ = "medical_institutions"
    __table_args__ = (CheckConstraint("kind IN ('hospital', 'pharmacy')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 定点机构编码, e.g. H001
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # hospital | pharmacy
    level: Mapped[str | None] = mapped_column(String(10))  # community | 1 | 2 | 3 (hospitals only)
    services: Mapped[str] = mapped_column(String(100))  # comma-separated visit types, e.g. outpatient,inpatient
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InstitutionKey(Base):
    """An API key of an institution; only its SHA-256 is stored (the key is 256 random bits, so a fast hash
    is enough — unlike a password, it cannot be guessed — and it keeps the settlement path fast)."""

    __tablename__ = "medical_institution_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to tell keys apart in lists
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Terminal(Base):
    """A settlement terminal (结算终端) of an institution."""

    __tablename__ = "medical_terminals"
    __table_args__ = (UniqueConstraint("institution_id", "terminal_no", name="uq_medical_terminals_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    terminal_no: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Insured(Base):
    """参保登记: the person's medical scheme and person type (the registry does not know them)."""

    __tablename__ = "medical_insured"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(10))
    person_type: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CatalogueRow(Base):
    """One version of an effective-dated row of the medical-insurance catalogue (医保目录).

    Append-only (database triggers refuse UPDATE and DELETE): a change to the row of (code, effective_from)
    is a new ``version``; ``withdrawn`` marks a version that takes a not-yet-effective row back."""

    __tablename__ = "medical_catalogue_items"
    __table_args__ = (UniqueConstraint("code", "effective_from", "version",
                                       name="uq_medical_catalogue_items_code_from_version"),
                      Index("ix_medical_catalogue_items_code", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    item_type: Mapped[str] = mapped_column(String(10))
    catalogue_class: Mapped[str] = mapped_column(String(2))
    price_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    yi_self_pay_bp: Mapped[int | None] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PolicyVersion(Base):
    """One version of an effective-dated policy (政策版本): the engine's ``Policy`` as validated JSON.

    Append-only (database triggers refuse UPDATE and DELETE): each change of a ``policy_id`` is a new row with
    the next ``version``; the latest version of each id is the one in force."""

    __tablename__ = "medical_policies"
    __table_args__ = (UniqueConstraint("policy_id", "version", name="uq_medical_policies_policy_id_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date, index=True)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    document: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Accumulator(Base):
    """年度累计 per person and medical year: what the year's settlements added up to."""

    __tablename__ = "medical_accumulators"
    __table_args__ = (CheckConstraint("fund_paid_fen >= 0 AND deductible_paid_fen >= 0 AND in_scope_fen >= 0 "
                                      "AND account_spent_fen >= 0 AND admissions >= 0 AND settlements >= 0",
                                      name="not_negative"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # 统筹支付累计
    deductible_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # 起付线累计
    in_scope_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # 进入统筹累计
    account_spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # 账户支出累计
    admissions: Mapped[int] = mapped_column(Integer, default=0)  # 住院次数
    settlements: Mapped[int] = mapped_column(Integer, default=0)  # effective settlements this year


class Message(Base):
    """The journal of an institution's state-changing messages: a repeated ``msg_id`` returns ``response``."""

    __tablename__ = "medical_messages"
    __table_args__ = (UniqueConstraint("institution_id", "msg_id", name="uq_medical_messages_msg"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    msg_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # 2207 | 2208 | 2601 | 3201 | 3202 | void (冲正 tombstone)
    request_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Settlement(Base):
    """结算记录: every field of the split, who settled it, and its reversal (if any)."""

    __tablename__ = "medical_settlements"
    __table_args__ = (
        CheckConstraint("status IN ('settled', 'reversed')", name="status_known"),
        CheckConstraint("fund_paid_fen + self_pay_fen + own_expense_fen = total_fen", name="parts_sum"),
        CheckConstraint("account_paid_fen + cash_fen = self_pay_fen + own_expense_fen", name="payers_sum"),
        Index("ix_medical_settlements_recon", "institution_id", "settled_on", "scheme"),
        Index("ix_medical_settlements_person", "person_id", "year"),
        # One chip cryptogram settles once (sscard.medical.presence): a card's ATC is never used twice.
        Index("uq_medical_settlements_card_atc", "card_no", "presence_atc", unique=True,
              postgresql_where=text("presence_atc IS NOT NULL"), sqlite_where=text("presence_atc IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(32), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    terminal_no: Mapped[str | None] = mapped_column(String(20))
    msg_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    card_no: Mapped[str | None] = mapped_column(String(12))
    identified_by: Mapped[str] = mapped_column(String(10))  # card | id_number
    presence_method: Mapped[str | None] = mapped_column(String(8))  # arqc | pin | None (none asked, by ID)
    presence_atc: Mapped[int | None] = mapped_column(Integer)  # the card's ATC of the ARQC that proved presence
    scheme: Mapped[str] = mapped_column(String(10))
    person_type: Mapped[str] = mapped_column(String(12))
    visit_type: Mapped[str] = mapped_column(String(12))
    hospital_level: Mapped[str | None] = mapped_column(String(10))
    bill_no: Mapped[str] = mapped_column(String(64))
    bill_date: Mapped[dt.date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)  # the accumulators' medical year (the bill date's year)
    settled_on: Mapped[dt.date] = mapped_column(Date)  # the clearing day (local), for reconciliation
    policy_id: Mapped[str] = mapped_column(String(64))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    out_of_catalogue_fen: Mapped[int] = mapped_column(BigInteger)
    over_price_cap_fen: Mapped[int] = mapped_column(BigInteger)
    fund_excluded_fen: Mapped[int] = mapped_column(BigInteger)
    first_self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    in_scope_fen: Mapped[int] = mapped_column(BigInteger)
    deductible_paid_fen: Mapped[int] = mapped_column(BigInteger)
    fund_paid_fen: Mapped[int] = mapped_column(BigInteger)
    copay_fen: Mapped[int] = mapped_column(BigInteger)
    over_annual_cap_fen: Mapped[int] = mapped_column(BigInteger)
    self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    own_expense_fen: Mapped[int] = mapped_column(BigInteger)
    account_paid_fen: Mapped[int] = mapped_column(BigInteger)
    cash_fen: Mapped[int] = mapped_column(BigInteger)
    admissions_added: Mapped[int] = mapped_column(Integer)
    split: Mapped[str] = mapped_column(Text)  # the engine's Split as JSON (lines, bands, notes)
    status: Mapped[str] = mapped_column(String(10), default="settled")
    reversal_msg_id: Mapped[str | None] = mapped_column(String(64))
    reversed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReconRun(Base):
    """对账任务 (3201): one institution's totals for one day and scheme against the centre's; a later run for
    the same key supersedes the earlier ones (强制重新对账)."""

    __tablename__ = "medical_recon_runs"
    __table_args__ = (Index("ix_medical_recon_runs_key", "institution_id", "day", "scheme"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(10))
    hospital_count: Mapped[int] = mapped_column(Integer)
    hospital_total_fen: Mapped[int] = mapped_column(BigInteger)
    hospital_fund_fen: Mapped[int] = mapped_column(BigInteger)
    hospital_account_fen: Mapped[int] = mapped_column(BigInteger)
    hospital_cash_fen: Mapped[int] = mapped_column(BigInteger)
    centre_count: Mapped[int] = mapped_column(Integer)
    centre_total_fen: Mapped[int] = mapped_column(BigInteger)
    centre_fund_fen: Mapped[int] = mapped_column(BigInteger)
    centre_account_fen: Mapped[int] = mapped_column(BigInteger)
    centre_cash_fen: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(20))  # balanced | unbalanced | details_compared
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReconDifference(Base):
    """对账差异 (3202): one settlement id on which the two sides disagree, with its resolution workflow."""

    __tablename__ = "medical_recon_differences"
    __table_args__ = (
        CheckConstraint("kind IN ('extra_at_hospital', 'extra_at_centre', 'amount_differs')", name="kind_known"),
        CheckConstraint("status IN (0, 1, 2)", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("medical_recon_runs.id"), index=True)
    setl_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(20))
    hospital: Mapped[str | None] = mapped_column(Text)  # the institution's amounts (JSON)
    centre: Mapped[str | None] = mapped_column(Text)  # the centre's amounts (JSON)
    status: Mapped[int] = mapped_column(Integer, default=0)  # 0 待处理 → 1 已核对 → 2 已平账
    note: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CardPayment(Base):
    """刷卡支付: the cash part of a settlement paid with the card's PBOC debit application — the issuing bank's
    approval as the terminal received it (docs/debit.md). One per settlement; ``key`` makes a retry a replay."""

    __tablename__ = "medical_card_payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      Index("ix_medical_card_payments_recon", "institution_id", "bank_code", "txn_date"))

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the terminal's idempotency key
    setl_id: Mapped[str] = mapped_column(ForeignKey("medical_settlements.setl_id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    bank_code: Mapped[str] = mapped_column(String(10))
    bank_ref: Mapped[str] = mapped_column(String(64))  # the reference the bank answered under
    pan_masked: Mapped[str] = mapped_column(String(19))  # first 6 and last 4 digits
    atc: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    auth_code: Mapped[str] = mapped_column(String(6))
    txn_date: Mapped[dt.date] = mapped_column(Date)  # the terminal's transaction date (9A), as the bank has it
    paid_on: Mapped[dt.date] = mapped_column(Date)  # the clearing day (local)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CardRefund(Base):
    """退款: a settlement whose cash part was paid by card was reversed (2208 / 2601), so the card purchase is
    refunded — recorded ``due`` in the reversal's transaction (its amount is the card payment's, to the fen),
    ``refunded`` once the terminal reports the issuing bank's refund under ``ref`` (docs/debit.md)."""

    __tablename__ = "medical_card_refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      CheckConstraint("status IN ('due', 'refunded')", name="status_known"))

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    card_payment_id: Mapped[int] = mapped_column(ForeignKey("medical_card_payments.id"), unique=True)
    setl_id: Mapped[str] = mapped_column(ForeignKey("medical_settlements.setl_id"), unique=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # the refund's message id at the bank
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), default="due")
    reversal_msg_id: Mapped[str] = mapped_column(String(64))
    refunded_on: Mapped[dt.date | None] = mapped_column(Date)  # the bank's refund day, when reported
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
