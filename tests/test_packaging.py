"""The wheel ships every file the code reads at run time: each ``package-data`` pattern in pyproject.toml
matches something, and every file under src/sscard that is not a module of a package is matched by one."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "sscard"


def _patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["setuptools"]["package-data"]["sscard"])


def _data_files() -> set[Path]:
    """Files setuptools does not pick up as modules: anything but .py, and .py outside a package."""
    found = set()
    for path in PACKAGE.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.suffix == ".py" and (path.parent / "__init__.py").exists():
            continue
        found.add(path)
    return found


def test_every_package_data_pattern_names_files_that_exist() -> None:
    empty = [pattern for pattern in _patterns() if not any(p.is_file() for p in PACKAGE.glob(pattern))]
    assert empty == []


def test_every_data_file_is_shipped() -> None:
    shipped = {p for pattern in _patterns() for p in PACKAGE.glob(pattern) if p.is_file()}
    assert sorted(str(p.relative_to(PACKAGE)) for p in _data_files() - shipped) == []
