"""The one place audit payloads are masked: no before/after written to the audit log carries a whole bank
account, ID, card or phone number, whatever the caller passed (PIPL's minimum necessary: the log says *that*
an account changed and which one by its ends, never the number).

Two rules, applied to every string at any depth of the payload:

- a value under an identifier key (``account_no``, ``id_number``, ``card_no``, ``phone`` …) keeps its first and
  last four characters, the middle becomes ``*`` (short values become all ``*``);
- in any other string, a run of 15 or more digits standing alone (an ID number may end in ``X``) is masked the
  same way: an identifier under a key nobody listed, or inside a note, is still caught (hex digests are not:
  their digit runs touch letters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

IDENTIFIER_KEYS = frozenset({
    "account_no", "account_number", "bank_account", "new_account_no", "old_account_no",
    "id_number", "id_no", "idcard", "id_card",
    "card_no", "old_card_no", "new_card_no", "card_number", "pan",
    "phone", "mobile",
})
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{14,}[0-9Xx](?![0-9A-Za-z])")


_SCALARS = frozenset({int, bool, float})


def mask(value: str) -> str:
    """First four and last four characters kept; 8 characters or fewer: all ``*``."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _mask_match(match: re.Match[str]) -> str:
    return mask(match.group(0))


def _value(key: Any, value: Any) -> Any:
    if isinstance(value, str):
        if key in IDENTIFIER_KEYS:
            return mask(value)
        return _LONG_NUMBER.sub(_mask_match, value) if len(value) >= 15 else value
    if isinstance(value, Mapping):
        return {k: _value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(key, v) for v in value]
    return value


def masked(payload: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The payload as the audit log stores it (a new mapping; the caller's is left alone). Keys are matched as
    written (the code's payload keys are lower case). Flat payloads of short strings and numbers — nearly all of
    them, and every one of the bulk writers' — cost one pass over their items."""
    if payload is None:
        return None
    out: dict[str, Any] = {}
    for k, v in payload.items():
        cls = v.__class__
        if cls is str:
            if k in IDENTIFIER_KEYS:
                v = mask(v)
            elif len(v) >= 15:
                v = _LONG_NUMBER.sub(_mask_match, v)
        elif v is None or cls in _SCALARS:
            pass  # the isinstance check against Mapping below is slow: skip it for the common scalars
        elif isinstance(v, Mapping | list | tuple | str):
            v = _value(k, v)
        out[k] = v
    return out
