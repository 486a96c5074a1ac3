"""``sscard transition …`` as the bureau's host runs it (a subprocess against the test database): the shipped
legacy card file imported (a table by default, the same result as JSON under ``--json``), imported again refused
whole with its code, the report written as CSV and PDF and reconciled, the exceptions queue masked, a queued
card resolved and carried, and the window in effect."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from test_transition_example import HOLDERS, SAMPLE

from sscard import clock
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")


def _cli(city: City, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false", "COLUMNS": "250"}
    return subprocess.run([SSCARD, "transition", *args, "--operator", "t-admin"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_transition_from_the_command_line(fresh_city: City, tmp_path: Path) -> None:
    city = fresh_city
    for number, name in HOLDERS:
        registry.register(city.db, city.counter, PersonIn(id_number=number, name=name, region_code="441802"))

    imported = _cli(city, "import", str(SAMPLE), "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert (result["file_id"], result["line_count"], result["carried_count"], result["exception_count"]) == \
        ("GFMED-20261130-01", 6, 4, 2)
    again = _cli(city, "import", str(SAMPLE))
    assert again.returncode == 2 and "LEGACY_FILE_DUPLICATE" in again.stderr, (again.stdout, again.stderr)

    shown = _cli(city, "report", "GFMED-20261130-01", "--csv", str(tmp_path / "r.csv"), "--pdf",
                 str(tmp_path / "r.pdf"))
    assert shown.returncode == 0, shown.stderr
    assert "GFMED-20261130-01" in shown.stdout and not shown.stdout.lstrip().startswith("{")  # a table
    report = json.loads(_cli(city, "report", "GFMED-20261130-01", "--json").stdout)
    assert report["reconciled"] and report["difference_fen"] == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert "GFMED-20261130-01" in (tmp_path / "r.csv").read_text("utf-8-sig")

    queued = json.loads(_cli(city, "exceptions", "--file-id", "GFMED-20261130-01", "--json").stdout)
    assert [(q["line_no"], q["reason"], q["id_number_masked"]) for q in queued] == [
        (5, "NO_PERSON", "4418**********0058"), (6, "ID_INVALID", "4418**********0065")]
    table = _cli(city, "exceptions")
    assert table.returncode == 0 and "441802193505050058" not in table.stdout  # masked in the table too

    registry.register(city.db, city.counter, PersonIn(id_number="441802193505050058", name="钱七",
                                                      region_code="441802"))
    resolved = _cli(city, "resolve", "GFMED-20261130-01", "5", "--id-number", "441802193505050058", "--json")
    assert resolved.returncode == 0, resolved.stderr
    after = json.loads(_cli(city, "report", "GFMED-20261130-01", "--json").stdout)
    assert after["reconciled"] and after["difference_fen"] == 0
    assert [q["line_no"] for q in json.loads(_cli(city, "exceptions", "--json").stdout)] == [6]

    window = _cli(city, "window", "--json")
    assert window.returncode == 0, window.stderr
    shown_window = json.loads(window.stdout)
    opens, closes = (dt.date.fromisoformat(shown_window[k]) for k in ("opens", "closes"))
    assert shown_window["open_today"] == (opens <= clock.local_date() <= closes)
