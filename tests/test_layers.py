"""The layering contracts of pyproject.toml ([tool.importlinter]) hold for the tree, and each one fails when a
module breaks it: a copy of the package with one offending import per contract is checked the same way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "sscard"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id → (module of the copy, the import appended to it)
VIOLATIONS = {
    "layers": ("registry/service.py", "from sscard.web import pages"),  # a domain reaching up to an interface
    "acyclic": ("registry/service.py", "from sscard.cards import service"),  # cards already imports registry
    "ledger": ("ledger/service.py", "from sscard.medical import models"),  # the ledger knowing a domain
    "pure": ("chip/apdu.py", "import sqlalchemy"),  # the card touching a database
}


def _lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}  # ahead of the editable install's path
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _verdicts(output: str) -> dict[str, str]:
    """Contract name → KEPT | BROKEN, from the report (a long name wraps onto the next line)."""
    flat = " ".join(output.split())
    names = {
        "layers": "Interfaces above composition above domains",
        "acyclic": "No import cycles between the packages of sscard",
        "ledger": "The ledger knows no domain",
        "pure": "The chip and crypto touch no database and no network",
    }
    verdicts = {}
    for key, name in names.items():
        start = flat.find(name)
        assert start >= 0, f"contract {key!r} missing from the report:\n{output}"
        tail = flat[start:]
        kept, broken = tail.find(" KEPT"), tail.find(" BROKEN")
        verdicts[key] = "BROKEN" if broken >= 0 and (kept < 0 or broken < kept) else "KEPT"
    return verdicts


def test_the_tree_keeps_every_layering_contract() -> None:
    result = _lint(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _verdicts(result.stdout) == dict.fromkeys(VIOLATIONS, "KEPT")


def test_each_contract_fails_on_a_violation(tmp_path: Path) -> None:
    copy = tmp_path / "src" / "sscard"
    shutil.copytree(PACKAGE, copy, ignore=lambda _dir, names: [n for n in names if n == "__pycache__"
                                                               or not (n.endswith(".py") or "." not in n)])
    for module, line in VIOLATIONS.values():
        target = copy / module
        target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = _lint(tmp_path / "src")
    assert result.returncode != 0, result.stdout
    assert _verdicts(result.stdout) == dict.fromkeys(VIOLATIONS, "BROKEN"), result.stdout
    # The copy was the one checked: the report names the import only it has.
    assert "sscard.ledger.service -> sscard.medical.models" in result.stdout
