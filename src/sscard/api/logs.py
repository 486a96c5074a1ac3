"""Structured logs with identifiers masked: every line written through structlog or the standard library.

ID numbers (GB 11643: 18 digits, the last one possibly X; the 15-digit form of before 1999) and card
numbers (a letter, 7 serial characters 0-9 A-Z, a check character that holds: ``sscard.cards.numbers``) are
masked wherever they appear in a line — a message, a field, an exception's text or traceback — keeping the
first and last characters (``4418**********123X``) as the user interfaces show them. The mask runs on the
rendered line, so nothing a processor added escapes it.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TextIO

import structlog

from sscard.cards.numbers import is_valid_card_no

# One pass over a line: an 18- or 15-digit run not inside a longer one, or a card number standing alone.
IDENTIFIER = re.compile(r"(?<!\d)\d{15}(?:\d{2}[\dXx])?(?!\d)|(?<![0-9A-Za-z])[A-Z][0-9A-Z]{7}[0-9X](?![0-9A-Za-z])")


def _masked(match: re.Match[str]) -> str:
    value = match.group(0)
    if value[0].isdigit():  # an ID number: 4 + stars + 4, as registry.idnumber.mask
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if not is_valid_card_no(value):  # an upper-case word that only looks like a card number
        return value
    return value[:2] + "*" * (len(value) - 4) + value[-2:]  # a card number: A1*****5X


def mask_text(text: str) -> str:
    """``text`` with every ID number and card number masked."""
    return IDENTIFIER.sub(_masked, text) if len(text) >= 9 else text


def _mask_rendered(_logger: Any, _name: str, line: Any) -> Any:
    """The last structlog processor: the rendered line (a str) masked."""
    return mask_text(line) if isinstance(line, str) else line


class MaskedRecord(logging.LogRecord):
    """Standard-library records (uvicorn, SQLAlchemy, the chip reader) mask their message too."""

    def getMessage(self) -> str:
        return mask_text(super().getMessage())


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record, the traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def processors(json_logs: bool = True) -> list[Any]:
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json_logs else \
        structlog.dev.ConsoleRenderer(colors=False)
    return [structlog.processors.add_log_level, structlog.processors.TimeStamper("iso", utc=True),
            structlog.processors.format_exc_info, renderer, _mask_rendered]


class _MaskingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs once on the root logger."""


def configure_logging(json_logs: bool = True, file: TextIO | None = None) -> None:
    """structlog lines on stdout (or ``file``); the standard library's records through a masking handler."""
    logging.setLogRecordFactory(MaskedRecord)
    root = logging.getLogger()
    if not any(isinstance(h, _MaskingHandler) for h in root.handlers):
        handler = _MaskingHandler(file)
        handler.setFormatter(MaskingFormatter("%(message)s"))
        root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    structlog.configure(processors=processors(json_logs),
                        logger_factory=structlog.PrintLoggerFactory(file) if file else structlog.PrintLoggerFactory(),
                        cache_logger_on_first_use=True)
