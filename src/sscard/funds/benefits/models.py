"""Tables: entitlements with effective-dated amounts, certifications, stopped months (holds), month runs,
disbursement batches with immutable lines, and the re-issue queue (退票重发).

A month owed is (entitlement, month due). Its first line (``reissue_of IS NULL``) is unique per month owed and a
re-issue line is unique per failed line, so the attempts for one month form a chain and at most one of them can
succeed. A month owed but not payable (stopped, or no payment account yet) is a hold until it is. Lines are
append-only and batch headers never change (database triggers).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class BenefitKind(enum.StrEnum):
    PENSION = "pension"  # 养老金, monthly, annual certification
    UNEMPLOYMENT = "unemployment"  # 失业保险金, monthly for a duration
    WORK_INJURY = "work_injury"  # 工伤定期待遇, monthly, annual certification
    LUMP_SUM = "lump_sum"  # 一次性待遇 (丧葬补助金, 一次性伤残补助金 …)
    REIMBURSEMENT = "reimbursement"  # 医疗费用报销 (零星报销)
    EMPLOYMENT_SUBSIDY = "employment_subsidy"  # 就业补贴


# The monthly kinds that need the annual survival certification (生存认证).
CERTIFIED_KINDS = frozenset({BenefitKind.PENSION, BenefitKind.WORK_INJURY})
ONE_OFF_KINDS = frozenset({BenefitKind.LUMP_SUM, BenefitKind.REIMBURSEMENT, BenefitKind.EMPLOYMENT_SUBSIDY})
DEFAULT_FUND = {
    BenefitKind.PENSION: "pension", BenefitKind.UNEMPLOYMENT: "unemployment",
    BenefitKind.WORK_INJURY: "work_injury", BenefitKind.LUMP_SUM: "pension",
    BenefitKind.REIMBURSEMENT: "medical", BenefitKind.EMPLOYMENT_SUBSIDY: "employment",
}


class BatchState(enum.StrEnum):
    BUILT = "built"  # header and lines written
    EXPORTED = "exported"  # file handed to the bank (handle stored)
    RETURNED = "returned"  # return file fetched and verified (its checksum stored)
    POSTED = "posted"  # results imported and ledger posted, in one transaction


class Entitlement(Base):
    """待遇资格: what a person is owed from which fund, from which month to which (inclusive)."""

    __tablename__ = "benefit_entitlements"
    __table_args__ = (
        CheckConstraint("end_period IS NULL OR end_period >= start_period", name="period_order"),
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        Index("ix_benefit_entitlements_active", "status", "start_period"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    fund: Mapped[str] = mapped_column(String(20))
    start_period: Mapped[str] = mapped_column(String(7))
    end_period: Mapped[str | None] = mapped_column(String(7))  # one-off: = start; unemployment: start + n - 1
    status: Mapped[str] = mapped_column(String(8), default="active")
    reference: Mapped[str | None] = mapped_column(String(64))  # the award decision (核定决定书) number
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EntitlementAmount(Base):
    """The amount per month (or the one-off amount) from a month on: adjustments are new rows, never edits
    (database triggers refuse UPDATE and DELETE). A second amount for a month not run yet is its next
    ``version``; the amount of a month is the latest version of the latest ``from_period`` on or before it."""

    __tablename__ = "benefit_amounts"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    entitlement_id: Mapped[int] = mapped_column(ForeignKey("benefit_entitlements.id"), primary_key=True)
    from_period: Mapped[str] = mapped_column(String(7), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Certification(Base):
    """资格认证: the person was seen alive on this date (award, counter, kiosk, card reader, video)."""

    __tablename__ = "benefit_certifications"
    __table_args__ = (Index("ix_benefit_certifications_person_on", "person_id", "certified_on"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    certified_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Hold(Base):
    """停发 / 待发: a month owed but not paid now — no certification within the window, death data, no payment
    account, or a late grant; released into a line by the first run in which it is payable."""

    __tablename__ = "benefit_holds"
    __table_args__ = (CheckConstraint("state IN ('open', 'released', 'cancelled')", name="state_known"),
                      Index("ix_benefit_holds_state", "state"))

    entitlement_id: Mapped[int] = mapped_column(ForeignKey("benefit_entitlements.id"), primary_key=True)
    period_due: Mapped[str] = mapped_column(String(7), primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # NOT_CERTIFIED | DECEASED | LIVING_STATUS_<n> | NO_PAYMENT_ACCOUNT | LATE_GRANT
    reason: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column()


class MonthRun(Base):
    """A month's disbursement: its batches were built in one transaction; ``done`` when every batch is posted."""

    __tablename__ = "benefit_month_runs"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))  # built | done
    payments: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
    released: Mapped[int] = mapped_column(Integer)
    no_account: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class DisbursementBatch(Base):
    """代发批次 to one bank. The header (count, total) never changes; after the return the header equals
    Σ successes + Σ failures, and stays so: re-issues go into new batches."""

    __tablename__ = "disbursement_batches"
    __table_args__ = (
        CheckConstraint("state IN ('built', 'exported', 'returned', 'posted')", name="state_known"),
        CheckConstraint("kind IN ('regular', 'reissue')", name="kind_known"),
        CheckConstraint("state <> 'posted' OR (success_count + failure_count = line_count "
                        "AND success_amount + failure_amount = total_amount)", name="header_balanced"),
        Index("ix_disbursement_batches_period", "period", "kind"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(7))
    bank_code: Mapped[str] = mapped_column(String(10))
    line_count: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10), default=BatchState.BUILT.value)
    handle: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    return_sha256: Mapped[str | None] = mapped_column(String(64))
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    success_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[dt.datetime | None] = mapped_column()
    returned_at: Mapped[dt.datetime | None] = mapped_column()
    posted_at: Mapped[dt.datetime | None] = mapped_column()


