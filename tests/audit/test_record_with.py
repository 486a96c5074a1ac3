"""audit.record_with: one record with the head locked by a prebuilt statement and written in one statement with
the caller's rows — chained exactly as ``record`` chains, mixing with ``record`` and ``record_many`` in one
transaction and across transactions, and rolled back with the caller's transaction."""

from __future__ import annotations

import itertools
import uuid
from typing import Any, cast

import psycopg
import pytest
import sqlalchemy as sa

from sscard.audit import service as audit
from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.models import Outlet
from sscard.bulksql import Write
from support.city import City

_OUTLET = sa.insert(cast(sa.Table, Outlet.__table__)).inline()


def _outlet(code: str) -> Write:
    """A caller's own new row (an outlet stands in for any table)."""
    row: dict[str, Any] = {"code": code, "name": "test", "region_code": "441802", "kind": "hrss", "bank_code": None}
    return _OUTLET, row


def _outlets(city: City, codes: list[str]) -> list[str]:
    with city.db.unit_of_work() as s:
        return sorted(s.execute(sa.select(Outlet.code).where(Outlet.code.in_(codes))).scalars())


def _head(city: City) -> tuple[int, str]:
    with city.db.unit_of_work() as s:
        head = s.get_one(AuditHead, 1)
        return head.last_seq, head.last_hash


def _since(city: City, seq: int) -> list[AuditRecord]:
    with city.db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq))
                    .scalars().all())


def test_record_with_chains_like_record_and_mixes_with_it(city: City) -> None:
    seq0, _ = _head(city)
    codes = [f"W{uuid.uuid4().hex[:10]}" for _ in range(3)]
    with city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "w-1", None,
                                                     {"card_no": "440100000000123456", "n": 1}),
                          [_outlet(codes[0])])
    with city.db.unit_of_work() as s:  # after an ORM record in the same transaction, and before another
        audit.record(s, city.counter, "test.one", "card", "o-1")
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "w-2", {"n": 1}, {"n": 2}),
                          [_outlet(codes[2])])
        audit.record_many(s, city.admin, [audit.Entry("test.many", "card", "m-1")])
        audit.record(s, city.counter, "test.one", "card", "o-2")
    with city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "w-3"), [_outlet(codes[1])])
        audit.record(s, city.counter, "test.one", "card", "o-3")
    rows = _since(city, seq0)
    assert [r.entity_id for r in rows] == ["w-1", "o-1", "w-2", "m-1", "o-2", "w-3", "o-3"]
    assert [r.seq for r in rows] == list(range(seq0 + 1, seq0 + 8))
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(rows))
    assert rows[0].operator == "t-admin" and rows[0].role == "admin"
    assert "123456" not in (rows[0].after or "") and '"n":1' in (rows[0].after or "")  # masked as record masks
    assert _head(city) == (rows[-1].seq, rows[-1].hash)
    assert _outlets(city, codes) == sorted(codes)
    assert audit.verify(city.db, city.supervisor).ok


def test_record_with_rolls_back_with_the_callers_transaction(city: City) -> None:
    before = _head(city)
    code = f"G{uuid.uuid4().hex[:10]}"
    with pytest.raises(RuntimeError), city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "gone"), [_outlet(code)])
        raise RuntimeError("the use case fails after its audit record")
    assert _head(city) == before and _outlets(city, [code]) == []
    assert _since(city, before[0]) == []
    assert audit.verify(city.db, city.supervisor).ok


def test_record_with_commit_sends_the_last_write_with_commit_and_keeps_pending_orm_rows(city: City) -> None:
    """``commit=True``: the record, the caller's row and an ORM row still pending in the session all commit
    together (PostgreSQL: in one pipelined round trip with COMMIT); the session's own commit then has nothing
    left to do and the chain goes on from the new head."""
    seq0, _ = _head(city)
    codes = [f"C{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with city.db.unit_of_work() as s:
        s.add(Outlet(code=codes[0], name="pending", region_code="441802", kind="hrss"))
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "c-1"), [_outlet(codes[1])],
                          commit=True)
    with city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "c-2"), commit=True)
    rows = _since(city, seq0)
    assert [r.entity_id for r in rows] == ["c-1", "c-2"]
    assert _head(city) == (rows[-1].seq, rows[-1].hash)
    assert _outlets(city, codes) == sorted(codes)
    assert audit.verify(city.db, city.supervisor).ok


def test_record_with_commit_that_fails_writes_nothing(city: City) -> None:
    """A caller's row refused by the database (a duplicate key) with ``commit=True``: the error reaches the
    caller, and neither the record, nor the row, nor the head moved."""
    code = f"D{uuid.uuid4().hex[:10]}"
    with city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "d-1"), [_outlet(code)], commit=True)
    before = _head(city)
    with pytest.raises((sa.exc.IntegrityError, psycopg.IntegrityError)) as failed, \
            city.db.unit_of_work() as s:
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "d-2"), [_outlet(code)], commit=True)
    assert "unique" in str(failed.value).lower() or "duplicate" in str(failed.value).lower()
    assert _head(city) == before and _since(city, before[0]) == []
    with city.db.unit_of_work() as s:  # the connection went back to the pool usable
        audit.record_with(s, city.admin, audit.Entry("test.with", "card", "d-3"), commit=True)
    assert [r.entity_id for r in _since(city, before[0])] == ["d-3"]
    assert audit.verify(city.db, city.supervisor).ok
