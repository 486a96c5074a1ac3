"""audit.record_many: many records under one lock on the chain head, chained exactly like that many ``record``
calls — the chain verifies, tampering is still found, and it mixes with ``record`` in any order."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.audit_helpers import bypass_guard
from sscard.audit import service as audit
from sscard.audit.models import AuditHead, AuditRecord
from support.city import City


def _entries(tag: str, n: int) -> list[audit.Entry]:
    return [audit.Entry("test.many", "card", f"{tag}-{i}", {"production_status": "00", "i": i},
                        {"production_status": "10", "名": "张伟"}) for i in range(n)]


def _tail(city: City, n: int) -> list[AuditRecord]:
    with city.db.unit_of_work() as s:
        return list(reversed(s.execute(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(n))
                             .scalars().all()))


def _head(city: City) -> tuple[int, str]:
    with city.db.unit_of_work() as s:
        head = s.get_one(AuditHead, 1)
        return head.last_seq, head.last_hash


def test_a_block_of_records_chains_in_order_and_verifies(city: City) -> None:
    seq0, _ = _head(city)
    with city.db.unit_of_work() as s:
        assert audit.record_many(s, city.admin, _entries("a", 250)) == 250
    rows = _tail(city, 250)
    assert [r.seq for r in rows] == list(range(seq0 + 1, seq0 + 251))
    assert [r.entity_id for r in rows] == [f"a-{i}" for i in range(250)]
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(rows))
    assert rows[0].operator == "t-admin" and rows[0].role == "admin" and rows[0].outlet is None
    assert rows[7].before == '{"i":7,"production_status":"00"}' and '"名":"张伟"' in (rows[7].after or "")
    assert _head(city) == (rows[-1].seq, rows[-1].hash)
    result = audit.verify(city.db, city.supervisor)
    assert result.ok and result.checked == seq0 + 250


def test_record_and_record_many_mix_in_one_transaction_and_across_transactions(city: City) -> None:
    seq0, _ = _head(city)
    with city.db.unit_of_work() as s:
        audit.record(s, city.counter, "test.one", "card", "x-1", None, {"k": 1})
        audit.record_many(s, city.admin, _entries("b", 3))
        with s.no_autoflush:  # a record still pending in the session when the block is appended
            audit.record(s, city.counter, "test.one", "card", "x-2")
            audit.record_many(s, city.admin, _entries("c", 2))
        audit.record(s, city.counter, "test.one", "card", "x-3")
    with city.db.unit_of_work() as s:
        audit.record_many(s, city.supervisor, _entries("d", 4))
    with city.db.unit_of_work() as s:
        audit.record(s, city.counter, "test.one", "card", "x-4")
    rows = _tail(city, 13)
    assert [r.entity_id for r in rows] == ["x-1", "b-0", "b-1", "b-2", "x-2", "c-0", "c-1", "x-3",
                                           "d-0", "d-1", "d-2", "d-3", "x-4"]
    assert [r.seq for r in rows] == list(range(seq0 + 1, seq0 + 14))
    assert audit.verify(city.db, city.supervisor).ok


def test_nothing_to_record_writes_nothing(city: City) -> None:
    before = _head(city)
    with city.db.unit_of_work() as s:
        assert audit.record_many(s, city.admin, []) == 0
    assert _head(city) == before


def test_a_rolled_back_block_leaves_no_trace(city: City) -> None:
    before = _head(city)
    with pytest.raises(RuntimeError), city.db.unit_of_work() as s:
        audit.record_many(s, city.admin, _entries("r", 20))
        raise RuntimeError("the use case failed after auditing")
    assert _head(city) == before
    assert audit.verify(city.db, city.supervisor).ok


def test_tampering_with_or_deleting_a_record_of_a_block_is_detected(fresh_city: City) -> None:
    with fresh_city.db.unit_of_work() as s:
        audit.record_many(s, fresh_city.admin, _entries("t", 30))
    block = _tail(fresh_city, 30)
    changed, deleted = block[12], block[20]
    with fresh_city.db.engine.begin() as conn:
        bypass_guard(conn, fresh_city.dialect)
        conn.execute(sa.text("UPDATE audit_records SET after = :a WHERE seq = :s"),
                     {"a": '{"production_status":"20"}', "s": changed.seq})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == changed.seq
    assert result.reason == "record content does not match its hash"
    with fresh_city.db.engine.begin() as conn:  # put it back, then remove another record instead
        conn.execute(sa.text("UPDATE audit_records SET after = :a WHERE seq = :s"),
                     {"a": changed.after, "s": changed.seq})
        conn.execute(sa.text("DELETE FROM audit_records WHERE seq = :s"), {"s": deleted.seq})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == deleted.seq and "gap" in (result.reason or "")


def test_concurrent_blocks_queue_on_the_head_and_the_chain_stays_linear(city: City) -> None:
    seq0, _ = _head(city)
    failures: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for round_ in range(3):
                with city.db.unit_of_work() as s:
                    audit.record_many(s, city.admin, _entries(f"{tag}{round_}", 40))
                with city.db.unit_of_work() as s:
                    audit.record(s, city.counter, "test.one", "card", f"{tag}{round_}")
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "pq"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    result = audit.verify(city.db, city.supervisor)
    assert result.ok and result.checked == seq0 + 2 * 3 * 41
    blocks = [r.entity_id.split("-")[0] for r in _tail(city, 2 * 3 * 41) if "-" in r.entity_id]
    # Each block of 40 is contiguous in the chain: the head lock is held for the whole block.
    assert all(blocks[i:i + 40] == [blocks[i]] * 40 for i in range(0, len(blocks), 40))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=30)), min_size=1, max_size=6))
def test_any_interleaving_of_record_and_record_many_verifies(city: City, plan: list[int | None]) -> None:
    """None = one ``record``, k = ``record_many`` of k entries, all in one transaction."""
    seq0, _ = _head(city)
    with city.db.unit_of_work() as s:
        for step, k in enumerate(plan):
            if k is None:
                audit.record(s, city.counter, "test.one", "card", f"h{step}")
            else:
                audit.record_many(s, city.admin, _entries(f"h{step}", k))
    expected = sum(1 if k is None else k for k in plan)
    assert _head(city)[0] == seq0 + expected
    result = audit.verify(city.db, city.supervisor)
    assert result.ok and result.checked == seq0 + expected
