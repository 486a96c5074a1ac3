"""Tables of the transfer of the insurance relationship: one row per transfer as this city sees it
(``transfer_cases``: out when this city sends the record, in when it receives it) and every signed message sent
or received (``transfer_messages``, the idempotency record: a message id answers once)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

OPEN_STATUSES = ("issued", "applying", "applied", "paying", "paid")


class TransferCase(Base):
    __tablename__ = "transfer_cases"
    __table_args__ = (
        UniqueConstraint("direction", "voucher_no", name="uq_transfer_cases_direction_voucher"),
        CheckConstraint("direction IN ('out', 'in')", name="direction_known"),
        CheckConstraint("status IN ('issued', 'applying', 'applied', 'paying', 'paid', 'completed', 'credited', "
                        "'refused')", name="status_known"),
        CheckConstraint("total_fen = pension_personal_fen + pension_interest_fen + pension_pool_fen "
                        "+ medical_personal_fen", name="total_adds_up"),
        # one transfer in progress per person and direction
        Index("ux_transfer_cases_person_open", "person_id", "direction", unique=True,
              sqlite_where=text("status IN ('issued', 'applying', 'applied', 'paying', 'paid')"),
              postgresql_where=text("status IN ('issued', 'applying', 'applied', 'paying', 'paid')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_no: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(3))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    partner_city: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10))
    voucher: Mapped[str] = mapped_column(Text)  # the signed voucher as issued / presented
    voucher_digest: Mapped[str] = mapped_column(String(64))
    pension_months: Mapped[int] = mapped_column(Integer)
    pension_personal_fen: Mapped[int] = mapped_column(BigInteger)
    pension_interest_fen: Mapped[int] = mapped_column(BigInteger)
    pension_pool_fen: Mapped[int] = mapped_column(BigInteger)
    medical_months: Mapped[int] = mapped_column(Integer)
    medical_personal_fen: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    pay_to_bank: Mapped[str | None] = mapped_column(String(10))
    pay_to_account: Mapped[str | None] = mapped_column(String(32))
    pay_to_name: Mapped[str | None] = mapped_column(String(50))
    bank_ref: Mapped[str | None] = mapped_column(String(40))
    counterpart_fen: Mapped[int | None] = mapped_column(BigInteger)
    last_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))


class TransferMessage(Base):
    __tablename__ = "transfer_messages"
    __table_args__ = (
        UniqueConstraint("direction", "partner_city", "msg_id", name="uq_transfer_messages_direction_city_msg"),
        CheckConstraint("direction IN ('out', 'in')", name="direction_known"),
        CheckConstraint("status IN ('pending', 'answered', 'refused')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    partner_city: Mapped[str] = mapped_column(String(6))
    msg_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    voucher_no: Mapped[str] = mapped_column(String(40), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    request: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column()
