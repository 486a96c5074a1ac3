"""Migration 0008 (portal accounts, sessions, operators' TOTP, the portal's policy parameters) goes down
and up again on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from sscard import migrate
from support.city import Backend

TABLES = {"portal_accounts", "portal_sessions", "operator_totp"}


def _state(url: str) -> tuple[set[str], int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names()) & TABLES
            params = conn.execute(sa.text(
                "SELECT count(*) FROM policy_parameters WHERE name LIKE 'portal.%'")).scalar_one()
    finally:
        engine.dispose()
    return tables, int(params)


def test_migration_0008_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url, "0008")
    assert _state(url) == (TABLES, 3)
    migrate.downgrade(url, "0007")
    assert _state(url) == (set(), 0)
    migrate.upgrade(url)
    assert _state(url) == (TABLES, 6)  # 0010_auth adds the portal's lockout parameters
