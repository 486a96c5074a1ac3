"""``sscard settle-trial`` on files that are not a bill, policy or catalogue — /dev/zero, huge, binary,
non-UTF-8, non-JSON, deeply nested, a directory — exits 2 with a coded message, never a traceback, and reads
no more than the bounded size (memory is capped for the process, so an unbounded read would fail)."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
APP = ("import sys, typer; from sscard.cli.settle import settle_trial; app = typer.Typer(); "
       "app.command()(settle_trial); app(sys.argv[1:])")
MEMORY_CAP = 1024 * 1024 * 1024  # address space of the child: far below what reading /dev/zero to the end needs


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", APP, *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False, preexec_fn=_cap)


def _files(tmp: Path) -> dict[str, Path]:
    made = {
        "binary": bytes(range(256)) * 4,
        "latin-1": "{\"bill_no\": \"caf\xe9\"}".encode("latin-1"),
        "not json": b"bill: yes\n",
        "too deep": b"[" * 200_000 + b"]" * 200_000,
        "huge integer": b"{\"total_fen\": " + b"9" * 20_000 + b"}",
        "huge": b"{\"bill_no\": \"" + b"x" * (80 * 1024 * 1024) + b"\"}",
    }
    out = {}
    for name, data in made.items():
        out[name] = tmp / f"{name.replace(' ', '-')}.json"
        out[name].write_bytes(data)
    out["directory"] = tmp
    out["/dev/zero"] = Path("/dev/zero")
    return out


Case = Callable[[Path], tuple[str, ...]]
ROLES: dict[str, tuple[Case, str]] = {
    "bill": (lambda f: (str(f),), "BILL_INVALID"),
    "policy": (lambda f: (str(EXAMPLES / "bill-worked-example.json"), "--policy", str(f)), "POLICY_INVALID"),
    "catalogue": (lambda f: (str(EXAMPLES / "bill-worked-example.json"), "--catalogue", str(f)),
                  "CATALOGUE_INVALID"),
}


@pytest.mark.parametrize("role", ROLES)
def test_bad_files_exit_2_with_their_code_and_no_traceback(tmp_path: Path, role: str) -> None:
    args, code = ROLES[role]
    for name, path in _files(tmp_path).items():
        if role == "catalogue" and name in ("huge", "binary", "latin-1"):
            path = path.rename(path.with_suffix(".csv"))  # the CSV reader's path too
        done = run(*args(path))
        assert done.returncode == 2, (name, done.stderr[-2000:])
        assert code in done.stderr, (name, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and len(done.stderr) < 1000, name


def test_a_trial_bill_priced_ten_to_the_eighteen_exits_2_with_bill_amount_excessive(tmp_path: Path) -> None:
    import json
    bill = json.loads((EXAMPLES / "bill-worked-example.json").read_text("utf-8"))
    bill["lines"] = [{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": 10**18}]
    bill.pop("total_fen", None)
    (tmp_path / "bill.json").write_text(json.dumps(bill), "utf-8")
    done = run(tmp_path / "bill.json")
    assert done.returncode == 2 and "BILL_AMOUNT_EXCESSIVE" in done.stderr, done.stderr
    assert "max_unit_price_fen" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("command", "code"), [("catalogue-import", "CATALOGUE_INVALID"),
                                               ("policy-import", "POLICY_INVALID")])
def test_the_import_commands_read_a_bounded_size_too(tmp_path: Path, command: str, code: str) -> None:
    import os
    sscard = str(Path(sys.executable).parent / "sscard")
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert subprocess.run([sscard, "migrate"], env=env, capture_output=True, timeout=120, check=False).returncode == 0
    done = subprocess.run([sscard, "medical", command, "/dev/zero"], env=env, capture_output=True, text=True,
                          timeout=120, check=False, preexec_fn=_cap)
    assert done.returncode == 2 and code in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
