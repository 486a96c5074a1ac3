"""The three processes of cross-region settlement, one on each database, for the whole session
(tests/support/remote_world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.city import IN_CI, PG_URL, Backend, _pg_admin
from support.remote_world import World, start_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    admin = _pg_admin()
    if admin is None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL does not answer at {PG_URL}")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    pg = Backend("postgres", tmp_path_factory.mktemp("remote-pg"), admin)
    lite = Backend("sqlite", tmp_path_factory.mktemp("remote-sqlite"))
    started = start_world(pg.new_database(), lite.new_database(), tmp_path_factory.mktemp("remote-procs"))
    try:
        yield started
    finally:
        started.stop()
        pg.close()
        lite.close()
