"""The centre's tables of cross-region settlement (the hub's own are in ``sscard.remote.hub``):

- ``remote_registrations`` 异地就医备案: made here for this city's insured (``role`` home) or received from their
  home city through the hub (``role`` treating, no person here: the card number and the masked name);
- ``remote_messages``: every message sent (``out``) or received (``in``) — the idempotency record end to end: a
  message id is answered once, and the answer given to this centre's own caller (the hospital) is kept beside;
- ``remote_settlements``: one row per remote settlement as this city sees it — ``treating`` (a visitor's bill
  paid to a hospital here, receivable from the home city) or ``home`` (this city's insured treated elsewhere,
  paid by this city's funds, payable to the treating city);
- ``remote_clearings``: the monthly clearing positions booked here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

KINDS = ("retired_relocated", "long_term_resident", "resident_work", "referral", "temporary")
KIND_NAMES = {"retired_relocated": "异地安置退休", "long_term_resident": "异地长期居住",
              "resident_work": "常驻异地工作", "referral": "异地转诊", "temporary": "临时外出就医"}


class RemoteRegistration(Base):
    __tablename__ = "remote_registrations"
    __table_args__ = (
        UniqueConstraint("reg_no", name="uq_remote_registrations_reg_no"),
        CheckConstraint("role IN ('home', 'treating')", name="role_known"),
        CheckConstraint("kind IN ('retired_relocated', 'long_term_resident', 'resident_work', 'referral', "
                        "'temporary')", name="kind_known"),
        CheckConstraint("status IN ('active', 'cancelled')", name="status_known"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period_ordered"),
        Index("ix_remote_registrations_person", "person_id", "treating_region"),
        Index("ix_remote_registrations_card", "card_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reg_no: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    card_no: Mapped[str | None] = mapped_column(String(12))
    name_masked: Mapped[str] = mapped_column(String(60))
    home_region: Mapped[str] = mapped_column(String(6))
    treating_region: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    documents: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of the documents seen
    status: Mapped[str] = mapped_column(String(10), default="active")
    distributed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))


class RemoteMessage(Base):
    __tablename__ = "remote_messages"
    __table_args__ = (
        UniqueConstraint("direction", "peer", "msg_id", name="uq_remote_messages_direction_peer_msg"),
        CheckConstraint("direction IN ('out', 'in')", name="direction_known"),
        CheckConstraint("status IN ('pending', 'answered', 'refused', 'cancelled')", name="status_known"),
        Index("ix_remote_messages_status", "status", "direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    peer: Mapped[str] = mapped_column(String(6))  # the other centre (not the hub)
    msg_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(64), default="")  # setl_id, reg_no, month …
    digest: Mapped[str] = mapped_column(String(64))
    request: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    local_answer: Mapped[str | None] = mapped_column(Text)  # what this centre answered its own caller
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column()


class RemoteSettlement(Base):
    __tablename__ = "remote_settlements"
    __table_args__ = (
        UniqueConstraint("setl_id", name="uq_remote_settlements_setl_id"),
        UniqueConstraint("role", "peer", "msg_id", name="uq_remote_settlements_role_peer_msg"),
        CheckConstraint("role IN ('treating', 'home')", name="role_known"),
        CheckConstraint("status IN ('settled', 'reversed')", name="status_known"),
        CheckConstraint("total_fen = fund_paid_fen + account_paid_fen + cash_fen", name="parts_add_up"),
        Index("ix_remote_settlements_month", "month", "peer", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8))
    peer: Mapped[str] = mapped_column(String(6))
    msg_id: Mapped[str] = mapped_column(String(64))  # the settle message's id, the same in both cities and the hub
    institution_code: Mapped[str] = mapped_column(String(20))
    hospital_msg_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    card_no: Mapped[str | None] = mapped_column(String(12))
    registration: Mapped[str | None] = mapped_column(String(32))  # reg_no the home city applied, if any
    remote_care: Mapped[str] = mapped_column(String(12))
    bill_no: Mapped[str] = mapped_column(String(64))
    bill_date: Mapped[dt.date] = mapped_column(Date)
    settled_on: Mapped[dt.date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))  # the clearing month (of ``settled_on``)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    fund_paid_fen: Mapped[int] = mapped_column(BigInteger)
    account_paid_fen: Mapped[int] = mapped_column(BigInteger)
    cash_fen: Mapped[int] = mapped_column(BigInteger)
    split: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="settled")
    reversal_msg_id: Mapped[str | None] = mapped_column(String(64))
    reversed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RemoteClearing(Base):
    __tablename__ = "remote_clearings"
    __table_args__ = (
        UniqueConstraint("month", "peer", name="uq_remote_clearings_month_peer"),
        CheckConstraint("net_fen = receivable_fen - payable_fen", name="net_adds_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    peer: Mapped[str] = mapped_column(String(6))
    receivable_fen: Mapped[int] = mapped_column(BigInteger)  # the peer owes this city (its insured treated here)
    payable_fen: Mapped[int] = mapped_column(BigInteger)  # this city owes the peer
    net_fen: Mapped[int] = mapped_column(BigInteger)  # > 0: the peer pays this city
    bank_ref: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
