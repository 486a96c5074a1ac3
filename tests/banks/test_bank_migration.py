"""Migration 0005 goes up, down to 0004 and up again on both databases; its tables match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sscard import migrate
from sscard.models import Base
from support.city import Backend

TABLES = {"payment_accounts", "simbank_accounts", "simbank_batches", "simbank_calls"}


def test_migration_0005_upgrades_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url, "0005")
    migrate.downgrade(url, "0004")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert not TABLES & set(sa.inspect(conn).get_table_names())
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) >= TABLES
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diff if TABLES & set(_tables(d))]
    assert mine == []


def _tables(entry: object) -> list[str]:
    """Table names an autogenerate diff entry mentions (entries are tuples, or lists of tuples)."""
    found: list[str] = []
    items = entry if isinstance(entry, list) else [entry]
    for item in items:
        for part in item:
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if isinstance(part, str):
                found.append(part)
            if table is not None:
                found.append(getattr(table, "name", ""))
            if name:
                found.append(name)
    return found
