"""audit.record_grouped: concurrent callers' records committed in batches with the chain head locked once per
batch — each caller still with its own record, the chain linear and exact, every caller's rows written; a
caller whose rows violate a constraint fails alone, the others of its batch are written."""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any, cast

import psycopg
import pytest
import sqlalchemy as sa

from sscard.audit import chain
from sscard.audit import service as audit
from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.models import Outlet
from sscard.bulksql import Write
from support.city import City

_OUTLET = sa.insert(cast(sa.Table, Outlet.__table__)).inline()
_UNIQUE = (sa.exc.IntegrityError, psycopg.IntegrityError)


def _outlet(code: str) -> Write:
    row: dict[str, Any] = {"code": code, "name": "test", "region_code": "441802", "kind": "hrss", "bank_code": None}
    return _OUTLET, row


def _since(city: City, seq: int) -> list[AuditRecord]:
    with city.db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq))
                    .scalars().all())


def _head(city: City) -> tuple[int, str]:
    with city.db.unit_of_work() as s:
        head = s.get_one(AuditHead, 1)
        return head.last_seq, head.last_hash


def _run_together(callers: list[Any]) -> dict[int, BaseException | None]:
    """Each caller in its own thread, all released at once (so that they queue for the same batches)."""
    start, outcome = threading.Barrier(len(callers)), {}

    def run(n: int) -> None:
        start.wait()
        try:
            callers[n]()
            outcome[n] = None
        except BaseException as exc:  # the test looks at each caller's outcome
            outcome[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(callers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome


def test_concurrent_callers_each_get_their_record_in_one_exact_chain(city: City) -> None:
    audit.record_grouped(city.db, city.admin, audit.Entry("test.grouped", "card", "first"))  # the head exists
    seq0, _ = _head(city)
    codes = [f"Q{uuid.uuid4().hex[:10]}" for _ in range(24)]

    def caller(n: int) -> Any:
        return lambda: audit.record_grouped(city.db, city.admin if n % 2 else city.counter, audit.Entry(
            "test.grouped", "card", f"g-{n}", None, {"card_no": "440100000000123456", "n": n}), [_outlet(codes[n])])

    outcome = _run_together([caller(n) for n in range(len(codes))])
    assert all(exc is None for exc in outcome.values())
    rows = _since(city, seq0)
    assert sorted(r.entity_id for r in rows) == sorted(f"g-{n}" for n in range(len(codes)))
    assert [r.seq for r in rows] == list(range(seq0 + 1, seq0 + 1 + len(codes)))
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(rows))
    assert all("123456" not in (r.after or "") for r in rows)  # masked as record masks
    by_id = {r.entity_id: r for r in rows}
    assert by_id["g-1"].operator == "t-admin" and by_id["g-2"].role == city.counter.role.value
    assert _head(city) == (rows[-1].seq, rows[-1].hash)
    with city.db.unit_of_work() as s:
        assert set(s.execute(sa.select(Outlet.code).where(Outlet.code.in_(codes))).scalars()) == set(codes)
    assert audit.verify(city.db, city.supervisor).ok


def test_a_caller_whose_rows_conflict_fails_alone(city: City) -> None:
    taken = f"T{uuid.uuid4().hex[:10]}"
    audit.record_grouped(city.db, city.admin, audit.Entry("test.grouped", "card", "taken"), [_outlet(taken)])
    seq0, _ = _head(city)
    codes = [taken if n == 3 else f"R{uuid.uuid4().hex[:10]}" for n in range(12)]
    outcome = _run_together([
        (lambda n=n: audit.record_grouped(city.db, city.admin, audit.Entry("test.grouped", "card", f"r-{n}"),
                                          [_outlet(codes[n])]))
        for n in range(len(codes))])
    assert isinstance(outcome[3], _UNIQUE)
    assert all(exc is None for n, exc in outcome.items() if n != 3)
    rows = _since(city, seq0)
    assert sorted(r.entity_id for r in rows) == sorted(f"r-{n}" for n in range(len(codes)) if n != 3)
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(rows))
    assert audit.verify(city.db, city.supervisor).ok


@pytest.mark.parametrize("operator_id", [None, 7])
def test_the_mac_material_made_in_two_parts_is_the_records(operator_id: int | None) -> None:
    import datetime as dt

    at = dt.datetime(2026, 12, 6, 8, 30, 1, 250, tzinfo=dt.UTC)
    fields = ("机构:H01", "hospital", None, "health.index.read", "health_patient", "ab\"c",
              None, '{"purpose":"急诊","count":3}')
    assert chain.keyed_material_from("0" * 64, 42, at, chain.keyed_tail(operator_id, *fields)) == \
        chain.keyed_material("0" * 64, 42, at, operator_id, *fields)
