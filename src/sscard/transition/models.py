"""Tables: each legacy card file imported (its totals and how they were split), and every old card with the
balance it brought, the person it was matched to (or why it waits in the exceptions queue)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class LegacyImport(Base):
    """One LMC1 file, applied whole: the old totals (header = lines) and the split into carried and queued."""

    __tablename__ = "transition_imports"
    __table_args__ = (
        CheckConstraint("carried_count + exception_count = line_count AND carried_fen + exception_fen = total_fen",
                        name="totals_split"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(18))
    file_id: Mapped[str] = mapped_column(String(40), unique=True)
    checksum: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the content: a file once
    as_of: Mapped[dt.date] = mapped_column(Date)
    encoding: Mapped[str] = mapped_column(String(8))
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    carried_count: Mapped[int] = mapped_column(Integer)
    carried_fen: Mapped[int] = mapped_column(BigInteger)
    exception_count: Mapped[int] = mapped_column(Integer)
    exception_fen: Mapped[int] = mapped_column(BigInteger)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LegacyCard(Base):
    """旧医保卡: one line of a file. ``state`` carried (its balance is in the person's personal medical account,
    ledger transfer ``legacy:<source>:<card>``) or exception (no person matched: ``reason``; its balance stays in
    the transition account until resolved). ``person_id`` is the registry's person (no foreign key: a migration
    of millions of rows is COPYed, and a person is never deleted)."""

    __tablename__ = "transition_cards"
    __table_args__ = (
        CheckConstraint("state IN ('carried', 'exception')", name="state"),
        CheckConstraint("state = 'exception' OR person_id IS NOT NULL", name="carried_has_person"),
        CheckConstraint("balance_fen >= 0", name="balance_not_negative"),
        # The exceptions queue only (migration 0018): the carried millions need no entry — the register is read
        # whole per import (report, carry) or by card number — and each entry cost its share of the import.
        Index("ix_transition_cards_exceptions", "import_id", "line_no",
              postgresql_where=text("state = 'exception'"), sqlite_where=text("state = 'exception'")),
    )

    legacy_card_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    # No foreign key either (migration 0018): the import is the row written just before, in the same
    # transaction, and is never deleted; the key's trigger ran once per card, half of writing the register.
    import_id: Mapped[int] = mapped_column(Integer)
    line_no: Mapped[int] = mapped_column(Integer)
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    legacy_status: Mapped[str] = mapped_column(String(1))  # 1 正常, 2 挂失, 9 注销 in the old system
    person_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(20))  # NO_PERSON | ID_INVALID | PERSON_DECEASED
