"""The treasury's use cases: the funds' bank accounts, the maker-checker movements between them, collections
and payments through them, statement import with automatic matching, the reconciliation queue, the daily
balance checks and the monthly reconciliation (余额调节表).

Every function authorises first (``sscard.access``) and writes its records, its ledger transfers and its
audit records in one transaction; a ``DomainError`` leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.bulksql import insert_rows, no_gc
from sscard.db import Database
from sscard.kms.partners import PartnerKeys
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from sscard.ledger.schemas import TransferIn, TransferOut
from sscard.policy import service as policy
from sscard.treasury import statements
from sscard.treasury.errors import (
    TreasuryAccountExists,
    TreasuryAccountInvalid,
    TreasuryDepositNotMature,
    TreasuryFlowInvalid,
    TreasuryInstructionState,
    TreasuryKeyReused,
    TreasuryLineState,
    TreasuryMatchInvalid,
    TreasuryNotFound,
    TreasuryReportEmpty,
    TreasurySameOperator,
    TreasuryStatementDuplicate,
    TreasuryStatementOverlap,
    TreasuryStatementUnknownAccount,
)
from sscard.treasury.models import (
    TreasuryAccount,
    TreasuryBalanceCheck,
    TreasuryDeposit,
    TreasuryInstruction,
    TreasuryStatement,
    TreasuryStatementLine,
)

FUNDS = ("pension", "medical", "unemployment", "work_injury", "employment")
KINDS: dict[str, type[chart.FundCollectionAccount | chart.FundPaymentAccount | chart.FinanceSpecialAccount
                      | chart.TermDeposit]] = {
    "collection": chart.FundCollectionAccount, "payment": chart.FundPaymentAccount,
    "special": chart.FinanceSpecialAccount, "deposit": chart.TermDeposit}
FLOWS = {"sweep": ("collection", "special"), "plan": ("special", "payment"), "placement": ("special", "deposit"),
         "maturity": ("deposit", "special")}
WINDOW = "treasury.match_window_days"
DAY_BASIS = "treasury.interest_day_basis"
POSTED = ("posted", "post_pending")
_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9_.\-]{0,39}")
_BANK_RE = re.compile(r"[A-Z0-9]{1,10}")
_ACCOUNT_NO_RE = re.compile(r"[0-9A-Za-z\-]{4,34}")
_KEY_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_REF_RE = re.compile(r"[A-Za-z0-9_.:/\-]{1,40}")


def _today() -> dt.date:
    return clock.local_date()


def _day_start_utc(day: dt.date) -> dt.datetime:
    """The UTC instant the bureau's day ``day`` starts (Asia/Shanghai)."""
    return dt.datetime.combine(day, dt.time(), clock.local_zone()).astimezone(dt.UTC)


# ---------------------------------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class AccountView:
    code: str
    fund: str
    bank_code: str
    kind: str
    account_no: str
    name: str
    status: str
    ledger_code: str
    balance: int  # fen: the ledger's debit balance, what the bank should hold
    deposit: DepositView | None = None


@dataclass(frozen=True, slots=True)
class DepositView:
    tender_ref: str
    principal: int
    rate_bp: int
    term_months: int
    placed_on: dt.date
    maturity_on: dt.date
    source_code: str


def _account(session: Session, code: str, lock: bool = False) -> TreasuryAccount:
    query = select(TreasuryAccount).where(TreasuryAccount.code == code)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise TreasuryNotFound(f"no fund account {str(code)[:40]!r}", code=str(code)[:40])
    return found


def _snapshot(a: TreasuryAccount) -> dict[str, Any]:
    return {"code": a.code, "fund": a.fund, "bank_code": a.bank_code, "kind": a.kind, "account_no": a.account_no,
            "status": a.status, "ledger_code": a.ledger_code}


def _check_account_fields(code: str, fund: str, bank_code: str, kind: str, account_no: str, name: str) -> None:
    problems = [what for what, ok in (
        ("code (A-Z 0-9 _ . -, ≤ 40)", isinstance(code, str) and _CODE_RE.fullmatch(code)),
        (f"fund (one of {', '.join(FUNDS)})", fund in FUNDS),
        ("bank code (A-Z 0-9, ≤ 10)", isinstance(bank_code, str) and _BANK_RE.fullmatch(bank_code)),
        ("kind (collection, payment, special, deposit)", kind in KINDS),
        ("account number (4-34 letters, digits, -)",
         isinstance(account_no, str) and _ACCOUNT_NO_RE.fullmatch(account_no)),
        ("name (1-100)", isinstance(name, str) and 0 < len(name) <= 100),
    ) if not ok]
    if problems:
        raise TreasuryAccountInvalid("bad " + ", ".join(problems))


def _new_account(session: Session, actor: Actor, code: str, fund: str, bank_code: str, kind: str,
                 account_no: str, name: str, opened_on: dt.date, status: str) -> TreasuryAccount:
    _check_account_fields(code, fund, bank_code, kind, account_no, name)
    clash = session.execute(select(TreasuryAccount.code).where(or_(
        TreasuryAccount.code == code,
        (TreasuryAccount.bank_code == bank_code) & (TreasuryAccount.account_no == account_no)))).first()
    if clash is not None:
        raise TreasuryAccountExists(f"{code} / {bank_code}", code=code)
    mirror = KINDS[kind](code)
    account = TreasuryAccount(code=code, fund=fund, bank_code=bank_code, kind=kind, account_no=account_no,
                              name=name, ledger_code=mirror.code, status=status, opened_on=opened_on,
                              created_by=actor.username)
    session.add(account)
    session.flush()
    chart.open_account(session, mirror)
    audit.record(session, actor, "treasury.account.open", "treasury_account", account.id, None, _snapshot(account))
    return account


def open_account(db: Database, actor: Actor, code: str, fund: str, bank_code: str, kind: str, account_no: str,
                 name: str, opened_on: dt.date | None = None) -> AccountView:
    """Register a fund's 收入户, 支出户 or 财政专户 at a bank, and open its mirror in the ledger."""
    actor.require(Permission.TREASURY_ADMIN)
    if kind == "deposit":
        raise TreasuryAccountInvalid("a term deposit is opened by its placement (propose_placement)")
    with db.unit_of_work() as session:
        account = _new_account(session, actor, code, fund, bank_code, kind, account_no, name,
                               opened_on or _today(), "open")
        return _view(session, account)


def _ledger_balances(session: Session, codes: Iterable[str]) -> dict[str, int]:
    rows = session.execute(select(LedgerAccount.code, LedgerAccount.debits_posted - LedgerAccount.credits_posted)
                           .where(LedgerAccount.code.in_(list(codes))))
    return {code: int(value) for code, value in rows}


