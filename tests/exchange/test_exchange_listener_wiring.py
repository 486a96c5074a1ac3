"""Subscribed card events depend on ``sscard.exchange.outbox`` having registered its listener with cards (cards
cannot import exchange). Every process that changes cards starts from one of these entry points; in a fresh
interpreter each of them must have registered it."""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY_POINTS = ["sscard.cli.main", "sscard.api.app", "sscard.web"]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_registers_the_outbox_listener(module: str) -> None:
    code = (f"import {module}\nfrom sscard.cards.records import STATUS_LISTENERS\n"
            "print(sorted(f.__module__ + '.' + f.__name__ for f in STATUS_LISTENERS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "['sscard.exchange.outbox._card_changed']"
