"""Tables: registrations (求职登记, 失业登记) and employment-support subsidies (就业扶持政策补贴).

What the database keeps true, and why: one open registration of each kind per person (a partial unique index:
two clerks at two counters cannot both open one); a closed registration has its date and reason and was not
closed before it was opened; a subsidy is decided by someone other than its maker (maker-checker) and a
registration carries at most one live subsidy of each kind; retried requests land on unique idempotency keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Registration(Base):
    __tablename__ = "employment_registrations"
    __table_args__ = (
        CheckConstraint("kind IN ('job_seeker', 'unemployment')", name="kind_known"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("(status = 'open' AND closed_on IS NULL AND close_reason IS NULL) OR "
                        "(status = 'closed' AND closed_on IS NOT NULL AND close_reason IS NOT NULL)",
                        name="closed_has_date_and_reason"),
        CheckConstraint("closed_on IS NULL OR closed_on >= registered_on", name="closed_after_opened"),
        Index("uq_employment_registrations_open", "person_id", "kind", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="open")
    registered_on: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(8))  # counter | kiosk | api
    outlet_code: Mapped[str | None] = mapped_column(String(20))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(16))
    # The unemployment benefit (benefits' entitlement) opened from this registration, if any.
    entitlement_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(50))


class Subsidy(Base):
    __tablename__ = "employment_subsidies"
    __table_args__ = (
        CheckConstraint("kind IN ('startup', 'flexible_social')", name="kind_known"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="checker_is_not_maker"),
        CheckConstraint("(status = 'proposed') = (decided_by IS NULL)", name="decided_iff_not_proposed"),
        CheckConstraint("(status = 'approved') = (entitlement_id IS NOT NULL)", name="approved_has_entitlement"),
        Index("uq_employment_subsidies_live", "registration_id", "kind", unique=True,
              postgresql_where=text("status <> 'rejected'"), sqlite_where=text("status <> 'rejected'")),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("employment_registrations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, from the dated policy on the day it was proposed
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(50))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(200))
    entitlement_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
