"""Tables: ledger accounts (running totals, limit flags) and transfers (immutable, append-only journal).

Follows TigerBeetle: an account keeps four totals (debits/credits × posted/pending); a transfer never changes
after it is written — posting or voiding a pending transfer is a new transfer that points at it (``pending_id``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY


class TransferState(enum.StrEnum):
    POSTED = "posted"  # moves posted balances at once
    PENDING = "pending"  # reserves: moves pending balances until posted or voided (冻结)
    POST_PENDING = "post_pending"  # posts (all or part of) a pending transfer, releases the rest
    VOID_PENDING = "void_pending"  # releases a pending transfer


class LedgerAccount(Base):
    """账户. Balances are in fen; a "credit balance" account (e.g. a person's medical account) has
    ``debits_must_not_exceed_credits`` so it can never go negative."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
                        "AND credits_pending >= 0", name="totals_not_negative"),
        CheckConstraint("NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
                        name="one_limit_flag"),
        # The limits again at row level: a write that bypasses the service still cannot break them.
        CheckConstraint("NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
                        name="debits_within_credits"),
        CheckConstraint("NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
                        name="credits_within_debits"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)  # person:123:medical, fund:pool:employee
    kind: Mapped[str] = mapped_column(String(30))  # asset, liability, … or a domain kind
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    # Every balance UPDATE also says "WHERE version = <read>": a writer that forgot to lock fails loudly
    # (StaleDataError) instead of silently losing an update.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own dict)


class LedgerTransfer(Base):
    """转账: one balanced movement of ``amount`` fen from ``debit_account`` to ``credit_account``.

    ``id`` is the client's idempotency key; ``seq`` orders the journal (history pages by it)."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint("state IN ('posted', 'pending', 'post_pending', 'void_pending')", name="state_known"),
        CheckConstraint("(state IN ('post_pending', 'void_pending') AND pending_id IS NOT NULL) "
                        "OR (state IN ('posted', 'pending') AND pending_id IS NULL)", name="pending_id_iff_resolving"),
        Index("ix_ledger_transfers_debit_seq", "debit_account_id", "seq"),
        Index("ix_ledger_transfers_credit_seq", "credit_account_id", "seq"),
        # Partial (migration 0009): posted transfers, nearly all of them, carry no NULL entry. On SQLite the
        # column keeps the UNIQUE of migration 0002 (same rule).
        Index("uq_ledger_transfers_pending_id", "pending_id", unique=True,
              postgresql_where=text("pending_id IS NOT NULL")),
    )

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    debit_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12))
    # Unique (index above): a pending transfer is resolved (posted or voided) at most once, whatever the service does.
    pending_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("ledger_transfers.id"))
    code: Mapped[str] = mapped_column(String(40), default="")  # reason, e.g. medical.settlement
    reference: Mapped[str | None] = mapped_column(String(64))  # e.g. the settlement number (not indexed: 0009)
    timestamp: Mapped[dt.datetime] = mapped_column(default=utcnow)
