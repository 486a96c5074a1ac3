"""A month of a fund's money through its bank accounts, reconciled against the bank's camt.053 statements:
collections, sweeps, a 用款计划 to the payment account, payments, a term deposit placed and matured with interest
— each movement proposed by one operator and approved by another — then statements generated from what the
bank saw, with three differences injected (a line missing, a line booked twice, a bank charge) that land in the
reconciliation queue, are resolved from it, and leave a balanced 余额调节表 (PDF and CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from sscard.access import SYSTEM_ACTOR, Actor, PermissionDenied, Role
from sscard.auth import service as auth
from sscard.ledger import service as ledger
from sscard.ledger.models import LedgerTransfer
from sscard.treasury import report, service, statements
from sscard.treasury.errors import (
    TreasuryDepositNotMature,
    TreasuryInstructionState,
    TreasuryMatchInvalid,
    TreasurySameOperator,
)
from sscard.treasury.models import TreasuryStatementLine
from sscard.treasury.statements import Line
from support.city import PASSWORD, City

ZONE = dt.timezone(dt.timedelta(hours=8))
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "treasury"


def at(day: dt.date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZONE), tick=False)


def accountant(city: City, name: str) -> Actor:
    return auth.actor_of(auth.create_operator(city.db, SYSTEM_ACTOR, name, name, Role.ACCOUNTANT, PASSWORD))


def day(n: int) -> dt.date:
    return dt.date(2026, 3, n)


def test_a_month_reconciled_with_differences_in_the_queue(fresh_city: City) -> None:
    city, db = fresh_city, fresh_city.db
    maker, checker = accountant(city, "acct-maker"), city.supervisor
    with at(day(1)):
        for code, kind, no in (("PEN-ICBC-COL", "collection", "1001001"), ("PEN-ICBC-PAY", "payment", "1001002"),
                               ("PEN-ICBC-SPC", "special", "1001003")):
            service.open_account(db, city.admin, code, "pension", "ICBC", kind, no, f"养老保险基金{kind}")
    bank: dict[str, list[Line]] = {"1001001": [], "1001002": [], "1001003": []}

    def on_statement(account_no: str, when: dt.date, direction: str, amount: int, reference: str,
                     text: str = "") -> None:
        lines = bank[account_no]
        lines.append(Line(len(lines) + 1, when, when, direction, amount, reference, f"B{len(lines) + 1:05d}", text))

    # The month, day by day: collections every working day (each on the bank's statement the same day), a
    # weekly sweep to the special account, a 用款计划 funding the payment account, payments out of it, and a
    # term deposit by tender placed on the 9th for one month at 1.75 % (maturing on 9 April).
    collected = collections = 0
    double = 0
    plan = placement = None
    for n in range(2, 28):
        if day(n).weekday() < 5:
            with at(day(n)):
                amount = 1_000_000 + n * 1_234
                service.record_collection(db, maker, "PEN-ICBC-COL", amount, f"COL-{n:02d}")
                collected += amount
                collections += 1
            if n != 17:  # injected: the bank's statement misses the collection of the 17th
                on_statement("1001001", day(n), "C", amount, f"COL-{n:02d}", "社保费归集")
        if n in (6, 13, 20, 27):
            with at(day(n), 16):
                balance = next(a.balance for a in service.list_accounts(db, maker) if a.code == "PEN-ICBC-COL")
                # the administrator may both propose and approve, but never what they proposed themselves
                proposer = city.admin if n == 6 else maker
                proposal = service.propose(db, proposer, "sweep", "PEN-ICBC-COL", "PEN-ICBC-SPC", balance,
                                           f"sweep-{n}")
                with pytest.raises(TreasurySameOperator if n == 6 else PermissionDenied):
                    service.approve(db, proposer, proposal.id)
                done = service.approve(db, checker, proposal.id)
                assert done.status == "approved" and done.decided_by == checker.username
            on_statement("1001001", day(n), "D", balance, done.reference, "归集划转财政专户")
            on_statement("1001003", day(n), "C", balance, done.reference, "收入户划入")
            if n == 13:  # injected: the bank books the special account's credit of the 13th twice
                on_statement("1001003", day(n), "C", balance, done.reference, "收入户划入")
                double = balance
        if n == 9:
            with at(day(9), 15):
                placement = service.propose_placement(db, maker, "dep-2026-1", "PEN-ICBC-SPC", "PEN-ICBC-TD1",
                                                      "TD88001", "ZB2026-01", 2_000_000, 175, 1, day(9))
                service.approve(db, checker, placement.id)
                with pytest.raises(TreasuryDepositNotMature):
                    service.propose_maturity(db, maker, "mat-2026-1", "PEN-ICBC-TD1")
            on_statement("1001003", day(9), "D", 2_000_000, placement.reference, "定期存款")
        if n == 10:
            with at(day(10), 15):
                plan = service.propose(db, maker, "plan", "PEN-ICBC-SPC", "PEN-ICBC-PAY", 2_500_000, "plan-2026-03",
                                       plan_no="YK2026-03-001")
                with pytest.raises(PermissionDenied):
                    service.approve(db, maker, plan.id)  # an accountant holds no approval
                service.approve(db, checker, plan.id)
                with pytest.raises(TreasuryInstructionState):
                    service.approve(db, checker, plan.id)
            on_statement("1001003", day(10), "D", 2_500_000, plan.reference, "用款计划拨付")
            on_statement("1001002", day(10), "C", 2_500_000, plan.reference, "财政专户拨入")
        if n in (11, 25):
            amount = 1_200_000 if n == 11 else 1_100_000
            with at(day(n), 17):
                service.record_payment(db, maker, "PEN-ICBC-PAY", amount, f"PAY-{n:02d}")
            on_statement("1001002", day(n), "D", amount, f"PAY-{n:02d}", "养老金代发")
        if n == 26:
            on_statement("1001002", day(26), "D", 1_500, "", "手续费")  # injected: a bank charge
    with at(dt.date(2026, 4, 9)):
        maturity = service.propose_maturity(db, maker, "mat-2026-1", "PEN-ICBC-TD1")
        # 2,000,000 fen × 1.75 % × 31 days / 360, rounded half up
        assert maturity.interest == (2 * 2_000_000 * 175 * 31 + 10_000 * 360) // (2 * 10_000 * 360) == 3014
        service.approve(db, checker, maturity.id)
    deposit = next(a for a in service.list_accounts(db, maker) if a.code == "PEN-ICBC-TD1")
    assert deposit.status == "closed" and deposit.balance == 0 and deposit.deposit is not None
    assert deposit.deposit.maturity_on == dt.date(2026, 4, 9)

    # The statements of March, as the bank sends them (camt.053, signed with the bank's key).
    results = {}
    with at(dt.date(2026, 4, 1), 9):
        for no in bank:
            data = statements.write_camt053("ICBC", no, f"ST202603-{no}", day(1), day(31), 0, bank[no],
                                            dt.datetime(2026, 4, 1, 6))
            results[no] = service.import_statement(db, maker, data, "ICBC")
    assert [r.queued for r in results.values()] == [0, 1, 1]  # the charge; the double booking
    assert results["1001001"].matched == len(bank["1001001"])
    items = service.queue(db, maker)
    assert sorted((i.account_code, i.direction, i.amount) for i in items) == [
        ("PEN-ICBC-PAY", "D", 1_500), ("PEN-ICBC-SPC", "C", double)]
    twice = next(i for i in items if i.account_code == "PEN-ICBC-SPC")
    assert "booked twice" in twice.note
    # The collection account's statement misses the 17th: its balance differs from the 17th on, explained.
    checks = {c.day: c for c in results["1001001"].checks}
    assert checks[day(16)].status == "ok" and checks[day(17)].status == "explained"
    missing = 1_000_000 + 17 * 1_234
    assert checks[day(17)].difference == -missing == checks[day(17)].open_items
    # Resolve from the queue: the charge is booked, the double booking explained (the bank reverses it).
    charge = next(i for i in items if i.account_code == "PEN-ICBC-PAY")
    with at(dt.date(2026, 4, 1), 11):
        with pytest.raises(TreasuryMatchInvalid):
            service.resolve_book(db, maker, charge.line_id, "interest")
        booked = service.resolve_book(db, maker, charge.line_id, "charge", "3月账户管理费")
        assert booked.debit_account == "charges:pension:expense" and booked.amount == 1_500
        service.resolve_explain(db, maker, twice.line_id, "银行重复记账，4月冲正")
    assert service.queue(db, maker) == []
    # The charge is in the ledger from 1 April: until then the difference is the charge, explained.
    pay_checks = {c.day: c for c in service.balance_checks(db, maker, "PEN-ICBC-PAY")}
    assert {c.status for d, c in pay_checks.items() if d < day(26)} == {"ok"}
    assert {(c.status, c.difference) for d, c in pay_checks.items() if d >= day(26)} == {("explained", -1_500)}

    # 余额调节表 of March: the collection account's missing line is 企业已收、银行未收, and it balances.
    recon = service.reconciliation(db, maker, "PEN-ICBC-COL", "2026-03")
    assert recon.balanced and recon.bank_balance + missing == recon.ledger_balance
    assert [(x.reference, x.amount) for x in recon.ledger_in_bank_not] == [("COL-17", missing)]
    special = service.reconciliation(db, maker, "PEN-ICBC-SPC", "2026-03")
    assert special.balanced and [x.amount for x in special.bank_in_ledger_not] == [double]
    pdf = report.reconciliation_pdf(recon, "zh_CN")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2_000
    rows = list(csv.reader(io.StringIO(report.reconciliation_csv(recon).decode("utf-8-sig"))))
    assert rows[0][0] == "银行存款余额调节表" and ["调节后余额", f"{recon.adjusted_bank}"] in [r[:2] for r in rows]
    # Every movement was a balanced transfer; the ledger's totals agree with its journal.
    with db.unit_of_work() as session:
        assert ledger.check_zero_sum(session).ok
        assert ledger.accounts_not_matching_journal(session) == []
        assert session.execute(select(func.count()).select_from(LedgerTransfer).where(
            LedgerTransfer.code.like("treasury.%"))).scalar_one() == collections + 4 + 1 + 2 + 1 + 2 + 1
    positions = {p.fund: p for p in service.positions(db, checker)}
    assert positions["pension"].interest_earned == 3014
    assert positions["pension"].total == collected - 2_300_000 + 3014 - 1_500


def test_the_shipped_example_statement_imports_as_it_stands(fresh_city: City) -> None:
    """docs/examples/treasury: the accounts of accounts.csv, the ledger of ledger.csv, then the camt.053 as
    shipped; the queue and checks are those docs/treasury.md describes."""
    city, db = fresh_city, fresh_city.db
    maker = accountant(city, "acct-example")
    with at(dt.date(2026, 1, 1)):
        rows = csv.reader((EXAMPLE / "accounts.csv").read_text("utf-8").splitlines()[1:])
        for code, fund, bank, kind, no, name in rows:
            service.open_account(db, city.admin, code, fund, bank, kind, no, name)
    for when, code, kind, amount, reference in csv.reader(
            (EXAMPLE / "ledger.csv").read_text("utf-8").splitlines()[1:]):
        with at(dt.date.fromisoformat(when)):
            record = service.record_collection if kind == "collection" else service.record_payment
            record(db, maker, code, int(amount), reference)
    with at(dt.date(2026, 2, 1)):
        result = service.import_statement(db, maker, (EXAMPLE / "statement-camt053.xml").read_bytes(), "ICBC")
    assert (result.account_code, result.format, result.lines, result.matched, result.queued) == \
        ("PEN-ICBC-COL", "camt053", 5, 4, 1)
    [queued] = service.queue(db, maker)
    assert (queued.direction, queued.amount, queued.description) == ("D", 2_000, "账户管理费")
    assert result.checks[-1].status == "explained" and result.checks[-1].difference == -2_000


def test_an_accountant_cannot_register_accounts_and_a_counter_sees_nothing(city: City) -> None:
    maker = accountant(city, f"acct-{city.dialect}-roles")
    with pytest.raises(PermissionDenied):
        service.open_account(city.db, maker, "X-1", "pension", "ICBC", "collection", "99990001", "x")
    with pytest.raises(PermissionDenied):
        service.list_accounts(city.db, city.counter)
    with pytest.raises(PermissionDenied):
        service.queue(city.db, city.counter)


def test_a_rejected_placement_moves_nothing_and_a_replayed_proposal_is_the_same(fresh_city: City) -> None:
    db, maker, checker = fresh_city.db, accountant(fresh_city, "acct-rej"), fresh_city.supervisor
    with at(day(2)):
        service.open_account(db, fresh_city.admin, "MED-BOC-SPC", "medical", "BOC", "special", "2002003", "医保专户")
        service.open_account(db, fresh_city.admin, "MED-BOC-COL", "medical", "BOC", "collection", "2002001",
                             "医保收入户")
        service.record_collection(db, maker, "MED-BOC-COL", 500_000, "C1")
        again = service.record_collection(db, maker, "MED-BOC-COL", 500_000, "C1")
        assert again.replayed
        first = service.propose(db, maker, "sweep", "MED-BOC-COL", "MED-BOC-SPC", 500_000, "k1")
        assert service.propose(db, maker, "sweep", "MED-BOC-COL", "MED-BOC-SPC", 500_000, "k1").id == first.id
        service.approve(db, checker, first.id)
        placement = service.propose_placement(db, maker, "p1", "MED-BOC-SPC", "MED-BOC-TD", "TD0001", "ZB-9", 400_000,
                                              200, 3, day(2))
        rejected = service.reject(db, checker, placement.id, "利率与中标结果不符")
        assert rejected.status == "rejected"
    accounts = {a.code: a for a in service.list_accounts(db, maker)}
    assert accounts["MED-BOC-SPC"].balance == 500_000 and accounts["MED-BOC-TD"].status == "rejected"
    with db.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(TreasuryStatementLine)).scalar_one() == 0
