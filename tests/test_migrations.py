"""Every migration against the models, on SQLite and PostgreSQL.

- At head the schema is the models' (alembic's autogenerate comparison, types included), but for the two
  differences the migrations keep on SQLite on purpose (below).
- Each migration goes up from its predecessor, down again and up again: the downgrade leaves exactly the
  predecessor's schema (tables, columns, keys, indexes, CHECKs, triggers, functions, views) and row counts, and
  the second upgrade exactly the first one's. Where a migration seeds data, the seeded values are checked after
  both upgrades.

Data migrations with rules of their own keep their own tests next to their domain:
tests/auth/test_auth_migration.py (0010_auth seals TOTP secrets, turns permanent locks into temporary ones and
unseals on the way down) and tests/audit/test_keyed_chain.py (a chain written before 0010_audit stays valid and
the keyed part commits to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import sscard.models  # noqa: F401  (registers every table on Base.metadata)
from sscard import migrate
from sscard.db import Base
from support.city import Backend, raw_engine

SCRIPTS = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
REVISIONS = [(script.revision, str(script.down_revision or "base")) for script in reversed(list(
    SCRIPTS.walk_revisions()))]

# (operation, table, columns) of the autogenerate entries SQLite keeps on purpose:
SQLITE_ONLY = {
    # 0001: SQLite cannot add a constraint to an existing table; the cycle cards ↔ applications keeps this one
    # foreign key PostgreSQL-only.
    ("add_fk", "applications", ("old_card_id",)),
    # 0009: on PostgreSQL the UNIQUE on pending_id became the models' partial unique index; on SQLite it stays
    # part of the append-only journal's table definition (the same rule: NULLs never collide).
    ("remove_constraint", "ledger_transfers", ("pending_id",)),
    ("add_index", "ledger_transfers", ("pending_id",)),
}

# What a migration seeds, checked after it ran (each query's result as a list of rows' first column).
SEEDED: dict[str, list[tuple[str, list[Any]]]] = {
    "0003": [("SELECT code FROM cooperating_banks ORDER BY code", ["ABC", "BOC", "CCB", "CGB", "ICBC", "QYRCB"]),
             ("SELECT value FROM policy_parameters WHERE name = 'card.seal_unactivated_months'", ["6"])],
    "0006": [("SELECT value FROM policy_parameters WHERE name = 'benefits.certification_months'", ["12"])],
    "0008": [("SELECT count(*) FROM policy_parameters WHERE name LIKE 'portal.%'", [3])],
    # 0010_auth adds the portal's lockout parameters beside the operators'.
    "0010_auth": [("SELECT count(*) FROM policy_parameters WHERE name LIKE 'portal.%'", [6]),
                  ("SELECT value FROM policy_parameters WHERE name = 'auth.min_password_length'", ["12"])],
    # Every fee rate seeded so far becomes version 1.
    "0010_history": [("SELECT count(*) FROM fee_rates WHERE version = 1", [6])],
    "0011_health": [("SELECT count(*) FROM policy_parameters WHERE name LIKE 'health.%'", [3]),
                    ("SELECT count(*) FROM health_sensitive_policies", [1])],
    "0012_faces_portal": [("SELECT value FROM policy_parameters WHERE name = 'portal.certificate_valid_days'",
                           ["90"])],
    "0011_ecard": [("SELECT value FROM policy_parameters WHERE name LIKE 'ecard.%' ORDER BY name", ["5", "60", "3"])],
    "0012_transition": [("SELECT value FROM policy_parameters WHERE name LIKE 'transition.%' ORDER BY name",
                         ["20260101", "20270630"])],
    "0012_treasury": [("SELECT value FROM policy_parameters WHERE name LIKE 'treasury.%' ORDER BY name",
                       ["360", "3"])],
    "0012_transfer": [("SELECT value FROM policy_parameters WHERE name LIKE 'transfer.%' ORDER BY name",
                       ["250", "1200"])],
    "0013_jobs": [("SELECT value FROM policy_parameters WHERE name LIKE 'employment.%' ORDER BY name",
                   ["200000", "1000000", "24", "180000"])],
    "0015_feeds": [("SELECT value FROM policy_parameters WHERE name IN ('benefits.funeral_grant_fen', "
                    "'benefits.survivor_grant_months') ORDER BY name", ["300000", "6"])],
}


# Columns a downgrade adds back with a server default (to fill the rows that exist), where the predecessor had
# none; the default is the value the application writes, so only the DDL differs.
DOWNGRADE_DEFAULTS: dict[str, set[tuple[str, str]]] = {
    "0010_auth": {("operators", "failed_logins"), ("operator_totp", "failed"), ("portal_accounts", "failed_logins"),
                  ("portal_accounts", "locked")},
}


def test_every_migration_is_checked() -> None:
    assert REVISIONS[0] == ("0001", "base") and REVISIONS[-1][0] == SCRIPTS.get_current_head()
    assert set(SEEDED) | set(DOWNGRADE_DEFAULTS) <= {revision for revision, _ in REVISIONS}


def test_head_matches_the_models(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url)
    engine = raw_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    allowed = SQLITE_ONLY if backend.name == "sqlite" else set()
    assert [entry for entry in diff if _describe(entry) not in allowed] == []


class Walk:
    """One database per backend that the tests move along the chain of revisions (a test at any revision first
    brings it to its predecessor, so order and selection of the tests do not matter), with the state seen right
    after each first upgrade kept."""

    def __init__(self, url: str) -> None:
        self.url, self.engine = url, raw_engine(url)
        self.at = "base"
        self.seen: dict[str, dict[str, Any]] = {}

    def go(self, revision: str) -> None:
        if _index(revision) < _index(self.at):
            migrate.downgrade(self.url, revision)
        else:
            migrate.upgrade(self.url, revision)
        self.at = revision

    def state(self) -> dict[str, Any]:
        return _state(self.engine)


@pytest.fixture(scope="module")
def walk(backend: Backend) -> Iterator[Walk]:
    walk = Walk(backend.new_url())
    yield walk
    walk.engine.dispose()


@pytest.mark.parametrize(("revision", "down_revision"), REVISIONS, ids=[r for r, _ in REVISIONS])
def test_the_migration_goes_down_to_its_predecessor_and_up_again(walk: Walk, revision: str,
                                                                 down_revision: str) -> None:
    walk.go(down_revision)
    before = walk.seen.get(down_revision) or walk.state()
    walk.go(revision)
    after = walk.seen[revision] = walk.state()
    assert after != before
    _check_seeds(walk.engine, revision)
    walk.go(down_revision)
    assert _comparable(walk.state(), revision) == _comparable(before, revision)
    walk.go(revision)
    assert walk.state() == after
    _check_seeds(walk.engine, revision)


def _index(revision: str) -> int:
    return -1 if revision == "base" else [r for r, _ in REVISIONS].index(revision)


def _comparable(state: dict[str, Any], revision: str) -> dict[str, Any]:
    """The state with the server defaults a downgrade leaves on purpose taken out (see DOWNGRADE_DEFAULTS)."""
    columns = DOWNGRADE_DEFAULTS.get(revision, set())
    if not columns:
        return state
    tables = {table: {**info, "columns": sorted((c[0], c[1], c[2], "—") if (table, c[0]) in columns else c
                                                for c in info["columns"])}
              for table, info in state["tables"].items()}
    return {**state, "tables": tables}


def _check_seeds(engine: sa.Engine, revision: str) -> None:
    with engine.connect() as conn:
        for query, expected in SEEDED.get(revision, []):
            assert list(conn.execute(sa.text(query)).scalars()) == expected, query


def _state(engine: sa.Engine) -> dict[str, Any]:
    """The schema as the database reports it, and the row count of every table (alembic's own left out)."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = {}
        for name in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            tables[name] = {
                "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                                  for c in inspector.get_columns(name)),
                "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
                "foreign_keys": sorted((str(fk["name"]), tuple(fk["constrained_columns"]), fk["referred_table"],
                                        tuple(fk["referred_columns"])) for fk in inspector.get_foreign_keys(name)),
                "indexes": sorted((str(i["name"]), tuple(str(c) for c in i["column_names"]), bool(i["unique"]),
                                   tuple(sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items())))
                                  for i in inspector.get_indexes(name)),
                "unique": sorted((str(u["name"]), tuple(u["column_names"]))
                                 for u in inspector.get_unique_constraints(name)),
                "checks": sorted((str(c["name"]), c["sqltext"]) for c in inspector.get_check_constraints(name)),
                "rows": conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one(),
            }
        return {"tables": tables, "views": sorted(inspector.get_view_names()), **_triggers_and_functions(conn)}


