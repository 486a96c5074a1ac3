"""A fresh city per test, cloned from one migrated template per backend (a PostgreSQL ``TEMPLATE`` copy or a
SQLite file copy): month runs see the whole database, so each test needs its own, and migrating one each time
would cost seconds."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable

import pytest

from sscard.db import Database
from support.city import Backend, City, build_city


@pytest.fixture(scope="session")
def _template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    db.dispose()
    return db.url, city


def _clone(backend: Backend, template: tuple[str, City]) -> City:
    url, city = template
    if backend.name == "sqlite":
        source = url.split("///", 1)[1]
        target = backend.tmp / f"contrib-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(source, target)
        new_url = f"sqlite:///{target}"
    else:
        assert backend.admin is not None
        name = f"sscard_test_{uuid.uuid4().hex[:12]}"
        source_name = url.rsplit("/", 1)[1]
        with backend.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"')
        backend.created.append(name)
        new_url = str(backend.admin.url.set(database=name).render_as_string(hide_password=False))
    db = Database(new_url)
    backend.handles.append(db)
    return City(db, city.admin, city.supervisor, city.counter, city.other_counter)


@pytest.fixture
def month_city(backend: Backend, _template: tuple[str, City]) -> City:
    """A city in a database of its own (a copy of the migrated template with its operators)."""
    return _clone(backend, _template)


@pytest.fixture
def new_month_city(backend: Backend, _template: tuple[str, City]) -> Callable[[], City]:
    """Make such cities on demand (one per hypothesis example)."""
    return lambda: _clone(backend, _template)
