"""A city per test in a database of its own, cloned from the funds template (tests/funds/conftest.py)."""

from __future__ import annotations

import pytest

from support.city import Backend, City, clone_city


@pytest.fixture
def benefit_city(backend: Backend, funds_template: tuple[str, City]) -> City:
    return clone_city(backend, funds_template)
