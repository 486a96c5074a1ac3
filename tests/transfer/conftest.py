"""Two centres, one on each database, for the whole session (tests/transfer/transfer_world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from transfer_world import World, start_world

from support.city import IN_CI, PG_URL, Backend, _pg_admin


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    admin = _pg_admin()
    if admin is None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL does not answer at {PG_URL}")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    pg = Backend("postgres", tmp_path_factory.mktemp("transfer-pg"), admin)
    lite = Backend("sqlite", tmp_path_factory.mktemp("transfer-sqlite"))
    try:
        yield from start_world(pg, lite, tmp_path_factory.mktemp("transfer-centres"))
    finally:
        pg.close()
        lite.close()