def _view(session: Session, a: TreasuryAccount, balance: int | None = None,
          deposit: DepositView | None = None) -> AccountView:
    if balance is None:
        balance = _ledger_balances(session, [a.ledger_code]).get(a.ledger_code, 0)
    return AccountView(a.code, a.fund, a.bank_code, a.kind, a.account_no, a.name, a.status, a.ledger_code,
                       balance, deposit)


def list_accounts(db: Database, actor: Actor, fund: str | None = None) -> list[AccountView]:
    """Every fund account with its ledger balance (and a deposit's terms), by fund, kind and code."""
    actor.require(Permission.TREASURY_READ)
    with db.unit_of_work() as session:
        query = select(TreasuryAccount).order_by(TreasuryAccount.fund, TreasuryAccount.kind, TreasuryAccount.code)
        if fund:
            query = query.where(TreasuryAccount.fund == fund)
        accounts = list(session.execute(query).scalars())
        balances = _ledger_balances(session, [a.ledger_code for a in accounts])
        codes = {a.id: a.code for a in accounts}
        deposits = {d.account_id: d for d in session.execute(select(TreasuryDeposit)).scalars()}
        out = []
        for a in accounts:
            d = deposits.get(a.id)
            terms = None if d is None else DepositView(d.tender_ref, d.principal, d.rate_bp, d.term_months,
                                                       d.placed_on, d.maturity_on, codes.get(d.source_account_id, ""))
            out.append(_view(session, a, balances.get(a.ledger_code, 0), terms))
        return out


@dataclass(frozen=True, slots=True)
class Position:
    """A fund's money at the banks: by kind of account, and the deposits maturing."""

    fund: str
    collection: int
    payment: int
    special: int
    deposits: int
    total: int
    interest_earned: int


def positions(db: Database, actor: Actor) -> list[Position]:
    actor.require(Permission.TREASURY_READ)
    accounts = list_accounts(db, actor)
    with db.unit_of_work() as session:
        interest = _ledger_balances(session, [chart.InterestIncome(f).code for f in FUNDS])
    out = []
    for fund in FUNDS:
        sums: dict[str, int] = defaultdict(int)
        for a in accounts:
            if a.fund == fund and a.status in ("open", "closed"):
                sums[a.kind] += a.balance
        if not any(sums.values()) and not any(a.fund == fund for a in accounts):
            continue
        out.append(Position(fund, sums["collection"], sums["payment"], sums["special"], sums["deposit"],
                            sum(sums.values()), -interest.get(chart.InterestIncome(fund).code, 0)))
    return out


# ---------------------------------------------------------------------------------------------------- money in / out


def _check_ref(reference: str) -> str:
    if not isinstance(reference, str) or not _REF_RE.fullmatch(reference):
        raise TreasuryFlowInvalid("the reference is 1-40 of A-Z a-z 0-9 _ . : / -")
    return reference


def _check_amount(amount: object) -> int:
    if type(amount) is not int or not 0 < amount <= ledger.TOTAL_MAX:
        raise TreasuryFlowInvalid("the amount is a whole number of fen, more than zero")
    return amount


def record_collection(db: Database, actor: Actor, account_code: str, amount: int, reference: str) -> TransferOut:
    """收款: money the bank put on a 收入户 (from the bank's clearing of collected contributions). The reference
    is the one the bank's statement line will carry; a retry with it moves nothing twice."""
    return _through(db, actor, account_code, amount, reference, "collection", incoming=True)


def record_payment(db: Database, actor: Actor, account_code: str, amount: int, reference: str) -> TransferOut:
    """付款: what a 支出户 paid out through the bank (benefit batches, settlements with institutions)."""
    return _through(db, actor, account_code, amount, reference, "payment", incoming=False)


def _through(db: Database, actor: Actor, account_code: str, amount: int, reference: str, kind: str,
             incoming: bool) -> TransferOut:
    actor.require(Permission.TREASURY_PROPOSE)
    _check_amount(amount)
    _check_ref(reference)
    with db.unit_of_work() as session:
        account = _account(session, account_code)
        if account.kind != kind or account.status != "open":
            raise TreasuryFlowInvalid(f"{account.code} is a {account.kind} account ({account.status}), "
                                      f"not an open {kind} account")
        clearing = chart.BankClearing(account.bank_code)
        chart.open_missing(session, [clearing])
        debit, credit = (account.ledger_code, clearing.code) if incoming else (clearing.code, account.ledger_code)
        out = ledger.transfer(session, TransferIn(id=f"treasury:{kind}:{account.code}:{reference}"[:64],
                                                  debit_account=debit, credit_account=credit, amount=amount,
                                                  code=f"treasury.{kind}", reference=reference))
        if not out.replayed:
            audit.record(session, actor, f"treasury.{kind}", "treasury_account", account.id, None,
                         {"amount": amount, "reference": reference, "transfer": out.id})
        return out


# ---------------------------------------------------------------------------------------------------- instructions


@dataclass(frozen=True, slots=True)
class InstructionView:
    id: int
    reference: str
    kind: str
    from_code: str
    to_code: str
    fund: str
    amount: int
    interest: int
    plan_no: str | None
    memo: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    reject_reason: str | None


def _instruction_view(session: Session, i: TreasuryInstruction) -> InstructionView:
    accounts = dict(session.execute(select(TreasuryAccount.id, TreasuryAccount.code)
                                    .where(TreasuryAccount.id.in_((i.from_account_id, i.to_account_id)))).all())
    fund = session.execute(select(TreasuryAccount.fund).where(TreasuryAccount.id == i.from_account_id)).scalar_one()
    return InstructionView(i.id, i.reference, i.kind, accounts[i.from_account_id], accounts[i.to_account_id], fund,
                           i.amount, i.interest, i.plan_no, i.memo, i.status, i.proposed_by, i.proposed_at,
                           i.decided_by, i.decided_at, i.reject_reason)


def _operator(actor: Actor) -> int:
    if actor.operator_id is None:
        raise TreasurySameOperator("maker and checker are named operators, not the system")
    return actor.operator_id


