"""Tables of contributions: insured persons and their scheme enrolments, withholding authorisations, monthly
assessments, the month run, debit batches and their lines, and imported employer files.

Periods are "YYYY-MM" strings (they sort as dates). Amounts are integer fen. Batches and their files are never
edited after the return is imported; an assessment is paid at most once (``paid_batch_line_id`` / transfer ids).
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
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class ContribInsured(Base):
    """缴费参保登记: the person's category, collection status and counted arrears."""

    __tablename__ = "contrib_insured"
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status_known"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    arrears_months: Mapped[int] = mapped_column(Integer, default=0)  # months with an unpaid assessment
    suspended_from: Mapped[str | None] = mapped_column(String(7))  # first period not collected
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContribEnrolment(Base):
    """One scheme of one person from ``start_period`` (to ``end_period``), with the base or level chosen."""

    __tablename__ = "contrib_enrolments"
    __table_args__ = (
        UniqueConstraint("person_id", "scheme", "start_period", name="uq_contrib_enrolments_person_scheme_start"),
        CheckConstraint("base_ratio_bp IS NULL OR (base_ratio_bp > 0 AND base_ratio_bp <= 100000)",
                        name="ratio_sane"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(20))
    insurance_type: Mapped[str] = mapped_column(String(15))
    base_ratio_bp: Mapped[int | None] = mapped_column(Integer)  # chosen base as a share of the average wage
    level: Mapped[int | None] = mapped_column(Integer)  # chosen level (档次) for level schemes
    start_period: Mapped[str] = mapped_column(String(7))
    end_period: Mapped[str | None] = mapped_column(String(7))  # last period included; NULL = open
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))


class WithholdingAuthorisation(Base):
    """代扣协议: signed by the holder for one bank account; lapses on expiry or when the account is gone."""

    __tablename__ = "contrib_authorisations"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'lapsed', 'revoked')", name="status_known"),
        Index("ux_contrib_authorisations_person_active", "person_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(10))
    account_no: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(50))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    signature_ref: Mapped[str] = mapped_column(String(100))  # the signed and fingerprinted form's reference
    status: Mapped[str] = mapped_column(String(10), default="active")
    lapsed_reason: Mapped[str | None] = mapped_column(String(40))
    lapsed_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))


class ContribRun(Base):
    """One month's withholding run, resumable: ``status`` says which step comes next."""

    __tablename__ = "contrib_runs"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    assessed: Mapped[int] = mapped_column(Integer, default=0)  # new assessments of this period
    not_authorised: Mapped[int] = mapped_column(Integer, default=0)  # unpaid, not sent: no authorisation
    not_authorised_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    started_by: Mapped[str] = mapped_column(String(50))


