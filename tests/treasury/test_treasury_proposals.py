"""Term deposits through the pages and every movement through the command line, each a proposal that a second
operator approves (maker-checker, the treasury's service functions underneath): a placement by tender result
typed into the page (bad rate and term refused with their messages, nothing registered), approved by the
supervisor; at maturity the accountant proposes the deposit back and the supervisor approves, the special account
receiving the principal and the interest its terms earn; from the CLI a sweep, a 用款计划 payment, a placement and
its maturity proposed (a retry with the same key proposes nothing twice) and approved by another operator."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.cli.main import app as cli
from sscard.config import get_settings
from sscard.treasury import service
from support.city import PASSWORD, City
from web.helpers import WebClient, csrf_of

ZONE = dt.timezone(dt.timedelta(hours=8))


def at(day: dt.date) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=ZONE), tick=False)


def _web(city: City, username: str) -> WebClient:
    http = TestClient(create_app(city.db), raise_server_exceptions=False)
    r = http.post("/login", data={"csrf_token": csrf_of(http.get("/login").text), "username": username,
                                  "password": PASSWORD, "next": "/treasury"})
    assert r.status_code == 200 and r.url.path == "/treasury", r.text
    return WebClient(http, csrf_of(r.text))


def _funded(city: City, prefix: str, bank: str, numbers: str) -> None:
    for kind, suffix in (("collection", "COL"), ("special", "SPC"), ("payment", "PAY")):
        service.open_account(city.db, city.admin, f"{prefix}-{suffix}", "unemployment", bank, kind,
                             f"{numbers}{len(suffix)}{suffix[0]}".replace("C", "1").replace("S", "2").replace("P", "3"),
                             f"失业保险基金{kind}")


def test_a_term_deposit_placed_and_taken_back_through_the_pages(fresh_city: City) -> None:
    city = fresh_city
    auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-dep", "基金会计", Role.ACCOUNTANT, PASSWORD)
    maker = auth.actor_for_username(city.db, "t-acct-dep")
    with at(dt.date(2026, 1, 5)):
        _funded(city, "UNE-BOC", "BOC", "66100")
        service.record_collection(city.db, maker, "UNE-BOC-COL", 5_000_000, "UNEC1")
        sweep = service.propose(city.db, maker, "sweep", "UNE-BOC-COL", "UNE-BOC-SPC", 5_000_000, "une-sweep")
        service.approve(city.db, city.supervisor, sweep.id)
        accountant = _web(city, "t-acct-dep")
        page = accountant.http.get("/treasury")
        assert 'id="placement-form"' in page.text and "存放定期存款（按招标结果）" in page.text
        assert "没有存续中的定期存款" in page.text
        form = {"special_code": "UNE-BOC-SPC", "deposit_code": "UNE-CCB-TD1", "bank": "CCB",
                "certificate_no": "TD66100001", "tender_ref": "ZB-2026-UNE-1", "principal": "30,000.00",
                "rate": "2.75", "term_months": "12", "placed_on": "2026-01-05", "request_key": "une-place-1"}
        for field, bad, message in (("rate", "2.755", "请输入年利率"), ("term_months", "121", "存期为 1 至 120 个月"),
                                    ("principal", "-5", "请输入大于零的金额"),
                                    ("placed_on", "2026-13-01", "请输入日期")):
            refused = accountant.post("/treasury/deposits", {**form, field: bad})
            assert refused.status_code == 422 and message in refused.text, (field, refused.text[-500:])
            assert 'value="ZB-2026-UNE-1"' in refused.text  # what was typed is kept
        assert "UNE-CCB-TD1" not in {a.code for a in service.list_accounts(city.db, maker)}
        placed = accountant.post("/treasury/deposits", form)
        assert placed.status_code == 200 and "已提交，待另一名操作员复核" in placed.text
        again = accountant.post("/treasury/deposits", form)  # the same request key: nothing proposed twice
        assert again.status_code == 200
        [proposal] = [i for i in service.list_instructions(city.db, maker, "proposed") if i.kind == "placement"]
        assert (proposal.amount, proposal.to_code) == (3_000_000, "UNE-CCB-TD1")
        supervisor = _web(city, "t-super")
        confirm = supervisor.http.get(f"/treasury/instructions/{proposal.id}/approve")
        assert "存放定期存款" in confirm.text or "定期存款" in confirm.text
        assert supervisor.post(f"/treasury/instructions/{proposal.id}/approve", {"confirmed": "yes"}).status_code \
            == 200
        deposit = {a.code: a for a in service.list_accounts(city.db, maker)}["UNE-CCB-TD1"]
        assert (deposit.status, deposit.bank_code, deposit.balance) == ("open", "CCB", 3_000_000)
        assert deposit.deposit is not None and deposit.deposit.maturity_on == dt.date(2027, 1, 5)
        assert "中国建设银行" in accountant.http.get("/treasury").text

    with at(dt.date(2026, 6, 1)):  # months later: a new session
        accountant = _web(city, "t-acct-dep")
        early = accountant.post("/treasury/deposits/maturity", {"deposit_code": "UNE-CCB-TD1",
                                                                "request_key": "une-mat-early"})
        assert early.status_code == 422 and "定期存款未到期" in early.text
    with at(dt.date(2027, 1, 5)):
        accountant, supervisor = _web(city, "t-acct-dep"), _web(city, "t-super")
        page = accountant.http.get("/treasury")
        assert 'id="m-deposit"' in page.text and "2027-01-05" in page.text
        proposed = accountant.post("/treasury/deposits/maturity", {"deposit_code": "UNE-CCB-TD1",
                                                                   "request_key": "une-mat-1"})
        assert proposed.status_code == 200 and "已提交，待另一名操作员复核" in proposed.text
        [maturity] = [i for i in service.list_instructions(city.db, maker, "proposed") if i.kind == "maturity"]
        interest = service.interest_due(3_000_000, 275, dt.date(2026, 1, 5), dt.date(2027, 1, 5), 360)
        assert (maturity.amount, maturity.interest) == (3_000_000, interest) and interest == 83_646
        own = accountant.post(f"/treasury/instructions/{maturity.id}/approve", {"confirmed": "yes"})
        assert own.status_code == 403  # a fund accountant proposes, never approves
        assert supervisor.post(f"/treasury/instructions/{maturity.id}/approve", {"confirmed": "yes"}).status_code \
            == 200
        balances = {a.code: a.balance for a in service.list_accounts(city.db, maker)}
        assert balances["UNE-BOC-SPC"] == 2_000_000 + 3_000_000 + interest and balances["UNE-CCB-TD1"] == 0


def _cli(city: City, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SSCARD_DATABASE_URL", city.db.url)
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["treasury", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_movements_proposed_and_approved_from_the_command_line(fresh_city: City,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    city = fresh_city
    auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-clip", "基金会计", Role.ACCOUNTANT, PASSWORD)
    maker = auth.actor_for_username(city.db, "t-acct-clip")
    with at(dt.date(2026, 2, 2)):
        _funded(city, "UNE-ABC", "ABC", "66200")
        service.record_collection(city.db, maker, "UNE-ABC-COL", 9_000_000, "UNEC2")
        as_maker = ("--operator", "t-acct-clip", "--json")
        code, out = _cli(city, monkeypatch, "propose", "sweep", "UNE-ABC-COL", "UNE-ABC-SPC", "8000000", "--key",
                         "cli-sweep-1", *as_maker)
        assert code == 0, out
        [sweep] = json.loads(out)
        code, out = _cli(city, monkeypatch, "propose", "sweep", "UNE-ABC-COL", "UNE-ABC-SPC", "8000000", "--key",
                         "cli-sweep-1", *as_maker)
        assert code == 0 and json.loads(out)[0]["id"] == sweep["id"]  # a retry proposes nothing twice
        code, out = _cli(city, monkeypatch, "approve", str(sweep["id"]), *as_maker)
        assert code == 2 and "PERMISSION_DENIED" in out
        code, out = _cli(city, monkeypatch, "approve", str(sweep["id"]), "--operator", "t-super", "--json")
        assert code == 0 and json.loads(out)[0]["status"] == "approved", out

        code, out = _cli(city, monkeypatch, "propose", "plan", "UNE-ABC-SPC", "UNE-ABC-PAY", "1000000", "--plan-no",
                         "YK-2026-02-01", "--key", "cli-plan-1", *as_maker)
        assert code == 0, out
        [plan] = json.loads(out)
        assert (plan["kind"], plan["plan_no"], plan["status"]) == ("plan", "YK-2026-02-01", "proposed")
        code, out = _cli(city, monkeypatch, "propose", "plan", "UNE-ABC-COL", "UNE-ABC-PAY", "100", "--plan-no", "X",
                         "--key", "cli-plan-bad", *as_maker)
        assert code == 2 and "TREASURY_FLOW_INVALID" in out
        assert _cli(city, monkeypatch, "approve", str(plan["id"]), "--operator", "t-super")[0] == 0

        code, out = _cli(city, monkeypatch, "propose", "placement", "UNE-ABC-SPC", "UNE-ABC-TD1", "5000000",
                         "--tender", "ZB-2026-UNE-2", "--certificate", "TD66200001", "--rate-bp", "180",
                         "--term-months", "3", "--placed-on", "2026-02-02", "--key", "cli-place-1", *as_maker)
        assert code == 0, out
        [placement] = json.loads(out)
        code, out = _cli(city, monkeypatch, "propose", "placement", "UNE-ABC-SPC", "UNE-ABC-TD2", "5000000",
                         "--tender", "ZB", "--certificate", "TD2", "--rate-bp", "180", "--term-months", "3",
                         "--placed-on", "2026-02-30", "--key", "cli-place-bad", *as_maker)
        assert code == 2 and "YYYY-MM-DD" in out
        assert _cli(city, monkeypatch, "approve", str(placement["id"]), "--operator", "t-super")[0] == 0
    with at(dt.date(2026, 5, 2)):
        code, out = _cli(city, monkeypatch, "propose", "maturity", "UNE-ABC-TD1", "--key", "cli-mat-1", *as_maker)
        assert code == 0, out
        [maturity] = json.loads(out)
        interest = service.interest_due(5_000_000, 180, dt.date(2026, 2, 2), dt.date(2026, 5, 2), 360)
        assert (maturity["amount"], maturity["interest"]) == (5_000_000, interest)
        assert _cli(city, monkeypatch, "approve", str(maturity["id"]), "--operator", "t-super")[0] == 0
    balances = {a.code: a.balance for a in service.list_accounts(city.db, maker)}
    assert balances == {"UNE-ABC-COL": 1_000_000, "UNE-ABC-SPC": 7_000_000 + interest, "UNE-ABC-PAY": 1_000_000,
                        "UNE-ABC-TD1": 0}
