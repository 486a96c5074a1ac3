"""Tables: fee rates (effective-dated) and fee charges (one per application, with a receipt number)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class FeeRate(Base):
    __tablename__ = "fee_rates"
    __table_args__ = (UniqueConstraint("business", "reason", "effective_from", "version", name="uq_fee_rate_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business: Mapped[str] = mapped_column(String(20))  # new | replacement | exchange
    reason: Mapped[str] = mapped_column(String(20), default="")  # exchange reason, "" otherwise
    amount_fen: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # appended, never changed
    basis: Mapped[str | None] = mapped_column(String(200))  # e.g. 粤劳社〔2003〕169号
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeeCharge(Base):
    __tablename__ = "fee_charges"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(30), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    business: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20), default="")
    amount_fen: Mapped[int] = mapped_column(Integer)
    fee_rate_id: Mapped[int] = mapped_column(ForeignKey("fee_rates.id"))
    charged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    operator: Mapped[str] = mapped_column(String(50))
    outlet: Mapped[str | None] = mapped_column(String(20))
