"""sscard.money.yuan: the one formatter of fen as yuan — exact for every integer, sign and thousands included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sscard.money import yuan


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_yuan_is_the_fen_exactly(fen: int) -> None:
    text = yuan(fen)
    whole, cents = text.split(".")
    assert len(cents) == 2 and int(whole.replace(",", "").replace("-", "") + cents) == abs(fen)
    assert text.startswith("-") == (fen < 0)


def test_yuan_examples() -> None:
    assert [yuan(f) for f in (0, 5, -5, 123456, -100, None)] == ["0.00", "0.05", "-0.05", "1,234.56", "-1.00", "-"]