def _propose(session: Session, actor: Actor, request_key: str, kind: str, source: TreasuryAccount,
             target: TreasuryAccount, amount: int, interest: int = 0, plan_no: str | None = None,
             memo: str = "") -> TreasuryInstruction:
    if not isinstance(request_key, str) or not _KEY_RE.fullmatch(request_key):
        raise TreasuryFlowInvalid("the request key is 1-64 of A-Z a-z 0-9 _ . : -")
    _check_amount(amount)
    if not isinstance(memo, str) or len(memo) > 200:
        raise TreasuryFlowInvalid("the memo is at most 200 characters")
    want_from, want_to = FLOWS[kind]
    if source.kind != want_from or target.kind != want_to:
        raise TreasuryFlowInvalid(f"a {kind} moves money from a {want_from} account to a {want_to} account")
    if source.fund != target.fund:
        raise TreasuryFlowInvalid(f"{source.code} ({source.fund}) and {target.code} ({target.fund}): "
                                  "money stays in its fund")
    if kind != "placement" and (source.status != "open" or target.status != "open"):
        raise TreasuryFlowInvalid("both accounts must be open")
    instruction = TreasuryInstruction(reference=f"PENDING:{request_key}"[:32], request_key=request_key, kind=kind,
                                      from_account_id=source.id, to_account_id=target.id, amount=amount,
                                      interest=interest, plan_no=plan_no, memo=memo, status="proposed",
                                      proposed_by_id=_operator(actor), proposed_by=actor.username,
                                      proposed_at=clock.now())
    session.add(instruction)
    session.flush()
    instruction.reference = f"TR{_today():%Y%m%d}{instruction.id:06d}"
    session.flush()
    audit.record(session, actor, f"treasury.{kind}.propose", "treasury_instruction", instruction.id, None,
                 {"reference": instruction.reference, "from": source.code, "to": target.code, "amount": amount,
                  "interest": interest, "plan_no": plan_no})
    return instruction


def _replay(session: Session, request_key: str, same: dict[str, Any]) -> InstructionView | None:
    """A proposal repeated with its request key: the first one back if the body is the same."""
    found = session.execute(select(TreasuryInstruction).where(TreasuryInstruction.request_key == request_key)
                            ).scalar_one_or_none()
    if found is None:
        return None
    if any(getattr(found, k) != v for k, v in same.items()):
        raise TreasuryKeyReused(request_key, request_key=request_key)
    return _instruction_view(session, found)


def propose(db: Database, actor: Actor, kind: str, from_code: str, to_code: str, amount: int, request_key: str,
            plan_no: str | None = None, memo: str = "") -> InstructionView:
    """经办: propose a sweep (收入户 → 财政专户) or, on a 用款计划 ``plan_no``, a transfer from the 财政专户 to
    the 支出户. Nothing moves until another operator approves it."""
    actor.require(Permission.TREASURY_PROPOSE)
    if kind not in ("sweep", "plan"):
        raise TreasuryFlowInvalid("propose takes a sweep or a plan; deposits have their own proposals")
    if kind == "plan" and (not isinstance(plan_no, str) or not _REF_RE.fullmatch(plan_no)):
        raise TreasuryFlowInvalid("a transfer to the payment account names its 用款计划 (plan number)")
    if kind == "sweep":
        plan_no = None
    with db.unit_of_work() as session:
        source, target = _account(session, from_code), _account(session, to_code)
        replayed = _replay(session, request_key, {"kind": kind, "from_account_id": source.id,
                                                  "to_account_id": target.id, "amount": amount,
                                                  "plan_no": plan_no})
        if replayed is not None:
            return replayed
        return _instruction_view(session, _propose(session, actor, request_key, kind, source, target, amount,
                                                   plan_no=plan_no, memo=memo))


def propose_placement(db: Database, actor: Actor, request_key: str, special_code: str, deposit_code: str,
                      certificate_no: str, tender_ref: str, principal: int, rate_bp: int, term_months: int,
                      placed_on: dt.date, bank_code: str | None = None) -> InstructionView:
    """经办: place a term deposit won by tender (bank, amount, rate, term; maturity = placement + term) from the
    财政专户. The deposit account is registered now (``proposed``) and opens when the placement is approved."""
    actor.require(Permission.TREASURY_PROPOSE)
    if type(rate_bp) is not int or not 0 <= rate_bp <= 10000 or type(term_months) is not int \
            or not 0 < term_months <= 120 or not isinstance(tender_ref, str) or not _REF_RE.fullmatch(tender_ref):
        raise TreasuryAccountInvalid("rate 0-10000 basis points, term 1-120 months, a tender reference")
    _check_amount(principal)
    with db.unit_of_work() as session:
        special = _account(session, special_code)
        existing = session.execute(select(TreasuryInstruction).where(
            TreasuryInstruction.request_key == request_key)).scalar_one_or_none()
        if existing is not None:
            deposit_account = session.get(TreasuryAccount, existing.to_account_id)
            if deposit_account is None or deposit_account.code != deposit_code or existing.amount != principal:
                raise TreasuryKeyReused(request_key, request_key=request_key)
            return _instruction_view(session, existing)
        deposit = _new_account(session, actor, deposit_code, special.fund, bank_code or special.bank_code, "deposit",
                               certificate_no, f"定期存款 {tender_ref}"[:100], placed_on, "proposed")
        maturity = _add_months(placed_on, term_months)
        session.add(TreasuryDeposit(account_id=deposit.id, source_account_id=special.id, tender_ref=tender_ref,
                                    principal=principal, rate_bp=rate_bp, term_months=term_months,
                                    placed_on=placed_on, maturity_on=maturity))
        instruction = _propose(session, actor, request_key, "placement", special, deposit, principal,
                               memo=f"tender {tender_ref}, {rate_bp} bp, {term_months} months")
        return _instruction_view(session, instruction)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def interest_due(principal: int, rate_bp: int, placed_on: dt.date, maturity_on: dt.date, day_basis: int) -> int:
    """Simple interest in fen, rounded half up: principal × rate × days ÷ (10,000 × the day basis)."""
    days = (maturity_on - placed_on).days
    numerator, denominator = principal * rate_bp * days, 10_000 * day_basis
    return (2 * numerator + denominator) // (2 * denominator)


