"""The fund accountant's and the supervisor's treasury page: positions and accounts (masked account numbers),
statement upload (refused whole with its message, then imported), the reconciliation queue resolved through its
form (a bank charge booked, a credit explained), a sweep proposed by the accountant and approved by the
supervisor only after a confirmation page (a maker may not check their own), the 余额调节表 downloads; Chinese by
default, English on request; refused to a counter clerk."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.treasury import service, statements
from sscard.treasury.statements import Line
from support.city import PASSWORD, City
from web.helpers import WebClient, csrf_of

CJK = re.compile(r"[\u4e00-\u9fff]")


def _accountant(city: City) -> WebClient:
    auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-web", "基金会计", Role.ACCOUNTANT, PASSWORD)
    http = TestClient(create_app(city.db), raise_server_exceptions=False)
    r = http.post("/login", data={"csrf_token": csrf_of(http.get("/login").text), "username": "t-acct-web",
                                  "password": PASSWORD, "next": "/treasury"})
    assert r.status_code == 200 and str(r.url).endswith("/treasury"), r.text
    return WebClient(http, csrf_of(r.text))


def test_the_treasury_pages_for_the_accountant_and_the_supervisor(clients: Callable[..., WebClient],
                                                                  sqlite_city: City) -> None:
    city = sqlite_city
    for code, kind, no in (("WEB-MED-COL", "collection", "7700001"), ("WEB-MED-SPC", "special", "7700003")):
        service.open_account(city.db, city.admin, code, "medical", "BOC", kind, no, f"医保{kind}")
    accountant = _accountant(city)
    maker = auth.actor_for_username(city.db, "t-acct-web")
    service.record_collection(city.db, maker, "WEB-MED-COL", 1_000_000, "WEBC1")
    today = clock.local_date()
    lines = [Line(1, today, today, "C", 1_000_000, "WEBC1", "BOC1", "医保费归集"),
             Line(2, today, today, "D", 1_500, "", "BOC2", "手续费"), Line(3, today, today, "C", 777, "", "BOC3", "")]
    signed = statements.write_csv("BOC", "7700001", "WEB-STMT-1", today, today, 0, lines)

    page = accountant.http.get("/treasury")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text and "基金账户与银行对账" in page.text
    assert "***0001" in page.text and "7700001" not in page.text and "10,000.00" in page.text
    assert 'href="/treasury"' in page.text and "复核…" not in page.text  # the accountant proposes, never approves

    refused = accountant.http.post("/treasury/statements", data={"csrf_token": accountant.csrf, "bank": "BOC"},
                                   files={"statement": ("s.csv", signed.replace(b"1500", b"1600"), "text/csv")})
    assert refused.status_code == 422 and "MAC" in refused.text
    empty = accountant.http.post("/treasury/statements", data={"csrf_token": accountant.csrf, "bank": "BOC"})
    assert empty.status_code == 422 and "请选择对账单文件" in empty.text
    assert service.statements_of(city.db, city.supervisor, "WEB-MED-COL") == []
    done = accountant.http.post("/treasury/statements", data={"csrf_token": accountant.csrf, "bank": "BOC"},
                                files={"statement": ("s.csv", signed, "text/csv")})
    assert done.status_code == 200 and "对账单已导入: WEB-MED-COL, 3 / 1 / 2" in done.text
    assert "记为银行手续费" in done.text and "记为利息收入" in done.text and "WEB-STMT-1" in done.text

    charge, credit = sorted(service.queue(city.db, maker, "WEB-MED-COL"), key=lambda q: q.line_no)
    wrong = accountant.post(f"/treasury/queue/{charge.line_id}", {"action": "interest"})
    assert wrong.status_code == 422 and "所选账务记录与对账明细不符" in wrong.text
    booked = accountant.post(f"/treasury/queue/{charge.line_id}", {"action": "charge", "note": "手续费"})
    assert booked.status_code == 200 and f"对账明细已处理: #{charge.line_id}" in booked.text
    unexplained = accountant.post(f"/treasury/queue/{credit.line_id}", {"action": "explain"})
    assert unexplained.status_code == 422 and "请填写" in unexplained.text
    explained = accountant.post(f"/treasury/queue/{credit.line_id}",
                                {"action": "explain", "note": "银行误入账，次日冲回"})
    assert explained.status_code == 200 and service.queue(city.db, maker, "WEB-MED-COL") == []

    bad = accountant.post("/treasury/instructions", {"kind": "sweep", "from_code": "WEB-MED-COL",
                                                     "to_code": "WEB-MED-SPC", "amount": "abc", "request_key": "w1"})
    assert bad.status_code == 422 and "请输入大于零的金额" in bad.text
    proposed = accountant.post("/treasury/instructions", {"kind": "sweep", "from_code": "WEB-MED-COL",
                                                          "to_code": "WEB-MED-SPC", "amount": "5,000.00",
                                                          "request_key": "web-sweep-1"})
    assert proposed.status_code == 200 and "已提交，待另一名操作员复核" in proposed.text
    [pending] = [i for i in service.list_instructions(city.db, maker, "proposed") if i.from_code == "WEB-MED-COL"]
    assert pending.amount == 500_000

    supervisor = clients("t-super")
    overview = supervisor.http.get("/treasury")
    assert overview.status_code == 200 and f'href="/treasury/instructions/{pending.id}/approve"' in overview.text
    assert 'action="/treasury/statements"' not in overview.text  # uploads are the accountant's
    confirm = supervisor.http.get(f"/treasury/instructions/{pending.id}/approve")
    assert confirm.status_code == 200 and "请确认" in confirm.text and "5,000.00" in confirm.text
    assert "t-acct-web" in confirm.text and 'name="confirmed" value="yes"' in confirm.text
    unconfirmed = supervisor.post(f"/treasury/instructions/{pending.id}/approve", {})
    assert unconfirmed.status_code == 200 and "请确认" in unconfirmed.text
    assert [i for i in service.list_instructions(city.db, maker, "approved") if i.from_code == "WEB-MED-COL"] == []
    approved = supervisor.post(f"/treasury/instructions/{pending.id}/approve", {"confirmed": "yes"})
    assert approved.status_code == 200 and "已复核通过，资金已划转" in approved.text
    balances = {a.code: a.balance for a in service.list_accounts(city.db, maker, "medical")}
    assert balances["WEB-MED-SPC"] == 500_000 and balances["WEB-MED-COL"] == 1_000_000 - 1_500 - 500_000

    admin = clients("t-admin")
    own = service.propose(city.db, city.admin, "sweep", "WEB-MED-COL", "WEB-MED-SPC", 100, "web-own")
    own_page = admin.http.get(f"/treasury/instructions/{own.id}/approve")
    assert own_page.status_code == 200 and "您是经办人" in own_page.text and "confirm-yes" not in own_page.text
    same = admin.post(f"/treasury/instructions/{own.id}/approve", {"confirmed": "yes"})
    assert same.status_code == 409 and "复核人不能是经办人本人" in same.text
    sent_back = supervisor.post(f"/treasury/instructions/{own.id}/reject", {"reason": "重复提交"})
    assert sent_back.status_code == 200 and "已退回，资金未划转" in sent_back.text

    month = f"{today:%Y-%m}"
    assert f'href="/treasury/report/WEB-MED-COL/{month}.pdf"' in supervisor.http.get("/treasury").text
    pdf = supervisor.http.get(f"/treasury/report/WEB-MED-COL/{month}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    sheet = supervisor.http.get(f"/treasury/report/WEB-MED-COL/{month}.csv")
    assert sheet.status_code == 200 and sheet.content.decode("utf-8-sig").startswith("银行存款余额调节表")
    assert supervisor.http.get("/treasury/report/WEB-MED-COL/1999-01.csv").status_code == 404

    english = supervisor.http.get("/lang/en?next=/treasury")
    assert "Fund accounts and reconciliation" in english.text and "Reconciliation queue" in english.text
    # the language switch, the account names, the bank's texts and the Chinese terms beside the English kinds
    # (the SQLite city is shared: other tests' accounts, named in Chinese, are listed on the page too)
    stored = "".join(a.name for a in service.list_accounts(city.db, city.supervisor))
    allowed = set("中文医保费归集手续费银行误入账次日冲回收入户财政专户支出用款计划") | set(CJK.findall(stored))
    assert set(CJK.findall(english.text)) <= allowed
    counter = clients("t-counter")
    assert counter.http.get("/treasury").status_code == 403
    assert 'href="/treasury"' not in counter.http.get("/counter").text and 'href="/treasury"' in overview.text


def test_a_fund_accountant_lands_on_the_treasury_after_logging_in(sqlite_city: City) -> None:
    """Without a page to go back to, the log-in takes a fund accountant to the treasury (the counter would refuse
    them), and a counter clerk still to the counter."""
    auth.create_operator(sqlite_city.db, SYSTEM_ACTOR, "t-acct-home", "基金会计", Role.ACCOUNTANT, PASSWORD)
    http = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
    for username, home in (("t-acct-home", "/treasury"), ("t-counter", "/counter")):
        http.cookies.clear()
        r = http.post("/login", data={"csrf_token": csrf_of(http.get("/login").text), "username": username,
                                      "password": PASSWORD})
        assert r.status_code == 200 and r.url.path == home, (username, r.url)
        assert r.url.path == http.get("/login").url.path  # logged in already: /login sends them home again
