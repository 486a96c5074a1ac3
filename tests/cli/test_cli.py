"""The sscard command line, run as a real process against a migrated SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SSCARD = str(Path(sys.executable).parent / "sscard")


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def _run(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SSCARD, *args], env=env, capture_output=True, text=True, timeout=120,
                              input=input_text, check=False)

    assert _run("migrate").returncode == 0
    return _run


def test_person_and_card_commands_walk_the_lifecycle(run: Callable[..., subprocess.CompletedProcess[str]],
                                                     new_id: Callable[..., str]) -> None:
    id_no = new_id(region="441823")
    added = run("person", "add", id_no, "阳山测试", "441823", "--phone", "13902345678", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["name"] == "阳山测试"

    applied = run("cards", "apply", id_no, "--json")
    card_no = json.loads(applied.stdout)["card_no"]
    for status in ("10", "20", "30"):
        assert run("cards", "produce", card_no, status).returncode == 0
    outlet_missing = run("cards", "produce", card_no, "60", "--outlet", "NOPE")
    assert outlet_missing.returncode == 2 and "OUTLET_NOT_FOUND" in outlet_missing.stderr
    shown = json.loads(run("cards", "show", card_no, "--json").stdout)
    assert shown["production_status"] == "30"  # the refused step changed nothing
    assert run("audit", "verify").returncode == 0


def test_domain_errors_exit_2_with_the_code(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("person", "add", "441802199001010013", "张三", "441802")
    assert done.returncode == 2
    assert "ID_CHECK_DIGIT_INVALID" in done.stderr and "Traceback" not in done.stderr


def test_jobs_run_reports_counts(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("jobs", "run", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"temporary_losses_lapsed": 0, "unactivated_cards_sealed": 0}


def test_unknown_operator_is_refused(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("jobs", "run", "--operator", "nobody")
    assert done.returncode == 2 and "OPERATOR_NOT_FOUND" in done.stderr


def test_an_operator_is_disabled_and_enabled_again(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    password = "Lantern-Harbour-Quince-47\n"
    added = run("operator-add", "clerk9", "counter", input_text=password * 2)
    assert added.returncode == 0, added.stderr
    disabled = run("operator", "disable", "clerk9", "--json")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout) == {"username": "clerk9", "active": False}
    enabled = run("operator", "enable", "clerk9", "--json")
    assert json.loads(enabled.stdout) == {"username": "clerk9", "active": True}
    missing = run("operator", "disable", "nobody")
    assert missing.returncode == 2 and "OPERATOR_NOT_FOUND" in missing.stderr
    assert run("audit", "verify").returncode == 0


def test_person_show_masks_the_id_number_unless_full_id_is_asked_and_audited(
        run: Callable[..., subprocess.CompletedProcess[str]], new_id: Callable[..., str], tmp_path: Path) -> None:
    from sscard.access import SYSTEM_ACTOR
    from sscard.audit import service as audit
    from sscard.db import Database
    from sscard.registry.idnumber import mask

    id_no = new_id(region="441802")
    assert run("person", "add", id_no, "林测试", "441802", "--phone", "13902345678").returncode == 0
    card_no = json.loads(run("cards", "apply", id_no, "--json").stdout)["card_no"]
    table = run("person", "show", id_no)
    assert table.returncode == 0, table.stderr
    assert mask(id_no) in table.stdout and id_no not in table.stdout  # e.g. 4418**********1234
    assert "139****5678" in table.stdout and "13902345678" not in table.stdout
    assert card_no in table.stdout and "00 collected" in table.stdout  # the status with its name, not a bare code
    assert not table.stdout.lstrip().startswith("{")
    shape = json.loads(run("person", "show", id_no, "--json").stdout)
    assert shape["id_number"] == mask(id_no) and shape["name"] == "林测试" and shape["sex"] in ("1", "2")
    assert [c["card_no"] for c in shape["cards"]] == [card_no] and shape["cards"][0]["production_status"] == "00"
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    person_id = str(shape["id"])

    def full_reads() -> int:
        return sum(r.action == "person.read_full_id" for r in audit.history(db, SYSTEM_ACTOR, "person", person_id))

    assert full_reads() == 0
    full = run("person", "show", id_no, "--full-id", "--json")
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["id_number"] == id_no and full_reads() == 1
    db.dispose()


def test_person_search_prints_a_table_of_masked_numbers_or_json(
        run: Callable[..., subprocess.CompletedProcess[str]], new_id: Callable[..., str]) -> None:
    from sscard.registry.idnumber import mask

    numbers = [new_id(region="441802") for _ in range(2)]
    for n, id_no in enumerate(numbers):
        assert run("person", "add", id_no, f"搜索测试{n}", "441802").returncode == 0
    table = run("person", "search", "搜索测试")
    assert table.returncode == 0, table.stderr
    assert "2 persons" in table.stdout
    assert all(mask(n) in table.stdout and n not in table.stdout for n in numbers)
    rows = json.loads(run("person", "search", "搜索测试", "--json").stdout)
    assert [r["id_number"] for r in rows] == [mask(n) for n in numbers]
    assert set(rows[0]) == {"id_number", "name", "sex", "birth_date", "region_code", "living_status"}
