"""``sscard treasury …`` as the fund accountant's host runs it (a subprocess against the test database): the
shipped CSV statement imported, the camt.053 of the same statement refused as a duplicate (exit 2 and its code),
the queue, the checks, the accounts table (masked account numbers), an instruction approved by a supervisor and
not by the fund accountant, and the 余额调节表 written as PDF and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import time_machine

from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.treasury import service
from support.city import PASSWORD, City

SSCARD = str(Path(sys.executable).parent / "sscard")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "treasury"
ZONE = dt.timezone(dt.timedelta(hours=8))


def _cli(city: City, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false", "COLUMNS": "250"}
    return subprocess.run([SSCARD, "treasury", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_treasury_from_the_command_line(fresh_city: City, tmp_path: Path) -> None:
    city = fresh_city
    maker = auth.actor_of(auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-cli", "基金会计", Role.ACCOUNTANT,
                                               PASSWORD))
    for code, fund, bank, kind, no, name in csv.reader((EXAMPLE / "accounts.csv").read_text("utf-8").splitlines()[1:]):
        service.open_account(city.db, city.admin, code, fund, bank, kind, no, name, dt.date(2026, 1, 1))
    for when, code, _, amount, reference in csv.reader((EXAMPLE / "ledger.csv").read_text("utf-8").splitlines()[1:]):
        day = dt.date.fromisoformat(when)
        with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=ZONE), tick=False):
            service.record_collection(city.db, maker, code, int(amount), reference)

    wrong_bank = _cli(city, "import-statement", str(EXAMPLE / "statement.csv"), "--bank", "BOC")
    assert wrong_bank.returncode == 2 and "TREASURY_STATEMENT_MAC" in wrong_bank.stderr
    imported = _cli(city, "import-statement", str(EXAMPLE / "statement.csv"), "--bank", "ICBC", "--operator",
                    "t-acct-cli", "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert (result["account_code"], result["format"], result["lines"], result["matched"], result["queued"]) == \
        ("PEN-ICBC-COL", "csv", 5, 4, 1)
    again = _cli(city, "import-statement", str(EXAMPLE / "statement-camt053.xml"), "--bank", "ICBC")
    assert again.returncode == 2 and "TREASURY_STATEMENT_DUPLICATE" in again.stderr
    signed = (EXAMPLE / "statement-camt053.xml").read_bytes()
    cut = signed.rindex(b"SSMAC|")
    (tmp_path / "camt.xml").write_bytes(signed[:cut])
    (tmp_path / "camt.mac").write_bytes(signed[cut:])
    unsigned = _cli(city, "import-statement", str(tmp_path / "camt.xml"), "--bank", "ICBC")
    assert unsigned.returncode == 2 and "TREASURY_STATEMENT_MAC" in unsigned.stderr
    detached = _cli(city, "import-statement", str(tmp_path / "camt.xml"), "--mac", str(tmp_path / "camt.mac"),
                    "--bank", "ICBC")  # the MAC holds: refused only as the statement already imported
    assert detached.returncode == 2 and "TREASURY_STATEMENT_DUPLICATE" in detached.stderr

    [item] = json.loads(_cli(city, "queue", "--json").stdout)
    assert (item["direction"], item["amount"], item["bank_ref"]) == ("D", 2_000, "ICBC260131000900")
    table = _cli(city, "queue")
    assert table.returncode == 0 and "账户管理费" in table.stdout and "20.00" in table.stdout
    checks = _cli(city, "checks", "--account", "PEN-ICBC-COL", "--json")
    assert checks.returncode == 0 and json.loads(checks.stdout)[0]["status"] == "explained"
    accounts = _cli(city, "accounts")
    assert accounts.returncode == 0 and "************1234" in accounts.stdout and "2013000100011234" not in \
        accounts.stdout and "46,551.25" in accounts.stdout
    listed = json.loads(_cli(city, "accounts", "--json").stdout)
    assert {a["code"]: a["balance"] for a in listed}["PEN-ICBC-COL"] == 4_655_125
    [pension] = json.loads(_cli(city, "positions", "--json").stdout)
    assert pension["collection"] == 4_655_125

    proposed = service.propose(city.db, maker, "sweep", "PEN-ICBC-COL", "PEN-ICBC-SPC", 4_000_000, "cli-sweep")
    refused = _cli(city, "approve", str(proposed.id), "--operator", "t-acct-cli")
    assert refused.returncode == 2 and "PERMISSION_DENIED" in refused.stderr
    system = _cli(city, "approve", str(proposed.id))  # the system actor is no named checker
    assert system.returncode == 2 and "TREASURY_SAME_OPERATOR" in system.stderr
    pending = json.loads(_cli(city, "instructions", "--status", "proposed", "--json").stdout)
    assert [i["id"] for i in pending] == [proposed.id]
    approved = _cli(city, "approve", str(proposed.id), "--operator", "t-super", "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)[0]["status"] == "approved"

    pdf, sheet = tmp_path / "recon.pdf", tmp_path / "recon.csv"
    made = _cli(city, "report", "PEN-ICBC-COL", "2026-01", "--pdf", str(pdf), "--csv", str(sheet))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "balanced" in made.stdout and pdf.read_bytes().startswith(b"%PDF-")
    rows = list(csv.reader(sheet.read_text("utf-8-sig").splitlines()))
    assert rows[0] == ["银行存款余额调节表"] and rows[3] == ["银行对账单余额", "4653125", "单位账面余额", "4655125"]
    missing = _cli(city, "report", "PEN-ICBC-COL", "2025-12", "--json")
    assert missing.returncode == 2 and "TREASURY_REPORT_EMPTY" in missing.stderr
