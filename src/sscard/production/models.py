"""Tables: imports and their bad rows, collected records, the population extract, the exceptions queue,
cooperating banks, production batches and their records, overdue seals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class DataImport(Base):
    """One imported file (collection data or the public-security population extract)."""

    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # collection | population
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_ok: Mapped[int] = mapped_column(Integer)
    rows_bad: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportRowError(Base):
    """A data row refused on import (row number and reason); the rest of the file went on."""

    __tablename__ = "import_row_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("data_imports.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(300))


class CollectedRecord(Base):
    """采集数据: one person's data as collected by an outlet, employer or community (kept as received)."""

    __tablename__ = "collected_records"
    __table_args__ = (Index("ix_collected_records_status_import", "status", "import_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("data_imports.id"))
    row_no: Mapped[int] = mapped_column(Integer)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(2))
    region_code: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))  # outlet | employer | community
    employer_uscc: Mapped[str | None] = mapped_column(String(18))
    photo_ref: Mapped[str | None] = mapped_column(String(200))
    photo_width: Mapped[int | None] = mapped_column(Integer)  # read from the photo file on import
    photo_height: Mapped[int | None] = mapped_column(Integer)
    # pending → exception → approved | rejected | returned (sent back for recollection)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    accepted_codes: Mapped[str] = mapped_column(String(200), default="")  # flags an operator accepted
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    card_no: Mapped[str | None] = mapped_column(String(12))


class PopulationRecord(Base):
    """公安人口信息: the latest extract's row per ID number (the register the collection is compared with)."""

    __tablename__ = "population_records"

    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(6))
    living_status: Mapped[str] = mapped_column(String(1))  # AAC060: 1 alive 2 dead 3 imprisoned 4 missing
    import_id: Mapped[int] = mapped_column(ForeignKey("data_imports.id"))


class ComparisonException(Base):
    """比对异常: one reason a collected record cannot become an application until an operator decides."""

    __tablename__ = "comparison_exceptions"
    __table_args__ = (Index("ix_comparison_exceptions_status_code", "status", "reason_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("collected_records.id"), index=True)
    reason_code: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300), default="")
    field: Mapped[str | None] = mapped_column(String(20))  # the field a "take the register's value" would fix
    register_value: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(50))
    resolved_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CooperatingBank(Base):
    """合作银行: which divisions a bank serves, its issuing quota and the character set of its files."""

    __tablename__ = "cooperating_banks"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(50))
    divisions: Mapped[str] = mapped_column(String(200))  # comma-separated division codes
    quota: Mapped[int] = mapped_column(Integer)  # cards it undertook to issue
    charset: Mapped[str] = mapped_column(String(10))  # gbk | gb2312: names outside it get a pinyin fallback


class ProductionBatch(Base):
    """制卡批次: the header whose totals must equal the sum of its records at every step."""

    __tablename__ = "production_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(30), unique=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("cooperating_banks.code"))
    kind: Mapped[str] = mapped_column(String(6))  # bank (account opening first) | maker (re-make only)
    # created → bank_sent → bank_returned → maker_sent → maker_returned → delivered
    stage: Mapped[str] = mapped_column(String(16))
    record_count: Mapped[int] = mapped_column(Integer)
    bank_ok: Mapped[int] = mapped_column(Integer, default=0)
    bank_failed: Mapped[int] = mapped_column(Integer, default=0)
    maker_sent: Mapped[int] = mapped_column(Integer, default=0)
    maker_ok: Mapped[int] = mapped_column(Integer, default=0)
    maker_failed: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    transport_salt: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BatchRecord(Base):
    """One card in one batch; a failed card stays here as failed and is re-batched into a new batch."""

    __tablename__ = "production_batch_records"
    __table_args__ = (UniqueConstraint("batch_id", "seq", name="uq_production_batch_records_seq"),
                      UniqueConstraint("batch_id", "card_id", name="uq_production_batch_records_card"))

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("production_batches.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    card_no: Mapped[str] = mapped_column(String(12))
    # in_batch → bank_ok | bank_failed → maker_ok | maker_failed → delivered
    state: Mapped[str] = mapped_column(String(14))
    name_substituted: Mapped[bool] = mapped_column(default=False)
    account_no: Mapped[str | None] = mapped_column(String(32))
    fail_code: Mapped[str | None] = mapped_column(String(10))
    fail_reason: Mapped[str | None] = mapped_column(String(100))
    chip_serial: Mapped[str | None] = mapped_column(String(32))
    atr: Mapped[str | None] = mapped_column(String(64))
    outlet_code: Mapped[str | None] = mapped_column(String(20))


class OverdueSeal(Base):
    """逾期封存: a card picked up but not activated within the policy period (one row per card)."""

    __tablename__ = "overdue_seals"

    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), primary_key=True)
    card_no: Mapped[str] = mapped_column(String(12))
    issued_at: Mapped[dt.datetime]
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    months: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
