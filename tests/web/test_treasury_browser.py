"""The fund accountant's and the supervisor's treasury and transition journeys in Chromium at 1366×900: the
accountant proposes a term deposit placement by tender result through its form, the supervisor confirms it on
the confirmation page, then proposes nothing and reads the legacy migration page. On every page axe-core finds
no serious or critical violation (tests/web/portal_checks.axe_violations), and the Chinese pages show bank names
and Chinese statuses — no English status word, no raw bank code in the bank column. Screenshots:
test-artifacts/treasury-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transition import legacy_file
from sscard.transition import service as transition
from sscard.treasury import service, statements
from sscard.treasury.statements import Line
from support.city import PASSWORD, City
from support.factories import next_id_number
from web.helpers import screenshot
from web.portal_checks import axe_violations

OpenPage = Callable[..., Any]
ENGLISH_STATUS = re.compile(r"\b(open|closed|proposed|approved|rejected|matched|queued|resolved|carried|exception|"
                            r"ok|explained|unexplained)\b", re.IGNORECASE)
BANK_CODES = {"ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB"}


def _accessible(page: Any, name: str) -> None:
    violations = axe_violations(page)
    screenshot(page, f"treasury-{name}")
    assert violations == [], f"{name}: {violations}"


def _column(page: Any, table: str, n: int) -> list[str]:
    return [c.strip() for c in page.locator(f"#{table} tbody tr:not(.empty) td:nth-child({n})").all_inner_texts()]


def _log_in(open_page: OpenPage, username: str, lands: str) -> Any:
    page = open_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/login?next={lands}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**{lands}")
    return page


def _books(city: City) -> None:
    for code, kind, no, name in (("BRW-MED-COL", "collection", "8810001", "医保基金收入户（浏览器）"),
                                 ("BRW-MED-SPC", "special", "8810003", "医保基金财政专户（浏览器）")):
        service.open_account(city.db, city.admin, code, "medical", "CCB", kind, no, name)
    auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-brw", "基金会计", Role.ACCOUNTANT, PASSWORD)
    maker = auth.actor_for_username(city.db, "t-acct-brw")
    service.record_collection(city.db, maker, "BRW-MED-COL", 9_000_000, "BRWC1")
    swept = service.propose(city.db, maker, "sweep", "BRW-MED-COL", "BRW-MED-SPC", 8_000_000, "brw-sweep")
    service.approve(city.db, city.supervisor, swept.id)
    today = clock.local_date()
    lines = [Line(1, today, today, "C", 9_000_000, "BRWC1", "CCB1", "医保费归集"),
             Line(2, today, today, "D", 2_500, "", "CCB2", "手续费")]
    service.import_statement(city.db, maker, statements.write_csv("CCB", "8810001", "BRW-STMT-1", today, today, 0,
                                                                  lines), "CCB")
    number = next_id_number(region="441802")
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="林迁移", region_code="441802"))
    cards = [legacy_file.Line(1, "BRW0000001", number, "林迁移", 45_600, "1"),
             legacy_file.Line(2, "BRW0000002", next_id_number(region="441802"), "林未登", 700, "1")]
    header = legacy_file.new_header("GFMED", "GFMED-BROWSER-1", "20261130", cards, "UTF-8")
    transition.import_file(city.db, city.admin, legacy_file.write_file(header, cards))


def test_the_treasury_and_transition_journeys_are_accessible_and_speak_chinese(open_page: OpenPage,
                                                                               sqlite_city: City) -> None:
    _books(sqlite_city)
    accountant = _log_in(open_page, "t-acct-brw", "/treasury")
    _accessible(accountant, "accountant")
    banks = _column(accountant, "accounts", 2)
    assert "中国建设银行" in banks and not BANK_CODES & set(banks), banks
    statuses = _column(accountant, "accounts", 6) + _column(accountant, "recent", 4) + _column(accountant, "checks", 6)
    assert statuses and not any(ENGLISH_STATUS.search(s) for s in statuses), statuses
    names = _column(accountant, "accounts", 3)
    assert any(n.startswith("医保基金收入户（浏览器）") for n in names), names

    accountant.select_option("#d-special", "BRW-MED-SPC")
    accountant.select_option("#d-bank", "ICBC")
    accountant.fill("#d-code", "BRW-MED-TD1")
    accountant.fill("#d-tender", "ZB-2026-BRW")
    accountant.fill("#d-cert", "TD88100001")
    accountant.fill("#d-principal", "abc")
    accountant.fill("#d-rate", "2.75")
    accountant.fill("#d-term", "12")
    accountant.click("#placement-form button[type=submit]")
    accountant.wait_for_selector("#placement-principal-error")
    _accessible(accountant, "accountant-placement-refused")
    assert accountant.input_value("#d-code") == "BRW-MED-TD1"  # what was typed is kept
    accountant.fill("#d-principal", "30,000.00")
    accountant.click("#placement-form button[type=submit]")
    accountant.wait_for_selector("#done")
    assert "已提交，待另一名操作员复核" in accountant.inner_text("#done")
    [placement] = [i for i in service.list_instructions(sqlite_city.db, sqlite_city.supervisor, "proposed")
                   if i.kind == "placement" and i.to_code == "BRW-MED-TD1"]
    assert placement.amount == 3_000_000
    _accessible(accountant, "accountant-placed")

    supervisor = _log_in(open_page, "t-super", "/treasury")
    _accessible(supervisor, "supervisor")
    supervisor.click(f'a[href="/treasury/instructions/{placement.id}/approve"]')
    supervisor.wait_for_selector("#confirm")
    assert "医保基金财政专户（浏览器）" in supervisor.inner_text("#confirm-from")
    assert (supervisor.inner_text("#confirm-bank"), supervisor.inner_text("#confirm-rate"),
            supervisor.inner_text("#confirm-maturity")) == ("中国工商银行", "2.75", f"{clock.local_date().year + 1}"
                                                             f"-{clock.local_date():%m-%d}")
    _accessible(supervisor, "supervisor-confirm")
    supervisor.click("#confirm-yes")
    supervisor.wait_for_selector("#done")
    deposit = {a.code: a for a in service.list_accounts(sqlite_city.db, sqlite_city.supervisor)}["BRW-MED-TD1"]
    assert (deposit.status, deposit.bank_code, deposit.balance) == ("open", "ICBC", 3_000_000)
    banks = _column(supervisor, "accounts", 2)
    assert "中国工商银行" in banks and not BANK_CODES & set(banks)
    assert supervisor.locator("#maturity-form").count() == 0  # the supervisor approves, the accountant proposes
    _accessible(supervisor, "supervisor-approved")

    supervisor.goto("/transition")
    text = supervisor.inner_text("main")
    assert "GFMED-BROWSER-1" in text and not ENGLISH_STATUS.search(text), text
    _accessible(supervisor, "transition")
