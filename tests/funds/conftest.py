"""One migrated template city per backend for the funds tests (benefits and contributions): their month runs
see the whole database, so each test gets a database of its own, cloned from this template (PostgreSQL
``CREATE DATABASE … TEMPLATE``, a SQLite file copy) instead of migrating a new one, which costs seconds."""

from __future__ import annotations

import pytest

from support.city import Backend, City, build_city


@pytest.fixture(scope="session")
def funds_template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    db.dispose()
    return db.url, city

