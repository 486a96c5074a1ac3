"""Tables of data sharing with other departments (docs/exchange.md): the catalogue of shareable items (seeded by
the migration: data, not constants), departments and their keys (secrets sealed under the KMS KEK), agreements
with their items and modes (maker-checker enforced by a CHECK), the nonces seen in the window, the daily use of
each agreement, every answered access (what the holder sees in the portal), and the outbox of subscribed events.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

SHARING_CLASSES = ("unconditional", "conditional", "none")  # 无条件共享 / 有条件共享 / 不予共享
MODES = ("verification", "query", "bulk", "subscription")
BigId = BigInteger().with_variant(Integer, "sqlite")


class ExchangeItem(Base):
    """One shareable data item of the catalogue (数据共享目录). ``modes`` and ``fields`` are comma-separated."""

    __tablename__ = "exchange_items"
    __table_args__ = (
        CheckConstraint("sharing_class IN ('unconditional', 'conditional', 'none')", name="sharing_class_known"),
        CheckConstraint("sensitivity BETWEEN 1 AND 4", name="sensitivity_range"),
        CheckConstraint("sharing_class <> 'none' OR modes = ''", name="none_has_no_modes"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    sharing_class: Mapped[str] = mapped_column(String(16))
    sensitivity: Mapped[int] = mapped_column(SmallInteger)  # 1 public … 4 most sensitive
    modes: Mapped[str] = mapped_column(String(60))
    fields: Mapped[str] = mapped_column(String(200))  # what a query answers (minimal), in order
    description: Mapped[str] = mapped_column(Text)

    def mode_list(self) -> list[str]:
        return [m for m in self.modes.split(",") if m]

    def field_list(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]


class ExchangeDepartment(Base):
    __tablename__ = "exchange_departments"
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    endpoint: Mapped[str | None] = mapped_column(String(300))  # where subscribed events are delivered
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExchangeKey(Base):
    """A department's credential: the key id it sends and the secret both sides sign with (sealed, never plain)."""

    __tablename__ = "exchange_keys"
    __table_args__ = (CheckConstraint("status IN ('active', 'revoked')", name="status_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("exchange_departments.id"), index=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class ExchangeAgreement(Base):
    """A data-sharing agreement: requested by one operator, approved by another (the CHECK holds it in the
    database too); in force from ``valid_from`` to ``valid_until`` inclusive unless revoked."""

    __tablename__ = "exchange_agreements"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'approved', 'rejected', 'revoked')", name="status_known"),
        CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="maker_is_not_checker"),
        CheckConstraint("status NOT IN ('approved', 'revoked') OR approved_by IS NOT NULL", name="approved_checked"),
        CheckConstraint("valid_until >= valid_from", name="period_ordered"),
        CheckConstraint("daily_quota > 0", name="quota_positive"),
        CheckConstraint("masking IN ('masked', 'clear')", name="masking_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agreement_no: Mapped[str] = mapped_column(String(30), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("exchange_departments.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    daily_quota: Mapped[int] = mapped_column(Integer)
    masking: Mapped[str] = mapped_column(String(6), default="masked")
    status: Mapped[str] = mapped_column(String(10), default="requested")
    requested_by: Mapped[str] = mapped_column(String(50))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(50))
    approved_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(50))
    revoked_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))  # of a rejection or revocation


class ExchangeAgreementItem(Base):
    __tablename__ = "exchange_agreement_items"
    __table_args__ = (
        PrimaryKeyConstraint("agreement_id", "item_code", "mode"),
        CheckConstraint("mode IN ('verification', 'query', 'bulk', 'subscription')", name="mode_known"),
    )

    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreements.id"))
    item_code: Mapped[str] = mapped_column(ForeignKey("exchange_items.code"))
    mode: Mapped[str] = mapped_column(String(12))


class ExchangeNonce(Base):
    """A nonce seen with its key's valid signature: the primary key refuses it a second time; rows older than
    the window are purged (they could not pass the clock check again)."""

    __tablename__ = "exchange_nonces"
    __table_args__ = (PrimaryKeyConstraint("key_id", "nonce"), Index("ix_exchange_nonces_ts", "ts"))

    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    ts: Mapped[int] = mapped_column(BigInteger)


class ExchangeUsage(Base):
    """Requests answered under an agreement on a local day (the daily quota's counter)."""

    __tablename__ = "exchange_usage"
    __table_args__ = (PrimaryKeyConstraint("agreement_id", "day"), CheckConstraint("used >= 0", name="used_positive"))

    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreements.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    used: Mapped[int] = mapped_column(Integer, default=0)


class ExchangeAccess(Base):
    """One answered use of a person's data by a department (数据使用记录): who, when, under which agreement and
    purpose. A bulk file writes one row per person it answered about."""

    __tablename__ = "exchange_accesses"
    __table_args__ = (Index("ix_exchange_accesses_person", "person_id", "at"),
                      Index("ix_exchange_accesses_dept_at", "department_id", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    department_id: Mapped[int] = mapped_column(ForeignKey("exchange_departments.id"))
    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreements.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(12))
    person_id: Mapped[int | None] = mapped_column(BigId)
    outcome: Mapped[str] = mapped_column(String(30))  # the answer's reason code (never the data)


class ExchangeOutbox(Base):
    """A subscribed event for one department, written in the transaction of the change; delivered at least
    once (``event_id`` is the idempotency id the department deduplicates by)."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'withdrawn')", name="status_known"),
        Index("ix_exchange_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("exchange_departments.id"))
    agreement_id: Mapped[int] = mapped_column(ForeignKey("exchange_agreements.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body delivered
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]


class ExchangeBulkFile(Base):
    """A department's bulk verification file that came through the file ferry (``sscard.exchange.bulk_ferry``):
    one row per (department, file id), so a file re-sent is refused rather than answered — and counted — twice.
    ``started`` until its answer is written; a crash in between leaves it ``started`` for the next run."""

    __tablename__ = "exchange_bulk_files"
    __table_args__ = (
        UniqueConstraint("department_id", "file_id", name="uq_exchange_bulk_files_dept_file"),
        CheckConstraint("status IN ('started', 'answered')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("exchange_departments.id"))
    file_id: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(40))
    agreement_no: Mapped[str] = mapped_column(String(40))
    line_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="started")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None]
