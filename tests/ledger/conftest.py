"""Fixtures: a per-test book of accounts in the shared city database, or in a database of its own."""

from __future__ import annotations

import pytest

from ledger.books import Books
from support.city import City


@pytest.fixture
def books(city: City) -> Books:
    return Books(city.db)


@pytest.fixture
def fresh_books(fresh_city: City) -> Books:
    return Books(fresh_city.db)
