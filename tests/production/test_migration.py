"""Migration 0003 goes up, down to 0002 and up again on both databases, seeding the banks and the policy."""

from __future__ import annotations

import sqlalchemy as sa

from sscard import migrate
from support.city import Backend


def test_migration_0003_upgrades_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url)
    migrate.downgrade(url, "0002")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert "cooperating_banks" not in sa.inspect(conn).get_table_names()
        migrate.upgrade(url)
        with engine.connect() as conn:
            banks = conn.execute(sa.text("SELECT code FROM cooperating_banks ORDER BY code")).scalars().all()
            months = conn.execute(sa.text(
                "SELECT value FROM policy_parameters WHERE name = 'card.seal_unactivated_months'")).scalars().all()
    finally:
        engine.dispose()
    assert banks == ["ABC", "BOC", "CCB", "CGB", "ICBC", "QYRCB"] and months == ["6"]