def propose_maturity(db: Database, actor: Actor, request_key: str, deposit_code: str) -> InstructionView:
    """经办: take a matured deposit back to its 财政专户: the principal, and the interest its terms earn (the
    day basis is the policy's ``treasury.interest_day_basis``)."""
    actor.require(Permission.TREASURY_PROPOSE)
    with db.unit_of_work() as session:
        deposit_account = _account(session, deposit_code)
        terms = session.execute(select(TreasuryDeposit).where(TreasuryDeposit.account_id == deposit_account.id)
                                ).scalar_one_or_none()
        if terms is None:
            raise TreasuryFlowInvalid(f"{deposit_code} is not a term deposit")
        replayed = _replay(session, request_key, {"kind": "maturity", "from_account_id": deposit_account.id})
        if replayed is not None:
            return replayed
        if deposit_account.status != "open" or _today() < terms.maturity_on:
            raise TreasuryDepositNotMature(f"{deposit_code} matures on {terms.maturity_on} ({deposit_account.status})")
        pending = session.execute(select(TreasuryInstruction.id).where(
            TreasuryInstruction.from_account_id == deposit_account.id, TreasuryInstruction.kind == "maturity",
            TreasuryInstruction.status != "rejected")).first()
        if pending is not None:
            raise TreasuryDepositNotMature(f"{deposit_code} is already being taken back")
        special = session.get(TreasuryAccount, terms.source_account_id)
        assert special is not None
        interest = interest_due(terms.principal, terms.rate_bp, terms.placed_on, terms.maturity_on,
                                policy.get_int(session, DAY_BASIS, terms.maturity_on))
        return _instruction_view(session, _propose(session, actor, request_key, "maturity", deposit_account,
                                                   special, terms.principal, interest=interest,
                                                   memo=f"tender {terms.tender_ref}"))


def _pending_instruction(session: Session, actor: Actor, instruction_id: int) -> TreasuryInstruction:
    found = session.execute(select(TreasuryInstruction).where(TreasuryInstruction.id == instruction_id)
                            .with_for_update()).scalar_one_or_none()
    if found is None:
        raise TreasuryNotFound(f"no instruction {instruction_id}")
    if found.status != "proposed":
        raise TreasuryInstructionState(f"{found.reference} is {found.status}", reference=found.reference)
    if _operator(actor) == found.proposed_by_id:
        raise TreasurySameOperator(f"{actor.username} proposed {found.reference}", reference=found.reference)
    return found


def approve(db: Database, actor: Actor, instruction_id: int) -> InstructionView:
    """复核: a second operator approves; the money moves now, as balanced ledger transfers carrying the
    instruction's reference (what the bank's statement line will carry)."""
    actor.require(Permission.TREASURY_APPROVE)
    with db.unit_of_work() as session:
        i = _pending_instruction(session, actor, instruction_id)
        source = _account(session, _code_of(session, i.from_account_id), lock=True)
        target = _account(session, _code_of(session, i.to_account_id), lock=True)
        available = _ledger_balances(session, [source.ledger_code]).get(source.ledger_code, 0)
        if available < i.amount:
            raise TreasuryFlowInvalid(f"{source.code} holds {available} fen, the instruction moves {i.amount}")
        legs = [TransferIn(id=f"treasury:{i.reference}", debit_account=target.ledger_code,
                           credit_account=source.ledger_code, amount=i.amount, code=f"treasury.{i.kind}",
                           reference=i.reference)]
        if i.interest:
            income = chart.InterestIncome(source.fund)
            chart.open_missing(session, [income])
            legs.append(TransferIn(id=f"treasury:{i.reference}:interest", debit_account=target.ledger_code,
                                   credit_account=income.code, amount=i.interest, code="treasury.interest",
                                   reference=i.reference))
        ledger.transfers(session, legs)
        if i.kind == "placement":
            target.status = "open"
        elif i.kind == "maturity":
            source.status = "closed"
        i.status, i.decided_by_id, i.decided_by, i.decided_at = "approved", _operator(actor), actor.username, \
            clock.now()
        session.flush()
        audit.record(session, actor, f"treasury.{i.kind}.approve", "treasury_instruction", i.id,
                     {"status": "proposed"}, {"status": "approved", "reference": i.reference, "amount": i.amount,
                                              "interest": i.interest, "transfers": [leg.id for leg in legs]})
        return _instruction_view(session, i)


def reject(db: Database, actor: Actor, instruction_id: int, reason: str) -> InstructionView:
    """复核: a second operator sends the instruction back; nothing moves (a proposed deposit is dropped)."""
    actor.require(Permission.TREASURY_APPROVE)
    if not isinstance(reason, str) or not 0 < len(reason) <= 200:
        raise TreasuryFlowInvalid("a rejection says why (1-200 characters)")
    with db.unit_of_work() as session:
        i = _pending_instruction(session, actor, instruction_id)
        if i.kind == "placement":
            target = session.get(TreasuryAccount, i.to_account_id)
            assert target is not None
            target.status = "rejected"
        i.status, i.decided_by_id, i.decided_by, i.decided_at, i.reject_reason = \
            "rejected", _operator(actor), actor.username, clock.now(), reason
        session.flush()
        audit.record(session, actor, f"treasury.{i.kind}.reject", "treasury_instruction", i.id,
                     {"status": "proposed"}, {"status": "rejected", "reason": reason})
        return _instruction_view(session, i)


def _code_of(session: Session, account_id: int) -> str:
    return session.execute(select(TreasuryAccount.code).where(TreasuryAccount.id == account_id)).scalar_one()


def list_instructions(db: Database, actor: Actor, status: str | None = None, limit: int = 200) -> list[InstructionView]:
    actor.require(Permission.TREASURY_READ)
    with db.unit_of_work() as session:
        query = select(TreasuryInstruction).order_by(TreasuryInstruction.id.desc()).limit(max(1, min(limit, 1000)))
        if status:
            query = query.where(TreasuryInstruction.status == status)
        return [_instruction_view(session, i) for i in session.execute(query).scalars()]


# ---------------------------------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class ImportResult:
    statement_id: int
    account_code: str
    format: str
    lines: int
    matched: int
    queued: int
    checks: list[BalanceCheckView]


@dataclass(frozen=True, slots=True)
class BalanceCheckView:
    account_code: str
    day: dt.date
    statement_balance: int
    ledger_balance: int
    difference: int
    open_items: int
    status: str


class _Candidate:
    """A ledger transfer on the account that no statement line matches yet (plain slots: tens of thousands)."""

    __slots__ = ("amount", "day", "direction", "id", "reference", "used")

    def __init__(self, id: str, reference: str, amount: int, direction: str, day: dt.date) -> None:
        self.id, self.reference, self.amount, self.direction, self.day, self.used = \
            id, reference, amount, direction, day, False


