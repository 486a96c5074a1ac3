"""Ledger side of contributions: which accounts a payment lands in, and posting many payments at once.

A collected contribution moves from the bank's clearing account (``bank:<code>:clearing``: the bank owes it to
the fund) to the insurance fund's pool (``fund:pension``, the medical pools ``fund:pool:employee`` /
``fund:pool:resident`` that medical settlement pays from, ``fund:unemployment``) and, for its personal part, to
the person's account (``person:<id>:pension``, ``person:<id>:medical``): the accounts of ``sscard.ledger.chart``.
Transfer ids make every posting idempotent: ``contrib:<assessment id>:pool|acct`` for withholding,
``emp:<file id>:<line no>:pool|acct`` for employer files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sscard.funds.contributions.terms import ContribScheme, InsuranceType
from sscard.ledger import bulk, chart
from sscard.ledger.bulk import BulkTransfer
from sscard.medical.terms import Scheme

_EMPLOYEE_POOL = chart.MedicalPool(Scheme.EMPLOYEE.value).code
_RESIDENT_POOL = chart.MedicalPool(Scheme.RESIDENT.value).code


def personal_account(person_id: int, insurance_type: str) -> str | None:
    """The person's own account a contribution's personal part goes to (pension and medical only)."""
    if insurance_type == InsuranceType.PENSION:
        return chart.PersonalPension(person_id).code
    if insurance_type == InsuranceType.MEDICAL:
        return chart.PersonalMedical(person_id).code
    return None


def pool_account(scheme: str) -> str:
    """The pooled fund a scheme's pool part goes to."""
    if scheme == ContribScheme.EMPLOYEE_MEDICAL:
        return _EMPLOYEE_POOL
    if scheme == ContribScheme.RESIDENT_MEDICAL:
        return _RESIDENT_POOL
    if scheme == ContribScheme.UNEMPLOYMENT:
        return chart.Fund("unemployment").code
    return chart.Fund("pension").code


def employer_pool_account(insurance_type: str) -> str:
    """Employers' contributions: employee medical pool, pension fund, unemployment fund."""
    if insurance_type == InsuranceType.MEDICAL:
        return _EMPLOYEE_POOL
    return chart.Fund(insurance_type).code


def ensure_accounts(session: Session, codes: Iterable[str]) -> None:
    """Open the accounts that do not exist yet (kind and limit as the chart gives them); an existing account is
    used whatever kind its opener gave it."""
    chart.open_missing(session, map(chart.parse, set(codes)))


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
        clearing = chart.BankClearing(p.bank_code).code
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
    codes = {c for t in transfers for c in (t.debit_account, t.credit_account)}
    ensure_accounts(session, {c for c in codes
                              if not isinstance(chart.parse(c), chart.PersonalMedical | chart.PersonalPension)})
    return bulk.post_many(session, transfers).posted
