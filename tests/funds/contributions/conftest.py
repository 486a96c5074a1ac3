"""A fresh city per test, cloned from the funds template (tests/funds/conftest.py): month runs see the whole
database, so each test needs its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.city import Backend, City, clone_city


@pytest.fixture
def month_city(backend: Backend, funds_template: tuple[str, City]) -> City:
    """A city in a database of its own (a copy of the migrated template with its operators)."""
    return clone_city(backend, funds_template)


@pytest.fixture
def new_month_city(backend: Backend, funds_template: tuple[str, City]) -> Callable[[], City]:
    """Make such cities on demand (one per hypothesis example)."""
    return lambda: clone_city(backend, funds_template)
