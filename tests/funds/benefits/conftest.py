"""A city per test in a database of its own, cloned from one migrated template per backend (PostgreSQL
``CREATE DATABASE … TEMPLATE``, a SQLite file copy): month runs see the whole database, and migrating a new one
for each test costs seconds. The same recipe as tests/funds/contributions/conftest.py."""

from __future__ import annotations

import shutil
import uuid

import pytest

from sscard.db import Database
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
    if backend.name == "sqlite":
        target = backend.tmp / f"benefits-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(url.split("///", 1)[1], target)
        new_url = f"sqlite:///{target}"
    else:
        assert backend.admin is not None
        name = f"sscard_test_{uuid.uuid4().hex[:12]}"
        with backend.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
        backend.created.append(name)
        new_url = str(backend.admin.url.set(database=name).render_as_string(hide_password=False))
    db = Database(new_url)
    backend.handles.append(db)
    return City(db, city.admin, city.supervisor, city.counter, city.other_counter)
