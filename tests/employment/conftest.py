"""A migrated template city per backend for the employment tests, whose policy history also holds a later
unemployment benefit amount (from 2026-07-01, loaded before any person exists); each test that runs months gets
a database of its own cloned from it (month runs see the whole database)."""

from __future__ import annotations

import pytest
from employment_policy import LATER_FROM, LATER_MONTHLY_FEN

from sscard.access import SYSTEM_ACTOR
from sscard.policy import service as policy
from support.city import Backend, City, build_city, clone_city


@pytest.fixture(scope="session")
def employment_template(backend: Backend) -> tuple[str, City]:
    db = backend.new_database()
    city = build_city(db)
    policy.load_initial(db, SYSTEM_ACTOR, [policy.InitialValue("employment.ui.monthly_fen", LATER_MONTHLY_FEN,
                                                                LATER_FROM, "test: a later amount")])
    db.dispose()
    return db.url, city


@pytest.fixture
def jobs_city(backend: Backend, employment_template: tuple[str, City]) -> City:
    return clone_city(backend, employment_template)
