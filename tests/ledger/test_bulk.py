"""Bulk posting (``ledger.bulk.post_many``): balanced, idempotent by id, limits kept, zero sum — on both backends."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.books import Books
from sscard.ledger import service as ledger
from sscard.ledger.bulk import BulkResult, BulkTransfer, post_many
from sscard.ledger.errors import (
    LedgerAccountNotFound,
    LedgerExceedsCredits,
    LedgerIdExistsDifferent,
    LedgerIdInvalid,
    LedgerSameAccount,
)


def _payouts(books: Books, n: int, start: int = 0, amount: int = 350_000) -> list[BulkTransfer]:
    return [BulkTransfer(books.id(f"pay{i}"), books.code("fund"), books.code("clearing"), amount + i,
                         "benefit.pension", f"line-{i}") for i in range(start, start + n)]


def _open(books: Books) -> None:
    books.open("fund", "fund")
    books.open("clearing", "bank_clearing")


def test_many_transfers_post_in_one_call_and_move_each_balance_once(books: Books) -> None:
    _open(books)
    batch = _payouts(books, 1200)
    result = books.run(lambda s: post_many(s, batch))
    total = sum(t.amount for t in batch)
    assert result == BulkResult(posted=1200, replayed=0, amount=total)
    fund, clearing = books.balance("fund"), books.balance("clearing")
    assert (fund.debits_posted, fund.credits_posted) == (total, 0)
    assert (clearing.debits_posted, clearing.credits_posted) == (0, total)
    assert books.run(ledger.check_zero_sum).ok
    assert not {books.code("fund"), books.code("clearing")} & set(books.run(ledger.accounts_not_matching_journal))
    found = books.run(lambda s: ledger.lookup_transfer(s, books.id("pay7")))
    assert found is not None and (found.amount, found.code, found.reference) == (350_007, "benefit.pension", "line-7")


def test_a_retry_posts_nothing_again_and_an_overlapping_batch_posts_only_the_new(books: Books) -> None:
    _open(books)
    first = _payouts(books, 50)
    books.run(lambda s: post_many(s, first))
    assert books.run(lambda s: post_many(s, first)) == BulkResult(posted=0, replayed=50, amount=0)
    overlapping = _payouts(books, 50, start=25)
    result = books.run(lambda s: post_many(s, overlapping))
    assert (result.posted, result.replayed) == (25, 25)
    expected = sum(t.amount for t in _payouts(books, 75))
    assert books.balance("clearing").credits_posted == expected
    assert books.run(ledger.check_zero_sum).ok


def test_a_transfer_posted_singly_is_a_replay_in_bulk(books: Books) -> None:
    _open(books)
    books.move("pay0", "fund", "clearing", 350_000, code="benefit.pension", reference="line-0")
    result = books.run(lambda s: post_many(s, _payouts(books, 2)))
    assert (result.posted, result.replayed) == (1, 1)


def test_an_id_reused_with_another_body_refuses_the_whole_batch(books: Books) -> None:
    _open(books)
    books.run(lambda s: post_many(s, _payouts(books, 3)))
    changed = [*_payouts(books, 3, start=3), BulkTransfer(books.id("pay1"), books.code("fund"),
                                                          books.code("clearing"), 1, "benefit.pension", "line-1")]
    with pytest.raises(LedgerIdExistsDifferent):
        books.run(lambda s: post_many(s, changed))
    assert books.balance("clearing").credits_posted == sum(t.amount for t in _payouts(books, 3))


def test_a_limit_broken_by_the_batch_refuses_all_of_it(books: Books) -> None:
    books.open("source", "fund")
    books.open("person", "medical_personal", never_negative=True)
    books.move("fill", "source", "person", 1_000)
    spend = [BulkTransfer(books.id(f"s{i}"), books.code("person"), books.code("source"), 400) for i in range(3)]
    with pytest.raises(LedgerExceedsCredits):
        books.run(lambda s: post_many(s, spend))
    assert books.balance("person").debits_posted == 0
    assert books.run(lambda s: post_many(s, spend[:2])).posted == 2
    assert books.balance("person").debits_posted == 800


@pytest.mark.parametrize(("transfer", "error"), [
    (BulkTransfer("x:1", "nowhere", "nowhere-else", 1), LedgerAccountNotFound),
    (BulkTransfer("bad id", "a", "b", 1), LedgerIdInvalid),
    (BulkTransfer("x:2", "a", "a", 1), LedgerSameAccount),
])
def test_bad_transfers_are_refused_before_anything_is_written(books: Books, transfer: BulkTransfer,
                                                              error: type[Exception]) -> None:
    with pytest.raises(error):
        books.run(lambda s: post_many(s, [transfer]))


def test_the_same_id_twice_in_one_batch_is_refused(books: Books) -> None:
    _open(books)
    twice = _payouts(books, 1) * 2
    with pytest.raises(LedgerIdInvalid):
        books.run(lambda s: post_many(s, twice))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 10**9), st.integers(0, 30)),
                min_size=1, max_size=40),
       st.lists(st.integers(0, 2), min_size=1, max_size=4))
def test_any_batches_and_retries_keep_the_books_balanced(books: Books, legs: list[tuple[int, int, int, int]],
                                                         retries: list[int]) -> None:
    names = [f"h{i}" for i in range(4)]
    for name in names:
        if not books.run(lambda s, n=name: _exists(s, books.code(n))):
            books.open(name, "asset")
    run = uuid.uuid4().hex[:8]  # hypothesis reuses the fixture: ids of earlier examples would be replays
    by_id = {}
    for debit, credit, amount, key in legs:
        if debit != credit:
            by_id[key] = BulkTransfer(books.id(f"{run}-{key}"), books.code(names[debit]),
                                      books.code(names[credit]), amount)
    transfers = list(by_id.values())
    if not transfers:
        return
    before = {n: books.balance(n) for n in names}
    books.run(lambda s: post_many(s, transfers))
    for r in retries:  # retries of slices of it move nothing
        assert books.run(lambda s, part=transfers[r:] or transfers: post_many(s, part)).posted == 0
    moved = {n: [0, 0] for n in names}
    for t in transfers:
        moved[t.debit_account.rsplit(":", 1)[1]][0] += t.amount
        moved[t.credit_account.rsplit(":", 1)[1]][1] += t.amount
    for n in names:
        after = books.balance(n)
        assert after.debits_posted - before[n].debits_posted == moved[n][0]
        assert after.credits_posted - before[n].credits_posted == moved[n][1]
    assert books.run(ledger.check_zero_sum).ok


def _exists(session: object, code: str) -> bool:
    try:
        ledger.balance(session, code)  # type: ignore[arg-type]
    except LedgerAccountNotFound:
        return False
    return True