def _candidates(session: Session, account_id: int, ledger_id: int, since: dt.date, until: dt.date
                ) -> list[_Candidate]:
    """Posted transfers on the account between two days (local), that no statement line matches yet."""
    zone = clock.local_zone()
    out: list[_Candidate] = []
    matched = select(TreasuryStatementLine.transfer_id).where(TreasuryStatementLine.account_id == account_id,
                                                              TreasuryStatementLine.transfer_id.is_not(None))
    for column, direction in ((LedgerTransfer.debit_account_id, "C"), (LedgerTransfer.credit_account_id, "D")):
        rows = session.execute(
            select(LedgerTransfer.id, LedgerTransfer.reference, LedgerTransfer.amount, LedgerTransfer.timestamp)
            .where(column == ledger_id, LedgerTransfer.state.in_(POSTED),
                   LedgerTransfer.timestamp >= _day_start_utc(since),
                   LedgerTransfer.timestamp < _day_start_utc(until + dt.timedelta(days=1)),
                   LedgerTransfer.id.not_in(matched)))
        out.extend(_Candidate(i, r or "", a, direction, t.astimezone(zone).date()) for i, r, a, t in rows)
    return out


def match_lines(lines: Sequence[statements.Line], candidates: Sequence[_Candidate], window: int
                ) -> list[tuple[str | None, str, str]]:
    """For each line: (the matched transfer id or None, suggested transfer ids, a note). A line matches the
    unused transfer with its reference, amount and direction booked closest to its date within ``window``
    days; an unmatched line is given up to three suggestions (same amount and direction in the window, then
    same reference), and a note when a transfer with its reference and amount was already taken (a double
    booking by the bank)."""
    by_key: dict[tuple[str, int, str], list[_Candidate]] = defaultdict(list)
    by_amount: dict[tuple[int, str], list[_Candidate]] = defaultdict(list)
    by_ref: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_key[(c.reference, c.amount, c.direction)].append(c)
    out: list[tuple[str | None, str, str]] = []
    unmatched: list[int] = []
    taken: dict[tuple[str, int, str], int] = {}
    for n, line in enumerate(lines):
        key = (line.reference, line.amount, line.direction)
        found = by_key.get(key) if line.reference else None
        best = None
        if found:
            for c in found:
                gap = abs((c.day - line.booking_date).days)
                if not c.used and gap <= window and (best is None or gap < abs((best.day - line.booking_date).days)):
                    best = c
        if best is not None:
            best.used = True
            taken[key] = line.line_no
            out.append((best.id, "", ""))
        else:
            out.append((None, "", ""))
            unmatched.append(n)
    if unmatched:
        for c in candidates:
            if not c.used:
                by_amount[(c.amount, c.direction)].append(c)
                if c.reference:
                    by_ref[c.reference].append(c)
        for n in unmatched:
            line = lines[n]
            near = sorted((c for c in by_amount.get((line.amount, line.direction), ())
                           if abs((c.day - line.booking_date).days) <= max(window, 7)),
                          key=lambda c: abs((c.day - line.booking_date).days))
            same_ref = [c for c in by_ref.get(line.reference, ()) if line.reference and c not in near]
            suggested = " ".join(c.id for c in (near + same_ref)[:3])
            key = (line.reference, line.amount, line.direction)
            note = f"same reference and amount as line {taken[key]}: booked twice?" if key in taken else ""
            out[n] = (None, suggested[:200], note)
    return out


def import_statement(db: Database, actor: Actor, data: bytes, bank_code: str,
                     keys: PartnerKeys | None = None) -> ImportResult:
    """Import a signed statement (camt.053 or SSCSV1) from ``bank_code``, wholly or not at all: match its lines
    to the ledger, queue the rest, and check the account's balance for every day of its period."""
    actor.require(Permission.TREASURY_PROPOSE)
    with no_gc():
        parsed = statements.parse(data, bank_code, keys)
    with db.unit_of_work() as session:
        account = session.execute(select(TreasuryAccount).where(
            TreasuryAccount.bank_code == bank_code, TreasuryAccount.account_no == parsed.account_no,
            TreasuryAccount.status.in_(("open", "closed"))).with_for_update()).scalar_one_or_none()
        if account is None:
            raise TreasuryStatementUnknownAccount(f"bank {bank_code} has no fund account registered under that "
                                                  "number", bank_code=bank_code)
        duplicate = session.execute(select(TreasuryStatement.id).where(or_(
            TreasuryStatement.checksum == parsed.checksum,
            (TreasuryStatement.account_id == account.id) & (TreasuryStatement.statement_id == parsed.statement_id)
        ))).first()
        if duplicate is not None:
            raise TreasuryStatementDuplicate(f"statement {parsed.statement_id[:35]} of {account.code}",
                                             account=account.code)
        overlap = session.execute(select(TreasuryStatement.statement_id).where(
            TreasuryStatement.account_id == account.id, TreasuryStatement.from_date <= parsed.to_date,
            TreasuryStatement.to_date >= parsed.from_date)).first()
        if overlap is not None:
            raise TreasuryStatementOverlap(f"{parsed.from_date}..{parsed.to_date} overlaps statement {overlap[0]}",
                                           account=account.code)
        ledger_id = session.execute(select(LedgerAccount.id).where(LedgerAccount.code == account.ledger_code)
                                    ).scalar_one()
        window = policy.get_int(session, WINDOW, parsed.to_date)
        candidates = _candidates(session, account.id, ledger_id, parsed.from_date - dt.timedelta(days=window),
                                 parsed.to_date + dt.timedelta(days=window))
        with no_gc():
            results = match_lines(parsed.lines, candidates, window)
        matched = sum(1 for r in results if r[0] is not None)
        statement = TreasuryStatement(account_id=account.id, format=parsed.format, statement_id=parsed.statement_id,
                                      message_id=parsed.message_id[:35], from_date=parsed.from_date,
                                      to_date=parsed.to_date, opening_balance=parsed.opening,
                                      closing_balance=parsed.closing, line_count=len(parsed.lines),
                                      matched_count=matched, checksum=parsed.checksum, key_ref=parsed.key_ref,
                                      imported_by=actor.username)
        session.add(statement)
        session.flush()
        with no_gc():
            rows = [{"statement_id": statement.id, "account_id": account.id, "line_no": x.line_no,
                     "booking_date": x.booking_date, "value_date": x.value_date, "direction": x.direction,
                     "amount": x.amount, "reference": x.reference, "bank_ref": x.bank_ref[:35],
                     "description": x.description[:140], "status": "matched" if t else "queued",
                     "transfer_id": t, "resolution": "auto" if t else None, "suggestions": s, "note": note}
                    for x, (t, s, note) in zip(parsed.lines, results, strict=True)]
            insert_rows(session, TreasuryStatementLine.__table__, rows)  # type: ignore[arg-type]
        checks = _check_days(session, account, parsed.from_date, parsed.to_date)
        audit.record(session, actor, "treasury.statement.import", "treasury_statement", statement.id, None,
                     {"account": account.code, "format": parsed.format, "statement_id": parsed.statement_id,
                      "period": f"{parsed.from_date}..{parsed.to_date}", "lines": len(parsed.lines),
                      "matched": matched, "checksum": parsed.checksum})
        return ImportResult(statement.id, account.code, parsed.format, len(parsed.lines), matched,
                            len(parsed.lines) - matched, checks)


