"""The whole transfer from the command line of each centre's host (``sscard transfer …``): issue with the JSON
and the PDF, apply with the file, confirm, show, list and reconcile; a refusal exits 2 with its code."""

from __future__ import annotations

import json
from pathlib import Path

from transfer_world import B_CITY, World, employer_months, person


def test_a_transfer_from_the_command_line(world: World, tmp_path: Path) -> None:
    pid_a, number = person(world.a, "命令行")
    person(world.b, "命令行", number)
    employer_months(world.a, [(number, "命令行")], ["2017-01", "2017-02"], 400_000)
    voucher, pdf = tmp_path / "voucher.json", tmp_path / "voucher.pdf"

    unknown = world.a.cli("transfer", "issue", str(pid_a), "--to", "110100", "--out", str(voucher))
    assert unknown.returncode == 2 and "TRANSFER_CITY_UNKNOWN" in unknown.stderr and not voucher.exists()

    issued = world.a.cli("transfer", "issue", str(pid_a), "--to", B_CITY, "--out", str(voucher), "--pdf", str(pdf),
                         "--json")
    assert issued.returncode == 0, issued.stderr
    case = json.loads(issued.stdout)[0]
    no = case["voucher_no"]
    assert case["status"] == "issued" and pdf.read_bytes().startswith(b"%PDF")
    assert json.loads(voucher.read_bytes())["body"]["voucher_no"] == no

    applied = world.b.cli("transfer", "apply", str(voucher), "--json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)[0]["status"] == "applied"
    again = world.b.cli("transfer", "apply", str(voucher))
    assert again.returncode == 2 and "TRANSFER_DUPLICATE" in again.stderr

    confirmed = world.a.cli("transfer", "confirm", no, "--json")
    assert confirmed.returncode == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)[0]["status"] == "completed"
    shown = world.b.cli("transfer", "show", no, "--json")
    assert json.loads(shown.stdout)[0]["status"] == "credited"
    listed = json.loads(world.a.cli("transfer", "list", "--person", str(pid_a), "--json").stdout)
    assert [c["voucher_no"] for c in listed] == [no]
    for centre in (world.a, world.b):
        report = centre.cli("transfer", "reconcile", "--json")
        assert report.returncode == 0, report.stdout + report.stderr
        assert json.loads(report.stdout)["agrees"]
