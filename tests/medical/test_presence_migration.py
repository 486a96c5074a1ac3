"""Migration 0010_presence (the settlement's proof-of-presence columns and the one-use index on card + ATC)
matches the models on both databases, goes down to its predecessor and up again."""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import sscard.models  # noqa: F401  (registers every table on Base.metadata)
from sscard import migrate
from sscard.db import Base
from support.city import Backend

MIGRATION = importlib.import_module("sscard.migrations.versions.0010_presence")
TABLE = "medical_settlements"


def _mentions_table(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item:
            table = getattr(part, "table", None)
            name = getattr(part, "name", None) if table is None else table.name
            if name == TABLE or part == TABLE:
                return True
    return False


def _columns(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(TABLE)}


def test_migration_matches_the_models_and_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert [d for d in compare_metadata(context, Base.metadata) if _mentions_table(d)] == []
            indexes = {i["name"]: i for i in sa.inspect(conn).get_indexes(TABLE)}
            assert indexes["uq_medical_settlements_card_atc"]["unique"]
        migrate.downgrade(url, str(MIGRATION.down_revision))
        assert not {"presence_method", "presence_atc"} & _columns(engine)
        migrate.upgrade(url)
        assert {"presence_method", "presence_atc"} <= _columns(engine)
    finally:
        engine.dispose()
