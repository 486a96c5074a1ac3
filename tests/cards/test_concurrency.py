"""Races the database must win: one person, one application; a linear audit chain under concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.errors import DomainError
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City


def _race(n: int, fn: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[object] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            out = fn(i)
            with lock:
                results.append(out)
        except BaseException as exc:  # collected and asserted on by the caller
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, failures


def test_concurrent_applications_for_one_person_make_exactly_one_card(
        fresh_city: City, new_id: Callable[..., str]) -> None:
    id_no = new_id()
    registry.register(fresh_city.db, fresh_city.counter, PersonIn(id_number=id_no, name="并发", region_code="441802"))
    results, failures = _race(6, lambda _i: cards.apply_new(fresh_city.db, fresh_city.counter, id_no))
    assert len(results) == 1
    assert len(failures) == 5
    assert all(isinstance(f, DomainError) and f.code == "APPLICATION_PENDING" for f in failures), failures
    assert len(cards.cards_of_person(fresh_city.db, fresh_city.counter, id_no)) == 1


def test_concurrent_registrations_of_one_person_make_one_record(fresh_city: City, new_id: Callable[..., str]) -> None:
    id_no = new_id()
    data = PersonIn(id_number=id_no, name="并发登记", region_code="441803")
    results, failures = _race(6, lambda _i: registry.register(fresh_city.db, fresh_city.counter, data))
    assert len(results) == 1
    assert all(isinstance(f, DomainError) and f.code == "PERSON_EXISTS" for f in failures), failures


def test_audit_chain_stays_linear_under_concurrent_writers(fresh_city: City, new_id: Callable[..., str]) -> None:
    ids = [new_id() for _ in range(24)]

    def register_and_apply(i: int) -> str:
        registry.register(fresh_city.db, fresh_city.counter,
                          PersonIn(id_number=ids[i], name=f"链{i}", region_code="441821"))
        return cards.apply_new(fresh_city.db, fresh_city.counter, ids[i]).card.card_no

    results, failures = _race(24, register_and_apply)
    assert failures == [] and len(set(results)) == 24  # every card got its own number
    verified = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert verified.ok, verified
    assert verified.checked >= 6 + 24 * 2
