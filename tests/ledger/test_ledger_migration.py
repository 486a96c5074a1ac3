"""The 0002 migration creates the ledger tables, and its downgrade removes them, triggers included."""

from __future__ import annotations

import sqlalchemy as sa

from sscard import migrate
from sscard.db import make_engine
from support.city import Backend


def _ledger_tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return sorted(t for t in sa.inspect(engine).get_table_names() if t.startswith("ledger_"))
    finally:
        engine.dispose()


def test_upgrade_to_0002_and_back_to_0001_and_up_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url, "0002")
    assert _ledger_tables(url) == ["ledger_accounts", "ledger_transfers"]
    migrate.downgrade(url, "0001")
    assert _ledger_tables(url) == []
    migrate.upgrade(url, "0002")  # the trigger function was dropped too, or this would fail on PostgreSQL
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO ledger_accounts (code, kind, currency, debits_must_not_exceed_credits, "
                                 "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, "
                                 "credits_pending, version, created_at) VALUES ('a', 'asset', 'CNY', false, false, "
                                 "0, 0, 0, 0, 1, CURRENT_TIMESTAMP)"))
            assert conn.execute(sa.text("SELECT count(*) FROM ledger_accounts")).scalar_one() == 1
    finally:
        engine.dispose()
