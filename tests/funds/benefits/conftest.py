"""A city per test in a database of its own, cloned from one migrated template per backend (PostgreSQL
``CREATE DATABASE … TEMPLATE``, a SQLite file copy): month runs see the whole database, and migrating a new one
for each test costs seconds. The same recipe as tests/funds/contributions/conftest.py."""

from __future__ import annotations

import pytest

from support.city import Backend, City, build_city


@pytest.fixture(scope="session")
def _benefit_template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    db.dispose()
    return db.url, city


@pytest.fixture
def benefit_city(backend: Backend, _benefit_template: tuple[str, City]) -> City:
    url, city = _benefit_template
    db = backend.clone_database(url)
    return City(db, city.admin, city.supervisor, city.counter, city.other_counter)
