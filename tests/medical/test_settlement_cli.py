"""``settle-trial`` as a real process: the sample bill prints the expected split as JSON (``--json``; a summary
in yuan without it); bad files exit 2 with a stable code and no traceback. The command runs in a tiny Typer app
until the lead registers it in main.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
APP = ("import sys, typer; from sscard.cli.settle import settle_trial; app = typer.Typer(); "
       "app.command()(settle_trial); app(sys.argv[1:])")
Run = Callable[..., subprocess.CompletedProcess[str]]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", APP, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_sample_bill_prints_the_worked_example_split() -> None:
    done = run(EXAMPLES / "bill-worked-example.json", "--json")
    assert done.returncode == 0, done.stderr
    split = json.loads(done.stdout)
    assert {k: split[k] for k in ("total_fen", "fund_paid_fen", "self_pay_fen", "own_expense_fen",
                                  "account_paid_fen", "cash_fen", "first_self_pay_fen", "in_scope_fen",
                                  "deductible_paid_fen", "over_price_cap_fen", "out_of_catalogue_fen")} == {
        "total_fen": 2_000_000, "fund_paid_fen": 1_192_000, "self_pay_fen": 508_000, "own_expense_fen": 300_000,
        "account_paid_fen": 200_000, "cash_fen": 608_000, "first_self_pay_fen": 50_000, "in_scope_fen": 1_650_000,
        "deductible_paid_fen": 160_000, "over_price_cap_fen": 0, "out_of_catalogue_fen": 300_000}
    assert split["policy_id"] == "EXAMPLE-2013" and len(split["lines"]) == 6
    assert split["accumulators"] == {"fund_paid_fen": 1_192_000, "deductible_paid_fen": 160_000,
                                     "in_scope_fen": 1_650_000, "account_spent_fen": 200_000, "admissions": 1}



def test_without_json_the_split_is_a_summary_in_yuan_for_a_person() -> None:
    done = run(EXAMPLES / "bill-worked-example.json")
    assert done.returncode == 0, done.stderr
    assert not done.stdout.lstrip().startswith("{")
    for shown in ("total (yuan)", "20,000.00", "fund_paid (yuan)", "11,920.00", "cash (yuan)", "6,080.00",
                  "EX-M-C001"):
        assert shown in done.stdout, shown

def test_explicit_policy_and_json_catalogue_files_are_used(tmp_path: Path) -> None:
    policy = json.loads((EXAMPLES.parents[1] / "src/sscard/medical/data/policy-example.json").read_text("utf-8"))
    policy["policies"][0]["rules"][0]["ratio_bp"] = 9000  # the employee 3rd-level in-patient row
    (tmp_path / "policy.json").write_text(json.dumps(policy, ensure_ascii=False), "utf-8")
    items = [{"code": c, "name": c, "item_type": "drug", "catalogue_class": k} for c, k in (
        ("EX-D-A001", "甲"), ("EX-S-A001", "甲"), ("EX-S-A002", "甲"), ("EX-S-A003", "甲"), ("EX-D-B001", "乙"),
        ("EX-M-C001", "丙"))]
    (tmp_path / "catalogue.json").write_text(json.dumps({"items": items}, ensure_ascii=False), "utf-8")
    done = run(EXAMPLES / "bill-worked-example.json", "--policy", tmp_path / "policy.json",
               "--catalogue", tmp_path / "catalogue.json", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["fund_paid_fen"] == 1_490_000 * 9 // 10


def _bill(**changes: object) -> dict[str, object]:
    bill: dict[str, object] = json.loads((EXAMPLES / "bill-worked-example.json").read_text("utf-8"))
    bill.update(changes)
    return bill


CATALOGUE_HEADER = "code,name,item_type,class,price_cap_fen,yi_self_pay_bp,effective_from,effective_to\n"


@pytest.mark.parametrize(("what", "content", "code"), [
    ("bill", "{not json", "BILL_INVALID"),
    ("bill", None, "BILL_INVALID"),  # the file does not exist
    ("bill", json.dumps(_bill(total_fen=2_000_000.5)), "BILL_INVALID"),  # fractions of a fen
    ("bill", json.dumps(_bill(lines=[{"code": "NOPE", "quantity": 1, "unit_price_fen": 100}], total_fen=None)),
     "CATALOGUE_ITEM_UNKNOWN"),
    ("bill", json.dumps(_bill(person={"scheme": "resident", "person_type": "resident", "account_balance_fen": 5})),
     "BILL_INVALID"),
    ("bill", json.dumps(_bill(date="2012-12-31", person={"scheme": "employee", "person_type": "in_service"})),
     "POLICY_MISSING"),
    ("policy", '{"format": "sscard-policy/1", "policies": []}', "POLICY_INVALID"),
    ("policy", json.dumps({"policies": [{"policy_id": "X", "effective_from": "2013-01-01", "yi_self_pay_bp": 1000,
                                         "rules": [{"visit_type": "pharmacy", "ratio_bp": 0,
                                                    "annual_cap_fen": 0}]}]}), "POLICY_RULE_MISSING"),
    ("catalogue", "code,name\nX,y\n", "CATALOGUE_INVALID"),
    ("catalogue", CATALOGUE_HEADER + "EX-D-A001,a,drug,丁,,,2013-01-01,\n", "CATALOGUE_INVALID"),
    ("catalogue", CATALOGUE_HEADER + "EX-D-A001,a,drug,甲,12.5,,2013-01-01,\n", "CATALOGUE_INVALID"),
])
def test_malformed_files_exit_2_with_the_stable_code(tmp_path: Path, what: str, content: str | None,
                                                     code: str) -> None:
    path = tmp_path / ("bad.csv" if what == "catalogue" else "bad.json")
    if content is not None:
        path.write_text(content, "utf-8")
    args: list[str | Path] = [path] if what == "bill" else [EXAMPLES / "bill-worked-example.json", f"--{what}",
                                                             path]
    done = run(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert code in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