# ---------------------------------------------------------------------------------------------------- balances


def _ledger_before(session: Session, ledger_id: int, day: dt.date) -> int:
    """The account's ledger balance (debit balance, posted) before the bureau's day ``day`` starts."""
    start, total = _day_start_utc(day), 0
    for column, sign in ((LedgerTransfer.debit_account_id, 1), (LedgerTransfer.credit_account_id, -1)):
        total += sign * int(session.execute(select(func.coalesce(func.sum(LedgerTransfer.amount), 0)).where(
            column == ledger_id, LedgerTransfer.state.in_(POSTED), LedgerTransfer.timestamp < start)).scalar_one())
    return total


def _ledger_events(session: Session, ledger_id: int, since: dt.date, until: dt.date
                   ) -> list[tuple[str, int, dt.date]]:
    """The account's posted transfers from ``since`` to ``until`` (id, signed amount: + money in, local date)."""
    start, end = _day_start_utc(since), _day_start_utc(until + dt.timedelta(days=1))
    zone = clock.local_zone()
    events: list[tuple[str, int, dt.date]] = []
    for column, sign in ((LedgerTransfer.debit_account_id, 1), (LedgerTransfer.credit_account_id, -1)):
        rows = session.execute(select(LedgerTransfer.id, LedgerTransfer.amount, LedgerTransfer.timestamp).where(
            column == ledger_id, LedgerTransfer.state.in_(POSTED), LedgerTransfer.timestamp >= start,
            LedgerTransfer.timestamp < end))
        events.extend((i, sign * a, t.astimezone(zone).date()) for i, a, t in rows)
    return events


_SIGNED = func.sum(func.coalesce(TreasuryStatementLine.amount, 0) * (
    2 * (TreasuryStatementLine.direction == "C").cast(Integer) - 1))


def _check_days(session: Session, account: TreasuryAccount, since: dt.date, until: dt.date
                ) -> list[BalanceCheckView]:
    """Check (again) every day from ``since`` to ``until`` that a statement of the account covers.

    For a day d: the bank's balance is the statement's opening plus its lines booked by d; the ledger's is
    the account's posted balance at the end of d. The open items are what is on one side only at the end of
    d — lines booked by d whose transfer is not in the ledger by then (none, or later), less transfers in the
    ledger by then whose line is not booked by then; summed, that is every line booked by d less every
    transfer posted from the first statement's first day to d, which is how it is computed here (per day
    sums in SQL, never a scan per line)."""
    stmts = list(session.execute(select(TreasuryStatement).where(
        TreasuryStatement.account_id == account.id, TreasuryStatement.to_date >= since,
        TreasuryStatement.from_date <= until).order_by(TreasuryStatement.from_date)).scalars())
    if not stmts:
        return []
    since = max(since, stmts[0].from_date)
    until = min(until, max(s.to_date for s in stmts))
    coverage_start = session.execute(select(func.min(TreasuryStatement.from_date)).where(
        TreasuryStatement.account_id == account.id)).scalar_one()
    ledger_id = session.execute(select(LedgerAccount.id).where(LedgerAccount.code == account.ledger_code)
                                ).scalar_one()
    before_coverage = _ledger_before(session, ledger_id, coverage_start)
    book = _ledger_before(session, ledger_id, since)
    book_by_day: dict[dt.date, int] = defaultdict(int)
    for _, v, d in _ledger_events(session, ledger_id, since, until):
        book_by_day[d] += v
    lines_before = int(session.execute(select(func.coalesce(_SIGNED, 0)).where(
        TreasuryStatementLine.account_id == account.id, TreasuryStatementLine.booking_date < since)).scalar_one())
    per_day = session.execute(select(TreasuryStatementLine.statement_id, TreasuryStatementLine.booking_date, _SIGNED)
                              .where(TreasuryStatementLine.account_id == account.id,
                                     TreasuryStatementLine.booking_date <= until)
                              .group_by(TreasuryStatementLine.statement_id, TreasuryStatementLine.booking_date)
                              ).all()
    lines_by_day: dict[dt.date, int] = defaultdict(int)
    by_statement: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for sid, booking, total in per_day:
        by_statement[sid][booking] = int(total)
        if booking >= since:
            lines_by_day[booking] += int(total)
    existing = {c.day: c for c in session.execute(select(TreasuryBalanceCheck).where(
        TreasuryBalanceCheck.account_id == account.id, TreasuryBalanceCheck.day >= since,
        TreasuryBalanceCheck.day <= until)).scalars()}
    by_day = {}
    for s in stmts:
        bank = s.opening_balance
        day = s.from_date
        while day <= s.to_date:
            bank += by_statement[s.id].get(day, 0)
            if since <= day <= until:
                by_day[day] = (s.id, bank)
            day += dt.timedelta(days=1)
    out = []
    lines_total, day = lines_before, since
    while day <= until:
        book += book_by_day.get(day, 0)
        lines_total += lines_by_day.get(day, 0)
        if day in by_day:
            statement_id, bank = by_day[day]
            difference, open_items = bank - book, lines_total - (book - before_coverage)
            status = "ok" if difference == 0 else "explained" if difference == open_items else "unexplained"
            check = existing.get(day)
            if check is None:
                check = TreasuryBalanceCheck(account_id=account.id, day=day)
                session.add(check)
            check.statement_id, check.statement_balance, check.ledger_balance = statement_id, bank, book
            check.difference, check.open_items, check.status, check.checked_at = difference, open_items, status, \
                clock.now()
            out.append(BalanceCheckView(account.code, day, bank, book, difference, open_items, status))
        day += dt.timedelta(days=1)
    session.flush()
    return out


def balance_checks(db: Database, actor: Actor, account_code: str | None = None, status: str | None = None,
                   limit: int = 400) -> list[BalanceCheckView]:
    actor.require(Permission.TREASURY_READ)
    with db.unit_of_work() as session:
        query = (select(TreasuryBalanceCheck, TreasuryAccount.code)
                 .join(TreasuryAccount, TreasuryAccount.id == TreasuryBalanceCheck.account_id)
                 .order_by(TreasuryBalanceCheck.day.desc(), TreasuryAccount.code).limit(limit))
        if account_code:
            query = query.where(TreasuryAccount.code == account_code)
        if status:
            query = query.where(TreasuryBalanceCheck.status == status)
        return [BalanceCheckView(code, c.day, c.statement_balance, c.ledger_balance, c.difference, c.open_items,
                                 c.status) for c, code in session.execute(query).all()]


