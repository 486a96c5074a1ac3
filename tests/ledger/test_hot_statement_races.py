"""PostgreSQL's transfer path (``sscard.ledger.hot``) reads accounts without a limit unlocked and adds its
deltas in the last statement: a writer that commits in between must neither be lost nor let a total overflow.

PostgreSQL only (``postgres_only``). The race is made deterministic: the second writer runs and commits right
after the first has read its accounts (``hot.lock_limited``, wrapped here) and before its writing statement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger.books import Books
from sscard.ledger import hot
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerOverflow
from sscard.ledger.service import TOTAL_MAX
from support.city import postgres_only

# The unlocked read and the delta statement are PostgreSQL's path (SQLite serialises writers): these tests run
# on PostgreSQL only, and fail under CI=true when it is missing.
pytestmark = postgres_only


def _between_read_and_write(books: Books, monkeypatch: pytest.MonkeyPatch, first: Callable[[Session], Any],
                            second: Callable[[], Any]) -> Any:
    """Run ``first`` in a unit of work; ``second`` (its own unit of work, committed) runs after the ledger
    read its accounts in ``first`` and before it wrote them."""
    done: list[Any] = []
    read = hot.lock_limited

    def read_then_second(session: Session, codes: list[str]) -> Any:
        accounts = read(session, codes)
        if not done:
            done.append("running")  # the second writer's own read comes here too
            done.append(second())
        return accounts

    monkeypatch.setattr(hot, "lock_limited", read_then_second)
    with books.db.unit_of_work() as session:
        out = first(session)
    assert done, "the second writer did not run"
    return out


def test_a_writer_committing_between_read_and_write_is_not_lost(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    books.open("pool", "liability")
    books.open("payable", "liability")
    item = books.transfer_in("first", "pool", "payable", 100)
    out = _between_read_and_write(books, monkeypatch, lambda s: ledger.transfers(s, [item]),
                                  lambda: books.move("second", "pool", "payable", 7))
    assert not out[0].replayed
    pool, payable = books.balance("pool"), books.balance("payable")
    assert (pool.debits_posted, payable.credits_posted) == (107, 107)  # both deltas, neither lost
    assert books.run(ledger.accounts_not_matching_journal) == []


def test_the_overflow_guard_refuses_totals_another_writer_pushed_up_meanwhile(fresh_books: Books,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """In a database of its own: totals near the BIGINT bound would overflow other tests' sums over all accounts."""
    books = fresh_books
    books.open("pool", "liability")
    books.open("payable", "liability")
    books.move("seed", "pool", "payable", TOTAL_MAX - 10)
    item = books.transfer_in("first", "pool", "payable", 5)  # fits the totals it reads: MAX - 10 + 5
    with pytest.raises(LedgerOverflow):  # but not those it writes to: MAX - 10 + 8 + 5
        _between_read_and_write(books, monkeypatch, lambda s: ledger.transfers(s, [item]),
                                lambda: books.move("second", "pool", "payable", 8))
    assert books.run(lambda s: ledger.lookup_transfer(s, books.id("first"))) is None  # nothing half-written
    assert books.balance("pool").debits_posted == TOTAL_MAX - 2
    assert books.balance("payable").credits_posted == TOTAL_MAX - 2
