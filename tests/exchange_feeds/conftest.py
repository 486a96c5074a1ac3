"""One migrated template city per backend for the feed tests: the month runs they drive see the whole database,
so each test gets a database of its own, cloned from this template."""

from __future__ import annotations

import pytest

from support.city import Backend, City, build_city, clone_city


@pytest.fixture(scope="session")
def feeds_template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    db.dispose()
    return db.url, city


@pytest.fixture
def feeds_city(backend: Backend, feeds_template: tuple[str, City]) -> City:
    return clone_city(backend, feeds_template)
