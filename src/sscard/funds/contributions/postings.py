"""Ledger side of contributions: which accounts a payment lands in, and posting many payments at once.

A collected contribution moves from the bank's clearing account (``bank:<code>:clearing``: the bank owes it to
the fund) to the insurance fund's pool (``fund:pension``, the medical pools ``fund:pool:employee`` /
``fund:pool:resident`` that medical settlement pays from, ``fund:unemployment``) and, for its personal part, to
the person's account (``person:<id>:pension``; ``person:<id>:medical`` as sscard.medical names and limits it).
Transfer ids make every posting idempotent: ``contrib:<assessment id>:pool|acct`` for withholding,
``emp:<file id>:<line no>:pool|acct`` for employer files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sscard.funds import CLEARING_KIND, FUND_KIND, clearing_account, fund_account, open_missing_accounts
from sscard.funds.contributions.terms import ContribScheme, InsuranceType
from sscard.ledger import bulk
from sscard.ledger.bulk import BulkTransfer
from sscard.medical import service as medical
from sscard.medical.terms import Scheme

# (kind, debits_must_not_exceed_credits) of the accounts contributions may open.
PERSONAL_PENSION = ("pension_personal", True)
PERSONAL_MEDICAL = ("medical_personal", True)  # exactly as sscard.medical.service.enrol opens it
FUND = (FUND_KIND, False)
MEDICAL_POOL = ("medical_fund", False)  # as sscard.medical opens its pools
CLEARING = (CLEARING_KIND, False)


def personal_pension_account(person_id: int) -> str:
    """个人养老账户: credited by the personal part of pension contributions; never negative."""
    return f"person:{person_id}:pension"


def personal_account(person_id: int, insurance_type: str) -> str | None:
    if insurance_type == InsuranceType.PENSION:
        return personal_pension_account(person_id)
    if insurance_type == InsuranceType.MEDICAL:
        return medical.person_account(person_id)
    return None


def pool_account(scheme: str) -> str:
    """The pooled fund a scheme's pool part goes to."""
    if scheme == ContribScheme.EMPLOYEE_MEDICAL:
        return medical.pool_account(Scheme.EMPLOYEE)
    if scheme == ContribScheme.RESIDENT_MEDICAL:
        return medical.pool_account(Scheme.RESIDENT)
    if scheme == ContribScheme.UNEMPLOYMENT:
        return fund_account("unemployment")
    return fund_account("pension")


def employer_pool_account(insurance_type: str) -> str:
    """Employers' contributions: employee medical pool, pension fund, unemployment fund."""
    if insurance_type == InsuranceType.MEDICAL:
        return medical.pool_account(Scheme.EMPLOYEE)
    return fund_account(insurance_type)


def account_spec(code: str) -> tuple[str, bool]:
    if code.startswith("person:"):
        return PERSONAL_MEDICAL if code.endswith(":medical") else PERSONAL_PENSION
    if code.startswith("fund:pool:"):
        return MEDICAL_POOL
    if code.startswith("bank:"):
        return CLEARING
    return FUND


def ensure_accounts(session: Session, codes: Iterable[str]) -> None:
    """Open the accounts that do not exist yet; an existing account is used whatever kind its opener gave it."""
    open_missing_accounts(session, ((code, *account_spec(code)) for code in sorted(set(codes))))


@dataclass(frozen=True)
class Payment:
    """One collected amount to post: ``pool_fen`` to ``pool`` and ``personal_fen`` to ``personal``."""

    key: str  # the idempotency prefix, e.g. contrib:123
    bank_code: str
    pool: str
    pool_fen: int
    personal: str | None
    personal_fen: int
    code: str  # ledger reason
    reference: str


def transfers_for(payments: Iterable[Payment]) -> list[BulkTransfer]:
    out: list[BulkTransfer] = []
    for p in payments:
        clearing = clearing_account(p.bank_code)
        if p.pool_fen:
            out.append(BulkTransfer(f"{p.key}:pool", clearing, p.pool, p.pool_fen, p.code, p.reference))
        if p.personal_fen:
            assert p.personal is not None
            out.append(BulkTransfer(f"{p.key}:acct", clearing, p.personal, p.personal_fen, p.code, p.reference))
    return out


def post(session: Session, transfers: Sequence[BulkTransfer]) -> int:
    """Post balanced transfers in bulk (``ledger.bulk.post_many``: multi-row statements or COPY, each account's
    totals updated once) in the caller's transaction, idempotent by id; returns how many were posted now."""
    if not transfers:
        return 0
    # Personal accounts are opened at enrolment (or by the employer import); the few pools and clearing
    # accounts are opened here on first use.
    ensure_accounts(session, {c for t in transfers for c in (t.debit_account, t.credit_account)
                              if not c.startswith("person:")})
    return bulk.post_many(session, transfers).posted
