"""A fresh city per test, cloned from one migrated template per backend (a PostgreSQL ``TEMPLATE`` copy or a
SQLite file copy): month runs see the whole database, so each test needs its own, and migrating one each time
would cost seconds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.city import Backend, City, build_city


@pytest.fixture(scope="session")
def _template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    db.dispose()
    return db.url, city


def _clone(backend: Backend, template: tuple[str, City]) -> City:
    url, city = template
    return City(backend.clone_database(url), city.admin, city.supervisor, city.counter, city.other_counter)


@pytest.fixture
def month_city(backend: Backend, _template: tuple[str, City]) -> City:
    """A city in a database of its own (a copy of the migrated template with its operators)."""
    return _clone(backend, _template)


@pytest.fixture
def new_month_city(backend: Backend, _template: tuple[str, City]) -> Callable[[], City]:
    """Make such cities on demand (one per hypothesis example)."""
    return lambda: _clone(backend, _template)