class ContribAssessment(Base):
    """应缴: what one enrolment owes for one period, split into pool and personal-account parts."""

    __tablename__ = "contrib_assessments"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "period", name="uq_contrib_assessments_enrolment_period"),
        CheckConstraint("amount_fen > 0 AND pool_fen >= 0 AND personal_fen >= 0 "
                        "AND pool_fen + personal_fen = amount_fen", name="parts_add_up"),
        CheckConstraint("status IN ('due', 'sent', 'failed', 'paid')", name="status_known"),
        Index("ix_contrib_assessments_person_period", "person_id", "period"),
        Index("ix_contrib_assessments_status_period", "status", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("contrib_enrolments.id"))
    period: Mapped[str] = mapped_column(String(7))
    scheme: Mapped[str] = mapped_column(String(20))
    insurance_type: Mapped[str] = mapped_column(String(15))
    rank: Mapped[int] = mapped_column(Integer)  # withholding order: pension 1, medical 2, unemployment 3
    base_fen: Mapped[int | None] = mapped_column(BigInteger)
    rate_bp: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    pool_fen: Mapped[int] = mapped_column(BigInteger)
    personal_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="due")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_reason: Mapped[str | None] = mapped_column(String(40))
    paid_batch_line_id: Mapped[int | None] = mapped_column(Integer)
    paid_via: Mapped[str | None] = mapped_column(String(12))  # withholding | counter
    paid_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WithholdingBatch(Base):
    """代扣批次: one debit file to one bank for one run; the stored file is what the bank received."""

    __tablename__ = "contrib_batches"
    __table_args__ = (CheckConstraint("status IN ('built', 'submitted', 'returned')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(40), unique=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    bank_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="built")
    handle: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file: Mapped[bytes] = mapped_column(LargeBinary)
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    ok_count: Mapped[int] = mapped_column(Integer, default=0)
    ok_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    returned_at: Mapped[dt.datetime | None] = mapped_column()


class WithholdingLine(Base):
    """One debit line: one assessment of one person, tried once in this batch."""

    __tablename__ = "contrib_batch_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "line_no", name="uq_contrib_batch_lines_batch_line"),
        CheckConstraint("status IN ('sent', 'ok', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("contrib_batches.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("contrib_assessments.id"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    account_no: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    reason: Mapped[str | None] = mapped_column(String(40))


class EmployerFile(Base):
    """单位缴费文件: one employer's contributions for one period, imported whole or not at all."""

    __tablename__ = "contrib_employer_files"
    __table_args__ = (UniqueConstraint("uscc", "period", name="uq_contrib_employer_files_uscc_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    employer_name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(7))
    bank_code: Mapped[str] = mapped_column(String(10))
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(50))


class EmployerLine(Base):
    __tablename__ = "contrib_employer_lines"
    __table_args__ = (
        UniqueConstraint("file_id", "line_no", name="uq_contrib_employer_lines_file_line"),
        Index("ix_contrib_employer_lines_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("contrib_employer_files.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    insurance_type: Mapped[str] = mapped_column(String(15))
    base_fen: Mapped[int] = mapped_column(BigInteger)
    employer_fen: Mapped[int] = mapped_column(BigInteger)
    employee_fen: Mapped[int] = mapped_column(BigInteger)


class ContribCarried(Base):
    """缴费记录转移: months of a person's record carried in from another city (``direction`` in) or carried out
    to one (out), by the transfer of the insurance relationship (``sscard.transfer``, docs/transfer.md). A month
    carried out no longer counts here; a month carried in counts as paid. Written only through
    ``sscard.funds.contributions.carried``; rows are never changed."""

    __tablename__ = "contrib_carried"
    __table_args__ = (
        UniqueConstraint("case_ref", "direction", "insurance_type", "period",
                         name="uq_contrib_carried_case_direction_type_period"),
        CheckConstraint("direction IN ('in', 'out')", name="direction_known"),
        CheckConstraint("amount_fen >= 0 AND personal_fen >= 0 AND base_fen >= 0", name="amounts_sane"),
        Index("ix_contrib_carried_person_type", "person_id", "insurance_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    insurance_type: Mapped[str] = mapped_column(String(15))
    period: Mapped[str] = mapped_column(String(7))
    direction: Mapped[str] = mapped_column(String(3))
    base_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    personal_fen: Mapped[int] = mapped_column(BigInteger)
    city: Mapped[str] = mapped_column(String(6))  # the other city (where it came from / went to)
    case_ref: Mapped[str] = mapped_column(String(40))  # the transfer's voucher number
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))


class GovernmentPayer(Base):
    """政府代缴: the government pays this person's residents' contributions from ``from_period`` (to
    ``to_period``), because a department lists them (civil affairs: 低保, 特困, severe disability)."""

    __tablename__ = "contrib_government_payers"
    __table_args__ = (
        CheckConstraint("category IN ('dibao', 'tekun', 'disability')", name="category_known"),
        CheckConstraint("to_period IS NULL OR to_period >= from_period", name="period_order"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(12), primary_key=True)
    from_period: Mapped[str] = mapped_column(String(7), primary_key=True)
    to_period: Mapped[str | None] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(64))  # the list that named them (a feed file)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
