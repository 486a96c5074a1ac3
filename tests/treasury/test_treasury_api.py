"""The treasury API over the service: accounts opened by an administrator, collections recorded, the shipped
camt.053 imported as the body, the queue resolved by booking the bank charge, the balanced 余额调节表 as JSON,
PDF and CSV; a sweep proposed by the fund accountant and approved by a supervisor (never by its maker);
refusals answer their stable code and write nothing."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.treasury import service
from sscard.treasury.models import TreasuryInstruction, TreasuryStatement, TreasuryStatementLine
from support.api import bearer
from support.city import PASSWORD, City

ZONE = dt.timezone(dt.timedelta(hours=8))
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "treasury"
API = "/api/v1/treasury"


def at(day: dt.date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZONE), tick=False)


def _counts(city: City) -> tuple[int, int, int]:
    with city.db.unit_of_work() as session:
        return tuple(session.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (TreasuryStatement, TreasuryStatementLine, TreasuryInstruction))


def test_the_treasury_api_from_accounts_to_the_report(fresh_city: City) -> None:
    city = fresh_city
    auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct", "基金会计甲", Role.ACCOUNTANT, PASSWORD)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    with at(dt.date(2026, 1, 1)):
        admin, accountant, counter = (bearer(client, u) for u in ("t-admin", "t-acct", "t-counter"))
        for code, fund, bank, kind, no, name in csv.reader(
                (EXAMPLE / "accounts.csv").read_text("utf-8").splitlines()[1:]):
            body = {"code": code, "fund": fund, "bank_code": bank, "kind": kind, "account_no": no, "name": name}
            r = client.post(f"{API}/accounts", headers=accountant, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
            r = client.post(f"{API}/accounts", headers=admin, json=body)
            assert r.status_code == 201, r.text
        r = client.post(f"{API}/accounts", headers=admin, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TREASURY_ACCOUNT_EXISTS")
        r = client.post(f"{API}/accounts", headers=admin, json={**body, "code": "X", "kind": "deposit"})
        assert r.status_code == 422
        assert client.get(f"{API}/accounts", headers=counter).status_code == 403
    for when, code, kind, amount, reference in csv.reader(
            (EXAMPLE / "ledger.csv").read_text("utf-8").splitlines()[1:]):
        with at(dt.date.fromisoformat(when)):
            headers = bearer(client, "t-acct")
            r = client.post(f"{API}/{kind}s", headers=headers, json={"account": code, "amount": int(amount),
                                                                     "reference": reference})
            assert r.status_code == 201, r.text
            again = client.post(f"{API}/{kind}s", headers=headers, json={"account": code, "amount": int(amount),
                                                                         "reference": reference})
            assert again.json()["replayed"] and again.json()["id"] == r.json()["id"]

    with at(dt.date(2026, 2, 1)):
        accountant, supervisor, admin = (bearer(client, u) for u in ("t-acct", "t-super", "t-admin"))
        camt = (EXAMPLE / "statement-camt053.xml").read_bytes()
        before = _counts(city)
        for data, bank, code in ((camt.replace(b"12500.00", b"12500.01"), "ICBC", "TREASURY_STATEMENT_MAC"),
                                 (camt, "BOC", "TREASURY_STATEMENT_MAC"), (b"<x/>", "ICBC", "TREASURY_STATEMENT_MAC")):
            r = client.post(f"{API}/statements", params={"bank": bank}, headers=accountant, content=data)
            assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text
        assert client.post(f"{API}/statements", params={"bank": "ICBC"}, headers=supervisor,
                           content=camt).status_code == 403
        assert _counts(city) == before
        r = client.post(f"{API}/statements", params={"bank": "ICBC"}, headers={**accountant,
                                                                              "Content-Type": "application/xml"},
                        content=camt)
        assert r.status_code == 201, r.text
        result = r.json()
        assert (result["account_code"], result["format"], result["lines"], result["matched"], result["queued"]) == \
            ("PEN-ICBC-COL", "camt053", 5, 4, 1)
        assert result["checks"][-1]["status"] == "explained" and result["checks"][-1]["difference"] == -2_000
        before = _counts(city)
        r = client.post(f"{API}/statements", params={"bank": "ICBC"}, headers=accountant, content=camt)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TREASURY_STATEMENT_DUPLICATE")
        assert _counts(city) == before
        [listed] = client.get(f"{API}/statements", headers=supervisor).json()
        assert (listed["statement_id"], listed["from_date"], listed["matched"]) == ("2026013100011234",
                                                                                    "2026-01-01", 4)

        [item] = client.get(f"{API}/queue", headers=supervisor).json()
        assert (item["direction"], item["amount"], item["description"]) == ("D", 2_000, "账户管理费")
        r = client.post(f"{API}/queue/{item['line_id']}/book", headers=accountant, json={"as": "interest"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TREASURY_MATCH_INVALID")
        r = client.post(f"{API}/queue/{item['line_id']}/match", headers=accountant, json={"transfer_id": "nope"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TREASURY_MATCH_INVALID")
        r = client.post(f"{API}/queue/{item['line_id']}/explain", headers=accountant, json={"note": ""})
        assert r.status_code == 422
        r = client.post(f"{API}/queue/{item['line_id']}/book", headers=accountant,
                        json={"as": "charge", "note": "账户管理费"})
        assert r.status_code == 201 and r.json()["amount"] == 2_000 and r.json()["code"] == "treasury.charge"
        r = client.post(f"{API}/queue/{item['line_id']}/explain", headers=accountant, json={"note": "again"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TREASURY_LINE_STATE")
        assert client.get(f"{API}/queue", headers=supervisor).json() == []
        checks = client.get(f"{API}/checks", headers=supervisor, params={"account": "PEN-ICBC-COL"}).json()
        # the charge is booked on 1 February: on 31 January it is still the bank's alone, an explained item
        assert (checks[0]["day"], checks[0]["status"], checks[0]["difference"]) == ("2026-01-31", "explained", -2_000)
        assert client.get(f"{API}/checks", headers=supervisor, params={"status": "unexplained"}).json() == []

        recon = client.get(f"{API}/accounts/PEN-ICBC-COL/reconciliation/2026-01", headers=supervisor).json()
        assert recon["balanced"] and (recon["bank_balance"], recon["ledger_balance"]) == (4_653_125, 4_655_125)
        assert [x["amount"] for x in recon["bank_out_ledger_not"]] == [2_000]
        pdf = client.get(f"{API}/accounts/PEN-ICBC-COL/reconciliation/2026-01/pdf", headers=supervisor)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        sheet = client.get(f"{API}/accounts/PEN-ICBC-COL/reconciliation/2026-01/csv", headers=supervisor,
                           params={"language": "en"})
        assert sheet.status_code == 200 and sheet.content.startswith("\ufeffBank reconciliation".encode())
        r = client.get(f"{API}/accounts/PEN-ICBC-COL/reconciliation/2025-12", headers=supervisor)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "TREASURY_REPORT_EMPTY")
        for month in ("0000-01", "9999-12"):  # found by the OpenAPI fuzzing: no date arithmetic out of range
            r = client.get(f"{API}/accounts/PEN-ICBC-COL/reconciliation/{month}/pdf", headers=supervisor)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "TREASURY_REPORT_EMPTY")
        r = client.get(f"{API}/accounts/NOPE/reconciliation/2026-01", headers=supervisor)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "TREASURY_NOT_FOUND")

        sweep = {"kind": "sweep", "from_code": "PEN-ICBC-COL", "to_code": "PEN-ICBC-SPC", "amount": 4_000_000,
                 "request_key": "api-sweep-1"}
        r = client.post(f"{API}/instructions", headers=accountant, json={**sweep, "to_code": "PEN-ICBC-PAY"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TREASURY_FLOW_INVALID")
        r = client.post(f"{API}/instructions", headers=accountant, json=sweep)
        assert r.status_code == 201, r.text
        proposed = r.json()
        assert proposed["status"] == "proposed" and proposed["proposed_by"] == "t-acct"
        assert client.post(f"{API}/instructions", headers=accountant, json=sweep).json()["id"] == proposed["id"]
        r = client.post(f"{API}/instructions", headers=accountant, json={**sweep, "amount": 1})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TREASURY_KEY_REUSED")
        r = client.post(f"{API}/instructions/{proposed['id']}/approve", headers=accountant)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
        own = client.post(f"{API}/instructions", headers=admin, json={**sweep, "amount": 1, "request_key": "own"})
        r = client.post(f"{API}/instructions/{own.json()['id']}/approve", headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TREASURY_SAME_OPERATOR")
        r = client.post(f"{API}/instructions/{own.json()['id']}/reject", headers=supervisor, json={"reason": "重复"})
        assert r.json()["status"] == "rejected"
        pending = client.get(f"{API}/instructions", headers=supervisor, params={"status": "proposed"}).json()
        assert [i["id"] for i in pending] == [proposed["id"]]
        r = client.post(f"{API}/instructions/{proposed['id']}/approve", headers=supervisor)
        assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"] == "t-super"
        r = client.post(f"{API}/instructions/{proposed['id']}/approve", headers=supervisor)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TREASURY_INSTRUCTION_STATE")

        balances = {a["code"]: a["balance"] for a in client.get(f"{API}/accounts", headers=supervisor).json()}
        assert balances == {"PEN-ICBC-COL": 653_125, "PEN-ICBC-SPC": 4_000_000,
                            "PEN-ICBC-PAY": 0}
        [pension] = client.get(f"{API}/positions", headers=supervisor).json()
        assert (pension["fund"], pension["total"], pension["special"]) == ("pension", 4_653_125, 4_000_000)

        placement = {"request_key": "api-td-1", "special_code": "PEN-ICBC-SPC", "deposit_code": "PEN-ICBC-TD1",
                     "certificate_no": "TD20260201", "tender_ref": "ZB-2026-01", "principal": 3_000_000,
                     "rate_bp": 175, "term_months": 3, "placed_on": "2026-02-01"}
        r = client.post(f"{API}/deposits", headers=accountant, json={**placement, "rate_bp": 20_000})
        assert r.status_code == 422
        r = client.post(f"{API}/deposits", headers=accountant, json=placement)
        assert r.status_code == 201 and r.json()["kind"] == "placement"
        placed = r.json()
        r = client.post(f"{API}/deposits/PEN-ICBC-TD1/maturity", headers=accountant, json={"request_key": "m-0"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TREASURY_DEPOSIT_NOT_MATURE")
        td = client.post(f"{API}/instructions/{placed['id']}/approve", headers=supervisor)
        assert td.status_code == 200 and td.json()["status"] == "approved"
        deposit = {a["code"]: a for a in client.get(f"{API}/accounts", headers=supervisor).json()}["PEN-ICBC-TD1"]
        assert deposit["status"] == "open" and deposit["deposit"]["maturity_on"] == "2026-05-01"
    with at(dt.date(2026, 5, 1)):
        accountant, supervisor = bearer(client, "t-acct"), bearer(client, "t-super")
        r = client.post(f"{API}/deposits/PEN-ICBC-TD1/maturity", headers=accountant, json={"request_key": "m-1"})
        assert r.status_code == 201, r.text
        assert r.json()["interest"] == service.interest_due(3_000_000, 175, dt.date(2026, 2, 1), dt.date(2026, 5, 1),
                                                            360) == 12_979  # 89 days at 1.75 %, basis 360
        r = client.post(f"{API}/instructions/{r.json()['id']}/approve", headers=supervisor)
        assert r.status_code == 200
        [pension] = client.get(f"{API}/positions", headers=supervisor).json()
        assert pension["deposits"] == 0 and pension["interest_earned"] == r.json()["interest"]
