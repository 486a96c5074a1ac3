"""Tables: the funds' bank accounts and term deposits, the maker-checker instructions that move money between
them, imported bank statements and their lines (matched, queued or resolved), and the daily balance checks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class TreasuryAccount(Base):
    """A fund's account at a cooperating bank: 收入户 (collection), 支出户 (payment), 财政专户 (special) or a term
    deposit (deposit), with its mirror in the ledger (``ledger_code``, one of the chart's ``fundbank:`` codes)."""

    __tablename__ = "treasury_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('collection', 'payment', 'special', 'deposit')", name="kind"),
        CheckConstraint("status IN ('proposed', 'open', 'closed', 'rejected')", name="status"),
        UniqueConstraint("bank_code", "account_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the treasury's code, e.g. PEN-ICBC-COL
    fund: Mapped[str] = mapped_column(String(20))  # pension, medical, unemployment, work_injury, employment
    bank_code: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(12))
    account_no: Mapped[str] = mapped_column(String(34))  # the bank's account (or deposit certificate) number
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    ledger_code: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TreasuryDeposit(Base):
    """定期存款 placed by a tender result: the terms of one deposit account (kind ``deposit``)."""

    __tablename__ = "treasury_deposits"
    __table_args__ = (
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bounds"),
        CheckConstraint("term_months > 0", name="term_positive"),
        CheckConstraint("maturity_on > placed_on", name="matures_after_placement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"), unique=True)
    source_account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))  # the special account
    tender_ref: Mapped[str] = mapped_column(String(40))  # 招标结果 (the tender's reference)
    principal: Mapped[int] = mapped_column(BigInteger)  # fen
    rate_bp: Mapped[int] = mapped_column(Integer)  # annual rate in basis points: 175 = 1.75 %
    term_months: Mapped[int] = mapped_column(Integer)
    placed_on: Mapped[dt.date] = mapped_column(Date)
    maturity_on: Mapped[dt.date] = mapped_column(Date)


class TreasuryInstruction(Base):
    """划款指令: one movement between two fund accounts, proposed by one operator (经办) and approved by another
    (复核); the approval writes the ledger transfer(s) in its own transaction. ``kind``: ``sweep`` (收入户 →
    财政专户), ``plan`` (财政专户 → 支出户 on the 用款计划 ``plan_no``), ``placement`` (财政专户 → deposit) and
    ``maturity`` (deposit → 财政专户, principal, plus ``interest`` from the fund's interest income)."""

    __tablename__ = "treasury_instructions"
    __table_args__ = (
        CheckConstraint("kind IN ('sweep', 'plan', 'placement', 'maturity')", name="kind"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status"),
        CheckConstraint("amount > 0 AND interest >= 0", name="amounts"),
        CheckConstraint("from_account_id <> to_account_id", name="two_accounts"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> proposed_by_id", name="maker_checker"),
        Index("ix_treasury_instructions_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # on the bank's statement line (EndToEndId)
    request_key: Mapped[str] = mapped_column(String(64), unique=True)  # the proposer's idempotency key
    kind: Mapped[str] = mapped_column(String(12))
    from_account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))
    to_account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # fen (the principal at maturity)
    interest: Mapped[int] = mapped_column(BigInteger, default=0)  # fen, maturity only
    plan_no: Mapped[str | None] = mapped_column(String(40))  # 用款计划编号, plan only
    memo: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10))
    proposed_by_id: Mapped[int] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(String(200))


class TreasuryStatement(Base):
    """An imported bank statement (camt.053 or CSV) of one account: its period, balances and content digest."""

    __tablename__ = "treasury_statements"
    __table_args__ = (
        CheckConstraint("format IN ('camt053', 'csv')", name="format"),
        CheckConstraint("to_date >= from_date", name="period"),
        UniqueConstraint("account_id", "statement_id"),
        Index("ix_treasury_statements_account_period", "account_id", "from_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))
    format: Mapped[str] = mapped_column(String(8))
    statement_id: Mapped[str] = mapped_column(String(35))  # the bank's Stmt/Id
    message_id: Mapped[str] = mapped_column(String(35))  # GrpHdr/MsgId
    from_date: Mapped[dt.date] = mapped_column(Date)
    to_date: Mapped[dt.date] = mapped_column(Date)
    opening_balance: Mapped[int] = mapped_column(BigInteger)  # fen, signed (credit balance of the bank's book)
    closing_balance: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(Integer)
    matched_count: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the signed document
    key_ref: Mapped[str] = mapped_column(String(40))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TreasuryStatementLine(Base):
    """One entry (Ntry) of a statement: ``matched`` to a ledger transfer automatically, ``queued`` for the
    reconciliation queue (with suggested transfers), or ``resolved`` from the queue (``resolution`` says how)."""

    __tablename__ = "treasury_statement_lines"
    __table_args__ = (
        CheckConstraint("direction IN ('C', 'D')", name="direction"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('matched', 'queued', 'resolved')", name="status"),
        CheckConstraint("resolution IS NULL OR resolution IN ('auto', 'match', 'charge', 'interest', 'explained')",
                        name="resolution"),
        UniqueConstraint("statement_id", "line_no"),
        Index("ix_treasury_statement_lines_queue", "account_id", "status"),
        # A ledger transfer is matched by at most one line of each account's statements (a movement between two
        # fund accounts is on both accounts' statements).
        Index("ux_treasury_statement_lines_transfer", "account_id", "transfer_id", unique=True,
              sqlite_where=text("transfer_id IS NOT NULL"), postgresql_where=text("transfer_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("treasury_statements.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    booking_date: Mapped[dt.date] = mapped_column(Date)
    value_date: Mapped[dt.date] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(1))  # C: money in (CRDT), D: money out (DBIT)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    reference: Mapped[str] = mapped_column(String(64))  # EndToEndId: our reference, as the ledger carries it
    bank_ref: Mapped[str] = mapped_column(String(35))  # AcctSvcrRef: the bank's own reference
    description: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(10))
    transfer_id: Mapped[str | None] = mapped_column(String(64))  # the ledger transfer it matches
    resolution: Mapped[str | None] = mapped_column(String(10))
    suggestions: Mapped[str] = mapped_column(String(200), default="")  # ledger transfer ids, space-separated
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None]
    note: Mapped[str] = mapped_column(String(200), default="")


class TreasuryBalanceCheck(Base):
    """The daily balance check of an account: the statement's closing balance of ``day`` against the ledger
    balance at the end of that day (local time). ``open_items`` is what the unmatched lines on either side add
    up to; ``status`` is ``ok`` (equal), ``explained`` (the difference is exactly the open items) or
    ``unexplained``."""

    __tablename__ = "treasury_balance_checks"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'explained', 'unexplained')", name="status"),
        UniqueConstraint("account_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("treasury_accounts.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("treasury_statements.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    statement_balance: Mapped[int] = mapped_column(BigInteger)
    ledger_balance: Mapped[int] = mapped_column(BigInteger)
    difference: Mapped[int] = mapped_column(BigInteger)  # statement − ledger
    open_items: Mapped[int] = mapped_column(BigInteger)  # bank-only lines − ledger-only transfers, signed
    status: Mapped[str] = mapped_column(String(12))
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
