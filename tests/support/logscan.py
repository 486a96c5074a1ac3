"""The test run's logs: every process of the run writes its log lines to a file of one directory
(``SSCARD_TEST_LOG_DIR``), and the run fails if any line holds an unmasked ID number or card number."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from sscard.api.logs import configure_logging
from sscard.cards.numbers import is_valid_card_no
from sscard.registry.idnumber import check_digit

LOG_DIR_ENV = "SSCARD_TEST_LOG_DIR"
SESSION_LOG: list[Path] = []  # this process's log file, once start_session_log ran
# What an unmasked identifier looks like: 18 digits whose check digit holds, 15 digits with a plausible birth
# date, a card number (letter, 7 serial characters, a check character that holds).
EIGHTEEN = re.compile(r"(?<!\d)(\d{17})([\dXx])(?!\d)")
FIFTEEN = re.compile(r"(?<!\d)\d{6}(\d{2})(\d{2})(\d{2})\d{3}(?!\d)")
CARD = re.compile(r"(?<![0-9A-Za-z])[A-Z][0-9A-Z]{7}[0-9X](?![0-9A-Za-z])")


def start_session_log() -> Path:
    """This process's log file (a directory made by the first process, inherited by xdist workers)."""
    directory = os.environ.get(LOG_DIR_ENV)
    if not directory:
        directory = tempfile.mkdtemp(prefix="sscard-test-logs-")
        os.environ[LOG_DIR_ENV] = directory
    path = Path(directory) / f"log-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.txt"
    configure_logging(True, path.open("a", encoding="utf-8", buffering=1))
    SESSION_LOG[:] = [path]
    return path


def unmasked(line: str) -> list[str]:
    """The unmasked identifiers in one log line."""
    hits = [m.group(0) for m in EIGHTEEN.finditer(line) if check_digit(m.group(1)) == m.group(2).upper()]
    hits += [m.group(0) for m in FIFTEEN.finditer(line)
             if 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31]
    hits += [card for card in CARD.findall(line) if is_valid_card_no(card)]
    return hits


def scan(text: str) -> list[str]:
    return [line for line in text.splitlines() if unmasked(line)]


def scan_log_dir(directory: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(directory.glob("log-*.txt")):
        found += [f"{path.name}: {_shown(line)}" for line in scan(path.read_text(encoding="utf-8", errors="replace"))]
    return found


def _shown(line: str) -> str:
    for hit in unmasked(line):
        line = line.replace(hit, hit[:4] + "…")
    return line[:300]
