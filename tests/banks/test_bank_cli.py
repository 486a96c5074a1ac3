"""``sscard bank …`` run as a real process against a migrated SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SSCARD = str(Path(sys.executable).parent / "sscard")
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bank.db'}"}

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SSCARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert _run("migrate").returncode == 0
    return _run


def test_bank_commands_open_change_and_show_accounts(run: Run) -> None:
    assert run("bank", "open", "ICBC", "5001", "黄敏", "--balance", "300").returncode == 0
    assert json.loads(run("bank", "deposit", "ICBC", "5001", "200", "--json").stdout) == {"balance": 500}
    assert run("bank", "state", "ICBC", "5001", "frozen").returncode == 0
    shown = json.loads(run("bank", "status", "ICBC", "5001", "--json").stdout)
    assert (shown["state"], shown["balance"], shown["holder_name"]) == ("frozen", 500, "黄敏")
    assert json.loads(run("bank", "totals", "ICBC", "--json").stdout) == {"bank_code": "ICBC", "holders": 500,
                                                                          "bureau": 0}
    assert json.loads(run("bank", "sync-cards", "--json").stdout) == {"opened": 0}
    again = run("bank", "open", "ICBC", "5001", "黄敏")
    assert again.returncode == 2 and "SIMBANK_ACCOUNT_EXISTS" in again.stderr
    bad = run("bank", "state", "ICBC", "5001", "melted")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
