"""docs/treasury.md's walk-through with docs/examples/treasury/ exactly as shipped: every figure the page states
(lines, matched, queued, the daily checks, the queued fee, the duplicate CSV, the 余额调节表, the sweep), and
every error code of sscard.treasury.errors documented on the page."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
from pathlib import Path

import pytest
import time_machine

from sscard.access import SYSTEM_ACTOR, Actor, Role
from sscard.auth import service as auth
from sscard.errors import DomainError
from sscard.treasury import errors, service
from sscard.treasury.errors import TreasuryStatementDuplicate
from support.city import PASSWORD, City

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "treasury"
DOC = (ROOT / "docs" / "treasury.md").read_text("utf-8")
FLAT = " ".join(DOC.split())


def said(text: str) -> bool:
    """The page states ``text`` (line breaks and indentation aside)."""
    return " ".join(text.split()) in FLAT
ZONE = dt.timezone(dt.timedelta(hours=8))


def at(day: dt.date) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=ZONE), tick=False)


def _setup(city: City) -> Actor:
    maker = auth.actor_of(auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-doc", "基金会计", Role.ACCOUNTANT,
                                               PASSWORD))
    with at(dt.date(2026, 1, 1)):
        for code, fund, bank, kind, no, name in csv.reader(
                (EXAMPLE / "accounts.csv").read_text("utf-8").splitlines()[1:]):
            service.open_account(city.db, city.admin, code, fund, bank, kind, no, name)
    for when, code, kind, amount, reference in csv.reader(
            (EXAMPLE / "ledger.csv").read_text("utf-8").splitlines()[1:]):
        with at(dt.date.fromisoformat(when)):
            assert kind == "collection"
            service.record_collection(city.db, maker, code, int(amount), reference)
    return maker


def test_the_walk_through_with_the_shipped_files(fresh_city: City) -> None:
    city = fresh_city
    maker = _setup(city)
    assert said("12,500.00 + 9,800.50 + 11,000.00 + 13,250.75 = **46,551.25 yuan**")
    assert sum(a.balance for a in service.list_accounts(city.db, maker)) == 4_655_125

    with at(dt.date(2026, 2, 1)):
        result = service.import_statement(city.db, maker, (EXAMPLE / "statement-camt053.xml").read_bytes(), "ICBC")
        assert said("format `camt053`, **5 lines, 4 matched, 1 queued**")
        assert (result.account_code, result.format, result.lines, result.matched, result.queued) == \
            ("PEN-ICBC-COL", "camt053", 5, 4, 1)
        by_day = {c.day: c for c in result.checks}
        assert (by_day[dt.date(2026, 1, 31)].status, by_day[dt.date(2026, 1, 31)].difference) == ("explained", -2_000)
        assert said("**`explained`** with a\ndifference of **−2,000 fen**") and said("1–30 January are `ok`")
        assert all(by_day[dt.date(2026, 1, d)].status == "ok" for d in range(1, 31))

        with pytest.raises(TreasuryStatementDuplicate):
            service.import_statement(city.db, maker, (EXAMPLE / "statement.csv").read_bytes(), "ICBC")
        assert said("`TREASURY_STATEMENT_DUPLICATE` (same statement id)")

        [line] = service.queue(city.db, maker)
        assert (line.direction, line.amount, line.description, line.bank_ref) == \
            ("D", 2_000, "账户管理费", "ICBC260131000900")
        assert said("D, 2,000 fen, `账户管理费`, bank reference `ICBC260131000900`")
        service.resolve_book(city.db, maker, line.line_id, "charge")
        assert service.queue(city.db, maker) == []
        [jan31] = service.balance_checks(city.db, maker, "PEN-ICBC-COL", limit=1)
        assert (jan31.day, jan31.status) == (dt.date(2026, 1, 31), "explained")

        r = service.reconciliation(city.db, maker, "PEN-ICBC-COL", "2026-01")
        assert (r.as_of, r.bank_balance, r.ledger_balance) == (dt.date(2026, 1, 31), 4_653_125, 4_655_125)
        assert [x.amount for x in r.bank_out_ledger_not] == [2_000]
        assert not (r.ledger_in_bank_not or r.ledger_out_bank_not or r.bank_in_ledger_not)
        assert r.balanced and r.adjusted_bank == r.adjusted_ledger == 4_653_125
        assert said("bank balance **46,531.25**, ledger balance **46,551.25**, 银行已付、企业未付 **20.00** (the fee), "
                    "adjusted balances **46,531.25** on both sides: balanced")

        sweep = service.propose(city.db, maker, "sweep", "PEN-ICBC-COL", "PEN-ICBC-SPC", 4_000_000, "doc-sweep")
        assert sweep.reference.startswith("TR20260201")
        service.approve(city.db, city.supervisor, sweep.id)
    balances = {a.code: a.balance for a in service.list_accounts(city.db, maker)}
    assert (balances["PEN-ICBC-COL"], balances["PEN-ICBC-SPC"]) == (653_125, 4_000_000)
    assert said("`PEN-ICBC-COL` at **6,531.25** and `PEN-ICBC-SPC` at **40,000.00**")


def test_the_csv_variant_imported_instead_gives_the_same_result(fresh_city: City) -> None:
    maker = _setup(fresh_city)
    with at(dt.date(2026, 2, 1)):
        result = service.import_statement(fresh_city.db, maker, (EXAMPLE / "statement.csv").read_bytes(), "ICBC")
    assert (result.account_code, result.format, result.lines, result.matched, result.queued) == \
        ("PEN-ICBC-COL", "csv", 5, 4, 1)
    assert result.checks[-1].status == "explained" and result.checks[-1].difference == -2_000


def test_every_error_code_is_documented() -> None:
    codes = {cls.code for _, cls in inspect.getmembers(errors, inspect.isclass)
             if issubclass(cls, DomainError) and cls.__module__ == errors.__name__}
    assert len(codes) == 20
    missing = sorted(code for code in codes if f"| `{code}` |" not in DOC)
    assert not missing, missing