class DisbursementLine(Base):
    """One payment attempt (append-only). ``reissue_of`` links a re-issue to the failed line it replaces.

    No foreign key on ``batch_id`` and no index on ``person_id``: a million lines are COPYed per month and each
    costs a third of the write; lines are written only with their batch, and a person's lines are found through
    their entitlements (``uq_disbursement_lines_original``) and the re-issue chain."""

    __tablename__ = "disbursement_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("uq_disbursement_lines_batch_line", "batch_id", "line_no", unique=True),
        # One first attempt per month owed; re-issues hang off failed lines, one each.
        Index("uq_disbursement_lines_original", "entitlement_id", "period_due", unique=True,
              postgresql_where=text("reissue_of IS NULL"), sqlite_where=text("reissue_of IS NULL")),
        Index("uq_disbursement_lines_reissue_of", "reissue_of", unique=True,
              postgresql_where=text("reissue_of IS NOT NULL"), sqlite_where=text("reissue_of IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int] = mapped_column(Integer)
    entitlement_id: Mapped[int] = mapped_column(BigInteger)
    period_due: Mapped[str] = mapped_column(String(7))
    person_id: Mapped[int] = mapped_column(BigInteger)
    fund: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    account_no: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    reissue_of: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("disbursement_lines.id"))


class Reissue(Base):
    """退票: a failed line waiting for correction and its re-issue. open → corrected → reissued → paid, or
    reissued → failed (the new line failed: a new open entry for it)."""

    __tablename__ = "benefit_reissues"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'corrected', 'reissued', 'paid', 'failed')", name="state_known"),
        Index("ix_benefit_reissues_state", "state"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("disbursement_lines.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason_code: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10), default="open")
    correction: Mapped[str | None] = mapped_column(String(200))
    account_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    corrected_by: Mapped[str | None] = mapped_column(String(50))
    corrected_at: Mapped[dt.datetime | None] = mapped_column()
    reissue_line_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Recovery(Base):
    """多发追回: a benefit line paid for a month after the person's death, recoverable; the ledger holds it as a
    receivable of the fund (transfer ``recover:<line id>``). One per paid line (a line is recovered once)."""

    __tablename__ = "benefit_recoveries"
    __table_args__ = (CheckConstraint("state IN ('open', 'recovered', 'written_off')", name="state_known"),
                      CheckConstraint("amount > 0", name="amount_positive"))

    line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("disbursement_lines.id"), primary_key=True)
    entitlement_id: Mapped[int] = mapped_column(BigInteger, index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    period_due: Mapped[str] = mapped_column(String(7))
    fund: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(20))  # DECEASED
    source: Mapped[str] = mapped_column(String(64))  # what reported the death (a feed file)
    state: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