# ---------------------------------------------------------------------------------------------------- the queue


@dataclass(frozen=True, slots=True)
class QueueItem:
    line_id: int
    account_code: str
    statement_id: str
    line_no: int
    booking_date: dt.date
    direction: str
    amount: int
    reference: str
    bank_ref: str
    description: str
    suggestions: list[str]
    note: str


def queue(db: Database, actor: Actor, account_code: str | None = None, limit: int = 500) -> list[QueueItem]:
    """The reconciliation queue: statement lines no ledger transfer matched, oldest first."""
    actor.require(Permission.TREASURY_READ)
    with db.unit_of_work() as session:
        query = (select(TreasuryStatementLine, TreasuryAccount.code, TreasuryStatement.statement_id)
                 .join(TreasuryAccount, TreasuryAccount.id == TreasuryStatementLine.account_id)
                 .join(TreasuryStatement, TreasuryStatement.id == TreasuryStatementLine.statement_id)
                 .where(TreasuryStatementLine.status == "queued")
                 .order_by(TreasuryStatementLine.booking_date, TreasuryStatementLine.id).limit(limit))
        if account_code:
            query = query.where(TreasuryAccount.code == account_code)
        return [QueueItem(x.id, code, sid, x.line_no, x.booking_date, x.direction, x.amount, x.reference, x.bank_ref,
                          x.description, x.suggestions.split(), x.note)
                for x, code, sid in session.execute(query).all()]


def _queued_line(session: Session, line_id: int) -> tuple[TreasuryStatementLine, TreasuryAccount]:
    line = session.execute(select(TreasuryStatementLine).where(TreasuryStatementLine.id == line_id)
                           .with_for_update()).scalar_one_or_none()
    if line is None:
        raise TreasuryNotFound(f"no statement line {line_id}")
    if line.status != "queued":
        raise TreasuryLineState(f"line {line_id} is {line.status}")
    account = session.get(TreasuryAccount, line.account_id)
    assert account is not None
    return line, account


def _resolved(session: Session, actor: Actor, line: TreasuryStatementLine, account: TreasuryAccount,
              resolution: str, transfer_id: str | None, note: str) -> BalanceCheckView | None:
    line.status, line.resolution, line.transfer_id = "resolved", resolution, transfer_id
    line.resolved_by, line.resolved_at, line.note = actor.username, clock.now(), note[:200]
    try:
        session.flush()
    except IntegrityError:
        raise TreasuryMatchInvalid("that transfer is matched by another line") from None
    audit.record(session, actor, f"treasury.queue.{resolution}", "treasury_statement_line", line.id,
                 {"status": "queued"}, {"status": "resolved", "resolution": resolution, "transfer": transfer_id,
                                        "note": note[:200]})
    checks = _check_days(session, account, line.booking_date, _last_day(session, account))
    return checks[0] if checks else None


def _last_day(session: Session, account: TreasuryAccount) -> dt.date:
    return session.execute(select(func.max(TreasuryStatement.to_date)).where(
        TreasuryStatement.account_id == account.id)).scalar_one()


def resolve_match(db: Database, actor: Actor, line_id: int, transfer_id: str, note: str = "") -> None:
    """Match a queued line to a ledger transfer by hand (a suggestion, or any transfer that fits: the line's
    account, direction and amount, matched by no other line)."""
    actor.require(Permission.TREASURY_PROPOSE)
    with db.unit_of_work() as session:
        line, account = _queued_line(session, line_id)
        ledger_id = session.execute(select(LedgerAccount.id).where(LedgerAccount.code == account.ledger_code)
                                    ).scalar_one()
        t = session.execute(select(LedgerTransfer).where(LedgerTransfer.id == transfer_id)).scalar_one_or_none()
        side = None if t is None else "C" if t.debit_account_id == ledger_id else \
            "D" if t.credit_account_id == ledger_id else None
        if t is None or side != line.direction or t.amount != line.amount or t.state not in POSTED:
            raise TreasuryMatchInvalid(f"transfer {str(transfer_id)[:64]} is not a {line.direction} of "
                                       f"{line.amount} fen on {account.code}")
        _resolved(session, actor, line, account, "match", transfer_id, note)


def resolve_book(db: Database, actor: Actor, line_id: int, as_: str, note: str = "") -> TransferOut:
    """Book what the bank did alone into the ledger and match the line to it: a bank charge (``charge``, a debit
    line: the fund's bank charges) or interest credited (``interest``, a credit line: its interest income)."""
    actor.require(Permission.TREASURY_PROPOSE)
    with db.unit_of_work() as session:
        line, account = _queued_line(session, line_id)
        if (as_, line.direction) not in (("charge", "D"), ("interest", "C")):
            raise TreasuryMatchInvalid("a bank charge is a debit line, interest a credit line")
        other = chart.BankCharges(account.fund) if as_ == "charge" else chart.InterestIncome(account.fund)
        chart.open_missing(session, [other])
        debit, credit = (other.code, account.ledger_code) if as_ == "charge" else (account.ledger_code, other.code)
        out = ledger.transfer(session, TransferIn(id=f"treasury:line:{line.id}", debit_account=debit,
                                                  credit_account=credit, amount=line.amount,
                                                  code=f"treasury.{as_}", reference=(line.bank_ref or
                                                                                     line.reference)[:64] or None))
        _resolved(session, actor, line, account, as_, out.id, note)
        return out


def resolve_explain(db: Database, actor: Actor, line_id: int, note: str) -> None:
    """Close a queued line with an explanation and no ledger entry (e.g. the bank booked it twice and reverses
    it on a later statement): it stays an open item of the reconciliation, explained."""
    actor.require(Permission.TREASURY_PROPOSE)
    if not isinstance(note, str) or not 0 < len(note.strip()) <= 200:
        raise TreasuryMatchInvalid("an explanation says why (1-200 characters)")
    with db.unit_of_work() as session:
        line, account = _queued_line(session, line_id)
        _resolved(session, actor, line, account, "explained", None, note)


