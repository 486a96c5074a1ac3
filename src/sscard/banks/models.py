"""Tables: the bureau's registered payment accounts, and the simulated bank's own state (``simbank_*``).

The ``simbank_*`` tables belong to the simulated bank, not to the bureau: in production they do not exist (the
real bank keeps its own books). They live in the same database so that the embedded gateway, the loopback
service and the tests all see one bank.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class PaymentAccount(Base):
    """收付款账户登记: how the agency pays or withholds for one person when not (only) through the card —
    the "old way" account registered at the agency, or an explicit choice of the card's account."""

    __tablename__ = "payment_accounts"
    __table_args__ = (CheckConstraint("method IN ('card', 'other')", name="method_known"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    method: Mapped[str] = mapped_column(String(5))  # card: the valid card's bank account | other: the fields below
    bank_code: Mapped[str | None] = mapped_column(String(10))
    account_no: Mapped[str | None] = mapped_column(String(32))
    holder_name: Mapped[str | None] = mapped_column(String(50))
    registered_by: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SimAccount(Base):
    """A holder's account at the simulated bank (balance in fen)."""

    __tablename__ = "simbank_accounts"
    __table_args__ = (CheckConstraint("state IN ('normal', 'frozen', 'closed', 'lost')", name="state_known"),)

    bank_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    account_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder_name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), default="")
    state: Mapped[str] = mapped_column(String(6), default="normal")
    financial_activated: Mapped[bool] = mapped_column(Boolean, default=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # the bureau's own account may go below zero


class SimBatch(Base):
    """A batch file the simulated bank received, and its answer (kept so a resubmission gets the same one)."""

    __tablename__ = "simbank_batches"

    handle: Mapped[str] = mapped_column(String(80), primary_key=True)  # bank_code/batch_id
    bank_code: Mapped[str] = mapped_column(String(10))
    batch_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(6))
    checksum: Mapped[str] = mapped_column(String(64))  # of the batch file: a resubmission must be identical
    line_count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    ok_count: Mapped[int] = mapped_column(Integer)
    ok_amount: Mapped[int] = mapped_column(BigInteger)
    return_file: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SimCall(Base):
    """A real-time debit or credit the simulated bank answered (its ``ref`` makes a retry a replay)."""

    __tablename__ = "simbank_calls"

    bank_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6))  # debit | credit
    account_no: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(30))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SimCardLink(Base):
    """The simulated bank as issuer of the card's PBOC debit application: which account a PAN draws on."""

    __tablename__ = "simbank_card_links"

    bank_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    pan: Mapped[str] = mapped_column(String(19), primary_key=True)
    pan_sequence: Mapped[int] = mapped_column(Integer, default=1)
    region_code: Mapped[str] = mapped_column(String(6))  # the city whose master key personalised the card
    account_no: Mapped[str] = mapped_column(String(32))


class SimCardAuth(Base):
    """A card purchase the issuer answered (授权): one per terminal reference (a retry replays it) and one per
    (PAN, ATC) — an ARQC is spent once, approved or declined. Only cryptograms that checked are kept."""

    __tablename__ = "simbank_card_auths"
    __table_args__ = (UniqueConstraint("bank_code", "pan", "atc", name="uq_simbank_card_auths_pan_atc"),
                      Index("ix_simbank_card_auths_merchant_day", "bank_code", "merchant", "txn_date"))

    bank_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    pan: Mapped[str] = mapped_column(String(19))
    atc: Mapped[int] = mapped_column(Integer)
    account_no: Mapped[str] = mapped_column(String(32))
    merchant: Mapped[str] = mapped_column(String(20))  # the institution (acquired on-us)
    terminal_no: Mapped[str] = mapped_column(String(20), default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    txn_date: Mapped[dt.date] = mapped_column()
    approved: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(30))
    arc: Mapped[str] = mapped_column(String(2))
    arpc: Mapped[str] = mapped_column(String(16))
    auth_code: Mapped[str] = mapped_column(String(6))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SimCardRefund(Base):
    """A refund of an approved card purchase (退货, the settlement it paid was reversed): the holder's account
    credited, the merchant's debited, once per ``ref`` (a retry replays it) and once per purchase (a second ref
    for the same purchase is refused)."""

    __tablename__ = "simbank_card_refunds"
    __table_args__ = (UniqueConstraint("bank_code", "original_ref", name="uq_simbank_card_refunds_original"),)

    bank_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    original_ref: Mapped[str] = mapped_column(String(64))  # the purchase's ref (simbank_card_auths.ref)
    account_no: Mapped[str] = mapped_column(String(32))
    merchant: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    refunded_on: Mapped[dt.date] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
