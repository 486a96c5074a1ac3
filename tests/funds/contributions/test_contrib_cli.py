"""``sscard funds contrib …``: the same services as the API from the command line — enrol, authorise, employer
files, the month's batches and failures, arrears, a person's history; domain errors exit 2 with the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from contrib_world import MONTH, new_person
from test_contrib_employer import lines_for, make_file

from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions.withholding import run_withholding_month
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")


def _cli(city: City, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false", "COLUMNS": "200"}
    return subprocess.run([SSCARD, "funds", "contrib", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _ok(city: City, *args: str) -> Any:
    done = _cli(city, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_contrib_commands_enrol_authorise_inspect_and_pay_arrears(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    person_id, number = new_person(city, "命令行")
    for scheme in ("flex_pension", "employee_medical", "unemployment"):
        enrolled = _ok(city, "enrol", number, scheme, "2014-01", "--ratio-bp", "10000", "--json")
        assert (enrolled["person_id"], enrolled["scheme"], enrolled["base_ratio_bp"]) == (person_id, scheme, 10_000)
    refused = _cli(city, "enrol", number, "flex_pension", "2014-01", "--ratio-bp", "100")
    assert refused.returncode == 2 and "CONTRIB_BASE_INVALID" in refused.stderr  # 1 %: below the 60 % floor
    bank.open_account("ICBC", "6222000000000077", "命令行", number, balance=0)
    bad_date = _cli(city, "authorise", number, "--signed-on", "20-12-2013", "--signature-ref", "F")
    assert bad_date.returncode == 2 and "--signed-on" in bad_date.stderr
    signed = _ok(city, "authorise", number, "--signed-on", "2013-12-20", "--signature-ref", "FORM-77",
                 "--bank", "ICBC", "--account", "6222000000000077", "--holder", "命令行", "--json")
    assert (signed["status"], signed["bank_code"]) == ("active", "ICBC")

    run_withholding_month(city.db, city.admin, "2014-01")  # an empty account: the month is refused
    [batch] = _ok(city, "batches", "2014-01", "--json")
    assert (batch["batch_no"], batch["failed_count"], batch["failed_fen"]) == ("WH-2014-01-ICBC", 3, MONTH)
    table = _cli(city, "batches", "2014-01")
    assert table.returncode == 0 and "WH-2014-01-ICBC" in table.stdout
    failures = _ok(city, "failures", "2014-01", "--json")
    assert {(f["person_id"], f["reason"]) for f in failures} == {(person_id, "INSUFFICIENT_BALANCE")}
    listed = _cli(city, "failures", "2014-01", "--lang", "en")
    assert listed.returncode == 0 and "INSUFFICIENT_BALANCE" in listed.stdout

    bank.deposit("ICBC", "6222000000000077", MONTH)
    paid = _ok(city, "pay-arrears", number, "--json")
    assert (paid["paid_count"], paid["paid_fen"], paid["still_owed_count"], paid["status"]) == (3, MONTH, 0, "active")
    nothing = _cli(city, "pay-arrears", number)
    assert nothing.returncode == 2 and "CONTRIB_NO_ARREARS" in nothing.stderr
    records = _ok(city, "history", str(person_id), "--json")
    assert [(r["period"], r["status"]) for r in records] == [("2014-01", "paid")] * 3
    shown = _cli(city, "history", str(person_id))
    assert shown.returncode == 0 and "2014-01" in shown.stdout


def test_employer_import_from_the_command_line(month_city: City, tmp_path: Path) -> None:
    city = month_city
    _, number = new_person(city, "文件职工")
    path = tmp_path / "employer.txt"
    data = make_file(lines_for([(number, "文件职工")]))
    path.write_bytes(data[:-10])  # cut short: refused whole
    cut = _cli(city, "employer-import", str(path))
    assert cut.returncode == 2 and "EMPLOYER_FILE_" in cut.stderr
    path.write_bytes(data)
    first = _ok(city, "employer-import", str(path), "--json")
    assert (first["lines"], first["replayed"]) == (3, False)
    assert _ok(city, "employer-import", str(path), "--json")["replayed"] is True
    refused = _cli(city, "employer-import", str(path), "--operator", "t-super")
    assert refused.returncode == 2 and "PERMISSION_DENIED" in refused.stderr
