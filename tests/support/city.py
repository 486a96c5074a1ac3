"""Test databases (SQLite files, fresh PostgreSQL databases) and a small city of operators."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from sscard import migrate
from sscard.access import SYSTEM_ACTOR, Actor, Role
from sscard.auth import service as auth
from sscard.db import Database

PG_URL = os.environ.get("SSCARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "test-password-1"
# For a test of a PostgreSQL-only path (e.g. the ledger's hot path): runs on the postgres backend alone, skipped
# when no server answers, failed under CI=true (tests/conftest.py's ``backend``).
postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
# Every Database the tests open; tests/conftest.py closes the pools of those a test opened once it ends, so
# idle connections do not pile up to PostgreSQL's max_connections over a long run.
HANDLES: list[Database] = []


def _driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def raw_engine(url: str) -> sa.Engine:
    """A plain SQLAlchemy engine on a test database URL (psycopg for PostgreSQL), for tests that look at the
    schema or the rows under the application (migrations); the caller disposes of it."""
    return sa.create_engine(_driver_url(url))


def _pg_admin() -> sa.Engine | None:
    engine = sa.create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


@dataclass
class Backend:
    """Creates migrated databases of one kind and drops them at the end."""

    name: str
    tmp: Path
    admin: sa.Engine | None = None

    def __post_init__(self) -> None:
        self.created: list[str] = []
        self.handles: list[Database] = []

    def new_url(self) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp / f'sscard-{uuid.uuid4().hex[:8]}.db'}"
        assert self.admin is not None
        name = f"sscard_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return str(self.admin.url.set(database=name).render_as_string(hide_password=False))

    def new_database(self) -> Database:
        url = self.new_url()
        migrate.upgrade(url)
        return self._open(url)

    def clone_database(self, template_url: str) -> Database:
        """A database of its own, copied from a migrated template (PostgreSQL ``TEMPLATE``, or a SQLite file
        copy): cheaper than migrating a new one. The template must have no open connections."""
        if self.name == "sqlite":
            target = self.tmp / f"sscard-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(template_url.split("///", 1)[1], target)
            return self._open(f"sqlite:///{target}")
        assert self.admin is not None
        name = f"sscard_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"')
        self.created.append(name)
        return self._open(str(self.admin.url.set(database=name).render_as_string(hide_password=False)))

    def _open(self, url: str) -> Database:
        db = Database(url)
        self.handles.append(db)
        HANDLES.append(db)
        return db

    def close(self) -> None:
        for db in self.handles:
            db.dispose()
        if self.admin is not None:
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


@dataclass
class City:
    """A migrated database with outlets and one operator per role."""

    db: Database
    admin: Actor
    supervisor: Actor
    counter: Actor
    other_counter: Actor  # at another outlet

    @property
    def dialect(self) -> str:
        return self.db.dialect


def build_city(db: Database) -> City:
    auth.create_outlet(db, SYSTEM_ACTOR, "T01", "清城测试网点", "441802", "hrss")
    auth.create_outlet(db, SYSTEM_ACTOR, "T02", "英德测试网点", "441881", "bank", "ICBC")
    made = {}
    for username, role, outlet in (("t-admin", Role.ADMIN, None), ("t-super", Role.SUPERVISOR, "T01"),
                                   ("t-counter", Role.COUNTER, "T01"), ("t-counter2", Role.COUNTER, "T02")):
        made[username] = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, username, username, role, PASSWORD,
                                                            outlet))
    return City(db, made["t-admin"], made["t-super"], made["t-counter"], made["t-counter2"])


def clone_city(backend: Backend, template: tuple[str, City]) -> City:
    """A city in a database of its own: a copy of a migrated template database (``Backend.clone_database``)
    with the template's operators."""
    url, city = template
    return City(backend.clone_database(url), city.admin, city.supervisor, city.counter, city.other_counter)
