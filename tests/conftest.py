"""Shared fixtures: a migrated database per backend (SQLite file and a fresh PostgreSQL database), operators.

PostgreSQL: SSCARD_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is used to create a
database of our own (``sscard_test_<random>``) that is dropped at the end. No server: the PostgreSQL half is
skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import os

# The suite runs in dev mode (public test secrets, a client-chosen clock for jobs): set before sscard is imported,
# and inherited by every `sscard` subprocess the tests start.
os.environ["SSCARD_MODE"] = "dev"

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.city import HANDLES, IN_CI, PG_URL, Backend, City, _pg_admin, build_city
from support.factories import next_id_number
from support.logscan import scan_log_dir, start_session_log


def pytest_configure(config: pytest.Config) -> None:
    """Every log line of the run (each xdist worker's too) goes to a file in one directory, scanned at the end."""
    start_session_log()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The logs of the whole run must hold no unmasked ID number or card number (checked by the controller,
    after every worker finished); any found fails the run and is shown masked."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    found = scan_log_dir(Path(os.environ["SSCARD_TEST_LOG_DIR"]))
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"UNMASKED IDENTIFIERS IN THE LOGS OF THIS RUN: {len(found)} lines, e.g.:", red=True)
            for line in found[:10]:
                reporter.write_line(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