def rematch(db: Database, actor: Actor, account_code: str) -> int:
    """Match the account's queued lines again against the ledger (transfers booked since); how many matched."""
    actor.require(Permission.TREASURY_PROPOSE)
    with db.unit_of_work() as session:
        account = _account(session, account_code, lock=True)
        queued = list(session.execute(select(TreasuryStatementLine).where(
            TreasuryStatementLine.account_id == account.id, TreasuryStatementLine.status == "queued")
            .order_by(TreasuryStatementLine.id)).scalars())
        if not queued:
            return 0
        ledger_id = session.execute(select(LedgerAccount.id).where(LedgerAccount.code == account.ledger_code)
                                    ).scalar_one()
        window = policy.get_int(session, WINDOW, _today())
        lines = [statements.Line(x.line_no, x.booking_date, x.value_date, x.direction, x.amount, x.reference,
                                 x.bank_ref, x.description) for x in queued]
        candidates = _candidates(session, account.id, ledger_id,
                                 min(x.booking_date for x in lines) - dt.timedelta(days=window),
                                 max(x.booking_date for x in lines) + dt.timedelta(days=window))
        found = 0
        for x, (t, s, note) in zip(queued, match_lines(lines, candidates, window), strict=True):
            if t is not None:
                x.status, x.transfer_id, x.resolution, found = "matched", t, "auto", found + 1
            else:
                x.suggestions, x.note = s, note
        session.flush()
        if found:
            session.execute(update(TreasuryStatement).where(TreasuryStatement.account_id == account.id)
                            .values(matched_count=select(func.count()).where(
                                TreasuryStatementLine.statement_id == TreasuryStatement.id,
                                TreasuryStatementLine.status == "matched").scalar_subquery()))
            _check_days(session, account, min(x.booking_date for x in lines), _last_day(session, account))
            audit.record(session, actor, "treasury.queue.rematch", "treasury_account", account.id, None,
                         {"matched": found})
        return found


# ---------------------------------------------------------------------------------------------------- 余额调节表


@dataclass(frozen=True, slots=True)
class ReconItem:
    day: dt.date
    reference: str
    description: str
    amount: int  # fen, > 0


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """银行存款余额调节表 of one account for one month (as of its last statement day in the month)."""

    account: AccountView
    month: str  # YYYY-MM
    as_of: dt.date
    bank_balance: int
    ledger_balance: int
    ledger_in_bank_not: list[ReconItem]  # 企业已收、银行未收
    ledger_out_bank_not: list[ReconItem]  # 企业已付、银行未付
    bank_in_ledger_not: list[ReconItem]  # 银行已收、企业未收
    bank_out_ledger_not: list[ReconItem]  # 银行已付、企业未付

    @property
    def adjusted_bank(self) -> int:
        return self.bank_balance + sum(x.amount for x in self.ledger_in_bank_not) - \
            sum(x.amount for x in self.ledger_out_bank_not)

    @property
    def adjusted_ledger(self) -> int:
        return self.ledger_balance + sum(x.amount for x in self.bank_in_ledger_not) - \
            sum(x.amount for x in self.bank_out_ledger_not)

    @property
    def balanced(self) -> bool:
        return self.adjusted_bank == self.adjusted_ledger


def reconciliation(db: Database, actor: Actor, account_code: str, month: str) -> Reconciliation:
    """The month's 余额调节表: the bank's balance and the ledger's at the last statement day of the month, and
    the items on one side only that make them agree."""
    actor.require(Permission.TREASURY_READ)
    if not isinstance(month, str) or not re.fullmatch(r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise TreasuryReportEmpty("the month is YYYY-MM, 1900-2999")
    first = dt.date(int(month[:4]), int(month[5:]), 1)
    last = _add_months(first, 1) - dt.timedelta(days=1)
    with db.unit_of_work() as session:
        account = _account(session, account_code)
        as_of = session.execute(select(func.max(TreasuryStatement.to_date)).where(
            TreasuryStatement.account_id == account.id, TreasuryStatement.from_date <= last,
            TreasuryStatement.to_date >= first)).scalar_one()
        if as_of is None:
            raise TreasuryReportEmpty(f"{account_code} {month}")
        as_of = min(as_of, last)
        checks = _check_days(session, account, as_of, as_of)
        check = checks[0]
        coverage_start = session.execute(select(func.min(TreasuryStatement.from_date)).where(
            TreasuryStatement.account_id == account.id)).scalar_one()
        ledger_id = session.execute(select(LedgerAccount.id).where(LedgerAccount.code == account.ledger_code)
                                    ).scalar_one()
        events = _ledger_events(session, ledger_id, coverage_start, as_of)
        lines = session.execute(select(TreasuryStatementLine).where(
            TreasuryStatementLine.account_id == account.id,
            TreasuryStatementLine.booking_date <= as_of)).scalars().all()
        line_day = {x.transfer_id: x.booking_date for x in lines if x.transfer_id}
        event_day = {i: d for i, _, d in events}
        refs = dict(session.execute(select(LedgerTransfer.id, LedgerTransfer.reference).where(
            LedgerTransfer.id.in_([i for i, _, _ in events if i not in line_day or line_day[i] > as_of]))).all())
        book_in: list[ReconItem] = []
        book_out: list[ReconItem] = []
        bank_in: list[ReconItem] = []
        bank_out: list[ReconItem] = []
        for i, v, d in sorted(events, key=lambda e: (e[2], e[0])):
            if i not in line_day or line_day[i] > as_of:
                (book_in if v > 0 else book_out).append(ReconItem(d, refs.get(i) or i, i, abs(v)))
        for x in sorted(lines, key=lambda x: (x.booking_date, x.id)):
            if x.transfer_id is None or event_day.get(x.transfer_id, dt.date.max) > as_of:
                item = ReconItem(x.booking_date, x.reference or x.bank_ref, x.note or x.description, x.amount)
                (bank_in if x.direction == "C" else bank_out).append(item)
        return Reconciliation(_view(session, account), month, as_of, check.statement_balance, check.ledger_balance,
                              book_in, book_out, bank_in, bank_out)


def statements_of(db: Database, actor: Actor, account_code: str | None = None) -> list[dict[str, Any]]:
    actor.require(Permission.TREASURY_READ)
    with db.unit_of_work() as session:
        query = (select(TreasuryStatement, TreasuryAccount.code)
                 .join(TreasuryAccount, TreasuryAccount.id == TreasuryStatement.account_id)
                 .order_by(TreasuryStatement.from_date.desc(), TreasuryAccount.code).limit(500))
        if account_code:
            query = query.where(TreasuryAccount.code == account_code)
        return [{"id": s.id, "account": code, "statement_id": s.statement_id, "format": s.format,
                 "from": s.from_date, "to": s.to_date, "opening": s.opening_balance, "closing": s.closing_balance,
                 "lines": s.line_count, "matched": s.matched_count, "imported_by": s.imported_by}
                for s, code in session.execute(query).all()]