def _triggers_and_functions(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    if conn.dialect.name == "sqlite":
        return {"triggers": sorted(tuple(row) for row in conn.execute(sa.text(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")))}
    return {
        "triggers": sorted(tuple(row) for row in conn.execute(sa.text(
            "SELECT event_object_table, trigger_name, event_manipulation, action_timing, action_statement "
            "FROM information_schema.triggers WHERE trigger_schema = 'public'"))),
        "functions": sorted(tuple(row) for row in conn.execute(sa.text(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"))),
        "types": sorted(tuple(row) for row in conn.execute(sa.text(
            "SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')"))),
        "sequences": [(name,) for name in sorted(sa.inspect(conn).get_sequence_names())],
    }


def _describe(entry: Any) -> tuple[str, str, tuple[str, ...]]:
    """(operation, table, columns) of one autogenerate entry (a tuple; modify_* entries come as lists)."""
    item = entry[0] if isinstance(entry, list) else entry
    operation, subject = item[0], item[1]
    if isinstance(subject, sa.Table):
        return operation, subject.name, ()
    table = getattr(subject, "table", None)
    columns = tuple(c.name for c in getattr(subject, "columns", []))
    if table is None and isinstance(item[2], str):  # modify_* entries: (op, schema, table, column, …)
        return operation, item[2], (str(item[3]),)
    return operation, getattr(table, "name", ""), columns
