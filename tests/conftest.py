"""Shared fixtures: a migrated database per backend (SQLite file and a fresh PostgreSQL database), operators.

PostgreSQL: SSCARD_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is used to create a
database of our own (``sscard_test_<random>``) that is dropped at the end. No server: the PostgreSQL half is
skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.city import HANDLES, IN_CI, PG_URL, Backend, City, _pg_admin, build_city
from support.factories import next_id_number


@pytest.fixture(autouse=True)
def _close_pools_opened_by_the_test() -> Iterator[None]:
    """Close the connection pools of the databases a test opened (its own ``fresh_city``, a module's city made
    during its setup). Each pool keeps up to 10 idle connections; over two thousand tests they would exceed
    PostgreSQL's max_connections. A closed pool reconnects if a later test uses the database again."""
    opened = len(HANDLES)
    yield
    for db in HANDLES[opened:]:
        db.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "postgres":
        admin = _pg_admin()
        if admin is None:
            if IN_CI:
                pytest.fail(f"CI=true but PostgreSQL does not answer at {PG_URL}")
            pytest.skip(f"no PostgreSQL at {PG_URL}")
        be = Backend("postgres", tmp_path_factory.mktemp("pg"), admin)
    else:
        be = Backend("sqlite", tmp_path_factory.mktemp("sqlite"))
    yield be
    be.close()


@pytest.fixture(scope="session")
def city(backend: Backend) -> City:
    """One shared city per backend and test session; tests make their own persons (unique ID numbers)."""
    return build_city(backend.new_database())


@pytest.fixture
def fresh_city(backend: Backend) -> City:
    """A city in a database of its own, for tests that must see (or damage) the whole database."""
    return build_city(backend.new_database())


@pytest.fixture(scope="session")
def sqlite_city(tmp_path_factory: pytest.TempPathFactory) -> City:
    be = Backend("sqlite", tmp_path_factory.mktemp("sqlite-only"))
    return build_city(be.new_database())


@pytest.fixture
def new_id() -> Callable[..., str]:
    return next_id_number
