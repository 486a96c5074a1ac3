"""Migration 0006 goes up, down to 0005 and up again on both databases; the tables it makes are the models'."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import sscard.models  # noqa: F401  (registers every table on Base.metadata)
from sscard import migrate
from sscard.db import Base
from support.city import Backend

MINE = ("benefit_", "disbursement_")


def test_migration_0006_matches_the_models_and_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(context, Base.metadata)
                    if any(name.startswith(MINE) for name in _tables(d))]
            assert diff == []
        migrate.downgrade(url, "0005")
        with engine.connect() as conn:
            assert not [t for t in sa.inspect(conn).get_table_names() if t.startswith(MINE)]
            assert conn.execute(sa.text("SELECT count(*) FROM policy_parameters "
                                        "WHERE name = 'benefits.certification_months'")).scalar_one() == 0
        migrate.upgrade(url)
        with engine.connect() as conn:
            months = conn.execute(sa.text("SELECT value FROM policy_parameters "
                                          "WHERE name = 'benefits.certification_months'")).scalars().all()
            assert months == ["12"]
    finally:
        engine.dispose()


def _tables(diff: object) -> list[str]:
    """Table names an autogenerate diff entry mentions (entries are tuples, or lists of tuples)."""
    items = diff if isinstance(diff, list) else [diff]
    names = []
    for item in items:
        for part in item:
            table = getattr(part, "table", None)
            name = getattr(part, "name", None) if table is None else table.name
            if isinstance(name, str):
                names.append(name)
    return names
