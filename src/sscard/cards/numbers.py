"""Card numbers (社会保障卡卡号, AAZ500): 9 characters, 'A' + 7 digits + a check character.

No public specification of the card-number check was found (shared/research/domain_rules.md §6.3), so the
format is ours: a GB 11714-style MOD 11 check with weights 3 7 9 10 5 8 4 2 over the first eight characters
(letters count 10–35). Other systems must treat the number as opaque.
"""

from __future__ import annotations

WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PREFIX = "A"
CAPACITY = 10_000_000  # 7 digits: room for 2.5× the city's 4 million cards


def _value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def check_char(first8: str) -> str:
    c = 11 - sum(_value(ch) * w for ch, w in zip(first8, WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def format_card_no(serial: int) -> str:
    if not 0 < serial < CAPACITY:
        raise ValueError("card-number pool exhausted")
    body = f"{PREFIX}{serial:07d}"
    return body + check_char(body)


def is_valid_card_no(value: str) -> bool:
    return (len(value) == 9 and value[0].isalpha() and value[1:8].isdigit()
            and check_char(value[:8]) == value[8])
