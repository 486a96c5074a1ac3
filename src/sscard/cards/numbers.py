"""Card numbers (社会保障卡卡号, AAZ500): 9 characters, 'A' + 7 serial characters + a check character.

No public specification of the card-number check was found (shared/research/domain_rules.md §6.3), so the
format is ours: a GB 11714-style MOD 11 check with weights 3 7 9 10 5 8 4 2 over the first eight characters
(letters count 10–35). Other systems must treat the number as opaque.

The serial of a new card is random (``new_card_no``): 7 characters of 0-9 A-Z drawn by ``secrets``, about 7.8 ×
10^10 numbers, so with the city's 4 million cards a guessed number hits a card about once in 20,000 tries
(the old sequential numbers, ``A`` + 7 digits counted up, hit almost every time). Numbers already issued are
kept as they are and stay valid; a new one is drawn again until it is free, and the unique constraint on
``cards.card_no`` holds if two drawers ever race to the same one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PREFIX = "A"
CAPACITY = 10_000_000  # 7 digits: the sequential numbers of cards issued before random serials
SERIAL_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SERIAL_LENGTH = 7
_MAX_DRAWS = 64


def _value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def check_char(first8: str) -> str:
    c = 11 - sum(_value(ch) * w for ch, w in zip(first8, WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def format_card_no(serial: int) -> str:
    """The sequential form (cards issued before random serials, fixtures): ``A`` + the serial in 7 digits."""
    if not 0 < serial < CAPACITY:
        raise ValueError("card-number pool exhausted")
    body = f"{PREFIX}{serial:07d}"
    return body + check_char(body)


def random_card_no() -> str:
    """A card number with a random serial (not derived from anything: nothing to enumerate)."""
    body = PREFIX + "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))
    return body + check_char(body)


def new_card_no(taken: Callable[[str], bool]) -> str:
    """A random card number that ``taken`` says is free (drawn again, at most a few dozen times, if not)."""
    for _ in range(_MAX_DRAWS):
        candidate = random_card_no()
        if not taken(candidate):
            return candidate
    raise ValueError("card-number pool exhausted")  # pragma: no cover - 7.8e10 numbers


def is_valid_card_no(value: str) -> bool:
    """Sequential (``A`` + 7 digits) and random (``A`` + 7 of 0-9 A-Z) numbers, with their check character."""
    return (len(value) == 9 and value[0].isalpha() and value.isascii()
            and all(ch in SERIAL_ALPHABET for ch in value[1:8]) and check_char(value[:8]) == value[8])
