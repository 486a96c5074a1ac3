"""The one place audit payloads are masked: no before/after written to the audit log carries a whole bank
account, ID, card or phone number, whatever the caller passed (PIPL's minimum necessary: the log says *that*
an account changed and which one by its ends, never the number).

Two rules, applied to every string at any depth of the payload:

- a value under an identifier key (``account_no``, ``id_number``, ``card_no``, ``phone`` …) keeps its first and
  last four characters, the middle becomes ``*`` (short values become all ``*``);
- any other string of 15 or more digits (an ID number ends in a digit or ``X``) is masked the same way: an
  identifier under a key nobody listed is still caught.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IDENTIFIER_KEYS = frozenset({
    "account_no", "account_number", "bank_account", "new_account_no", "old_account_no",
    "id_number", "id_no", "idcard", "id_card",
    "card_no", "old_card_no", "new_card_no", "card_number", "pan",
    "phone", "mobile",
})
_LONG_NUMBER = 15


def mask(value: str) -> str:
    """First four and last four characters kept; 8 characters or fewer: all ``*``."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _looks_like_identifier(value: str) -> bool:
    if len(value) < _LONG_NUMBER:
        return False
    body = value[:-1] if value[-1] in "Xx" else value
    return body.isdigit()


def _value(key: str | None, value: Any) -> Any:
    if isinstance(value, str):
        if (key is not None and key.lower() in IDENTIFIER_KEYS) or _looks_like_identifier(value):
            return mask(value)
        return value
    if isinstance(value, Mapping):
        return {k: _value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(key, v) for v in value]
    return value


def masked(payload: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The payload as the audit log stores it (a new mapping; the caller's is left alone)."""
    if payload is None:
        return None
    return {k: _value(str(k), v) for k, v in payload.items()}
