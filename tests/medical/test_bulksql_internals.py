"""``sscard.bulksql``'s prebuilt statements (the settlement path) read SQLAlchemy's compiled form through private
attributes (``bulksql.compiled_parts``). These tests fail loudly when SQLAlchemy is outside the range
pyproject.toml pins or when what those internals give changes: a dropped bind processor or default would
otherwise store wrong values silently."""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from packaging.requirements import Requirement
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from sscard import bulksql
from sscard.db import UtcDateTime, utcnow
from support.city import City, postgres_only

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
DIALECTS = [postgresql.psycopg.dialect(), sqlite.dialect()]  # type: ignore[no-untyped-call]



def _probe(name: str) -> Table:
    return Table(name, MetaData(), Column("id", Integer, primary_key=True), Column("name", String(40)),
                 Column("at", UtcDateTime(), default=utcnow, onupdate=utcnow), Column("n", Integer, default=7))


PROBE = _probe("bulksql_probe")


def _compiled(stmt: object, names: set[str], dialect: object) -> SQLCompiler:
    compiled = stmt.compile(dialect=dialect, column_keys=sorted(names))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    return compiled


def test_sqlalchemy_is_the_version_pyproject_pins() -> None:
    wanted = next(Requirement(r) for r in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
                  if Requirement(r).name.lower() == "sqlalchemy")
    assert wanted.specifier.contains(sqlalchemy.__version__), (
        f"SQLAlchemy {sqlalchemy.__version__} is outside {wanted.specifier}, the range sscard.bulksql was tested on:"
        " check bulksql.compiled_parts against the new internals, then move the pin")


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_an_insert_gives_its_bind_processors_and_python_defaults(dialect: object) -> None:
    stmt = insert(PROBE).inline()  # no implicit RETURNING of the key
    parts = bulksql.compiled_parts(_compiled(stmt, {"name"}, dialect), frozenset({"name"}))
    assert not parts.returns_rows
    defaults = dict(parts.defaults)
    assert set(defaults) == {"at", "n"}  # both Python-side defaults of the columns not given
    assert defaults["n"]() == 7
    made = defaults["at"]()
    assert isinstance(made, dt.datetime) and made.tzinfo is not None
    process = parts.processors["at"]  # UtcDateTime's processor, without which a naive time would be stored
    with pytest.raises(ValueError, match="naive"):
        process(dt.datetime(2026, 1, 1))
    shanghai = dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert process(shanghai) == process(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # stored in UTC


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_an_update_gives_its_onupdate_and_the_values_bound_in_the_statement(dialect: object) -> None:
    stmt = update(PROBE).where(PROBE.c.id == bindparam("b_id"), PROBE.c.name != literal("gone")).values(
        name=bindparam("b_name"))
    parts = bulksql.compiled_parts(_compiled(stmt, {"b_id", "b_name"}, dialect), frozenset({"b_id", "b_name"}))
    assert [key for key, _ in parts.defaults] == ["at"]  # the onupdate
    assert list(parts.fixed.values()) == ["gone"]  # the literal, given at every execution


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_returned_columns_are_seen_and_those_that_need_processing_refused(dialect: object) -> None:
    plain = select(PROBE.c.id, PROBE.c.name).where(PROBE.c.id == bindparam("id"))
    assert bulksql.compiled_parts(_compiled(plain, {"id"}, dialect), frozenset({"id"})).returns_rows
    timed = select(PROBE.c.at).where(PROBE.c.id == bindparam("id"))
    with pytest.raises(TypeError, match="needs result processing"):
        bulksql.compiled_parts(_compiled(timed, {"id"}, dialect), frozenset({"id"}))
    expanding = select(PROBE.c.id).where(PROBE.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(TypeError, match="expanding"):
        bulksql.compiled_parts(_compiled(expanding, {"ids"}, dialect), frozenset({"ids"}))


@postgres_only  # the driver-connection path is PostgreSQL's; SQLite runs the statements through SQLAlchemy
def test_a_prebuilt_insert_stores_what_sqlalchemy_would(city: City) -> None:
    table = _probe(f"bulksql_probe_{uuid.uuid4().hex[:8]}")
    table.create(city.db.engine)
    try:
        before = utcnow()
        with city.db.unit_of_work() as s:
            bulksql.execute(s, insert(table), {"id": 1, "name": "raw"})
            s.execute(insert(table), {"id": 2, "name": "orm"})
            rows = {r.name: r for r in s.execute(select(table).order_by(table.c.id))}
        assert rows["raw"].n == rows["orm"].n == 7
        for row in rows.values():
            assert row.at.tzinfo is not None and before <= row.at <= utcnow()
    finally:
        table.drop(city.db.engine)
