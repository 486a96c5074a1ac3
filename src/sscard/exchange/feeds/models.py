"""Tables of the feeds: every file that arrived (imported or refused), each line's outcome, the death reports of
both sources (for the cross-check), the cases for review (exceptions and follow-ups), and the school
applications with their guardian."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

_IMPORTED = text("status = 'imported'")


class FeedFileRecord(Base):
    """One file from a spool. An imported file is unique per partner by file id, by sequence number and by the
    content (partial unique indexes: a file is applied once, whichever copy arrives first); ``finished`` is set
    once the file left the in spool and its answer is written (a crash in between is finished by the next run)."""

    __tablename__ = "exchange_feed_files"
    __table_args__ = (
        CheckConstraint("status IN ('imported', 'rejected')", name="status_known"),
        Index("ux_exchange_feed_files_file_id", "partner", "file_id", unique=True,
              sqlite_where=_IMPORTED, postgresql_where=_IMPORTED),
        Index("ux_exchange_feed_files_seq", "partner", "seq", unique=True,
              sqlite_where=_IMPORTED, postgresql_where=_IMPORTED),
        Index("ux_exchange_feed_files_sha256", "sha256", unique=True,
              sqlite_where=_IMPORTED, postgresql_where=_IMPORTED),
        Index("ix_exchange_feed_files_partner_status", "partner", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str | None] = mapped_column(String(10))
    file_id: Mapped[str | None] = mapped_column(String(40))
    seq: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # of the envelope as it arrived
    filename: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(40))  # the refusal code
    reason: Mapped[str | None] = mapped_column(String(300))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    exceptions: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    operator: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeedLine(Base):
    """What one line of an imported file did: applied, skipped (nothing to do: reason) or exception (queued)."""

    __tablename__ = "exchange_feed_lines"
    __table_args__ = (CheckConstraint("outcome IN ('applied', 'skipped', 'exception')", name="outcome_known"),)

    file_pk: Mapped[int] = mapped_column(ForeignKey("exchange_feed_files.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(6))
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40), default="")


class DeathReport(Base):
    """A death as one source reports it: ``PSB`` (public security: the death) or ``CIVIL`` (civil affairs: the
    cremation). The two are cross-checked; the first PSB report applies the death."""

    __tablename__ = "exchange_feed_deaths"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    death_date: Mapped[dt.date] = mapped_column(Date)
    cremation_date: Mapped[dt.date | None] = mapped_column(Date)
    file_pk: Mapped[int] = mapped_column(ForeignKey("exchange_feed_files.id"))
    line_no: Mapped[int] = mapped_column(Integer)


class FeedCase(Base):
    """A case for an operator: ``exception`` (the sources disagree, a name does not match, two records for one
    person …) or ``review`` (a follow-up the feed opened: funeral grant, survivor benefit, a move out of the
    city). open → resolved (with the resolution)."""

    __tablename__ = "exchange_feed_cases"
    __table_args__ = (
        CheckConstraint("queue IN ('exception', 'review')", name="queue_known"),
        CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        Index("ix_exchange_feed_cases_queue_status", "queue", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(10))
    reason_code: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    file_pk: Mapped[int] = mapped_column(ForeignKey("exchange_feed_files.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(300), default="")
    amount_fen: Mapped[int | None] = mapped_column(Integer)  # a review's proposed amount (dated policy)
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StudentApplication(Base):
    """A card application made from a school's student roll, with the guardian the roll names (监护人)."""

    __tablename__ = "exchange_feed_students"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    school_uscc: Mapped[str] = mapped_column(String(18))
    guardian_id_number: Mapped[str] = mapped_column(String(18))
    guardian_name: Mapped[str] = mapped_column(String(50))
    guardian_phone: Mapped[str | None] = mapped_column(String(20))
    file_pk: Mapped[int] = mapped_column(ForeignKey("exchange_feed_files.id"))
    line_no: Mapped[int] = mapped_column(Integer)
