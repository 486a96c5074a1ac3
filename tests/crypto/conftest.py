"""Registers the ``slow`` marker for long known-answer tests (they still run by default)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running known-answer test (runs by default; -m 'not slow')")
