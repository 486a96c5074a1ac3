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
    added = run("person", "add", id_no, "阳山测试", "441823", "--phone", "13902345678")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["name"] == "阳山测试"

    applied = run("cards", "apply", id_no)
    card_no = json.loads(applied.stdout)["card_no"]
    for status in ("10", "20", "30"):
        assert run("cards", "produce", card_no, status).returncode == 0
    outlet_missing = run("cards", "produce", card_no, "60", "--outlet", "NOPE")
    assert outlet_missing.returncode == 2 and "OUTLET_NOT_FOUND" in outlet_missing.stderr
    shown = json.loads(run("cards", "show", card_no).stdout)
    assert shown["production_status"] == "30"  # the refused step changed nothing
    assert run("audit", "verify").returncode == 0


def test_domain_errors_exit_2_with_the_code(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("person", "add", "441802199001010013", "张三", "441802")
    assert done.returncode == 2
    assert "ID_CHECK_DIGIT_INVALID" in done.stderr and "Traceback" not in done.stderr


def test_jobs_run_reports_counts(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("jobs", "run")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"temporary_losses_lapsed": 0, "unactivated_cards_sealed": 0}


def test_unknown_operator_is_refused(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    done = run("jobs", "run", "--operator", "nobody")
    assert done.returncode == 2 and "OPERATOR_NOT_FOUND" in done.stderr


def test_an_operator_is_disabled_and_enabled_again(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    password = "Lantern-Harbour-Quince-47\n"
    added = run("operator-add", "clerk9", "counter", input_text=password * 2)
    assert added.returncode == 0, added.stderr
    disabled = run("operator", "disable", "clerk9")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout) == {"username": "clerk9", "active": False}
    enabled = run("operator", "enable", "clerk9")
    assert json.loads(enabled.stdout) == {"username": "clerk9", "active": True}
    missing = run("operator", "disable", "nobody")
    assert missing.returncode == 2 and "OPERATOR_NOT_FOUND" in missing.stderr
    assert run("audit", "verify").returncode == 0
