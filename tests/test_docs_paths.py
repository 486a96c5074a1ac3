"""What the docs name exists: every `src/`, `tests/`, `bench/` or `docs/` path in docs/*.md and README.md (a
glob like `tests/*/conftest.py` must match something), every relative Markdown link, and every dotted
`sscard.…` name (a module, or an attribute of one)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
PATH = re.compile(r"(?<![\w./-])((?:src|tests|bench|docs)/[\w./*-]*[\w*])")
LINK = re.compile(r"\]\(([^)#\s]+)")
DOTTED = re.compile(r"(?<![\w./-])(sscard(?:\.\w+)+)")
FILE_SUFFIXES = (".py", ".md", ".json", ".csv", ".txt", ".toml")


def _mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return [(f"{doc.relative_to(ROOT)}:{number}", match.group(1))
            for doc in DOCS for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
            for match in pattern.finditer(line)]


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            if not hasattr(found, part):
                return False
            found = getattr(found, part)
        return True
    return False


def test_the_scan_finds_the_references_it_checks() -> None:
    paths = {path for _, path in _mentions(PATH)}
    assert {"src/sscard/medical", "tests/support/logscan.py", "bench/settlement.py"} <= paths
    assert any(path.endswith("banks.md") for _, path in _mentions(LINK))
    assert _resolves("sscard.funds.month.run_month") and _resolves("sscard.funds.benefits")
    assert not _resolves("sscard.funds.month.no_such_name") and not _resolves("sscard.no_such_module")


def test_every_repository_path_a_doc_names_exists() -> None:
    missing = [(where, path) for where, path in _mentions(PATH) if not any(ROOT.glob(path))]
    assert missing == []


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    broken = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for match in LINK.finditer(line):
                target = match.group(1)
                if "://" not in target and not target.startswith("mailto:") and not (doc.parent / target).exists():
                    broken.append((f"{doc.relative_to(ROOT)}:{number}", target))
    assert broken == []


def test_every_dotted_sscard_name_a_doc_uses_is_a_module_or_an_attribute() -> None:
    unknown = [(where, name) for where, name in _mentions(DOTTED)
               if not name.endswith(FILE_SUFFIXES) and not _resolves(name)]
    assert unknown == []
