"""Two-phase transfers: a pending transfer reserves (冻结), then is posted in full or in part, or voided — once."""

from __future__ import annotations

import pytest

from ledger.books import Books
from sscard.errors import DomainError
from sscard.ledger import service as ledger


@pytest.fixture
def held(books: Books) -> Books:
    """A person with 1,000 fen, of which 600 are held for a hospital by the pending transfer ``hold``."""
    books.open("pool", "liability")
    books.open("person", "medical_personal", never_negative=True)
    books.open("hospital", "payable")
    books.move("fund", "pool", "person", 1_000)
    books.move("hold", "person", "hospital", 600, pending=True, reference="PRE-1")
    return books


def _error(fn: object) -> str:
    with pytest.raises(DomainError) as exc:
        fn()  # type: ignore[operator]
    return exc.value.code


def test_a_pending_transfer_reserves_without_posting(held: Books) -> None:
    assert held.totals("person") == (0, 1_000, 600, 0)
    assert held.totals("hospital") == (0, 0, 0, 600)
    person = held.balance("person")
    assert (person.credit_balance, person.available_credit_balance) == (1_000, 400)


def test_what_is_reserved_cannot_be_spent_twice(held: Books) -> None:
    assert _error(lambda: held.move("spend", "person", "hospital", 401)) == "LEDGER_EXCEEDS_CREDITS"
    assert _error(lambda: held.move("hold2", "person", "hospital", 401, pending=True)) == "LEDGER_EXCEEDS_CREDITS"
    held.move("spend-ok", "person", "hospital", 400)
    assert held.balance("person").available_credit_balance == 0


def test_posting_in_full_moves_the_reserved_amount_to_posted(held: Books) -> None:
    out = held.post("settle", "hold")
    assert (out.state, out.amount, out.pending_id, out.reference) == ("post_pending", 600, held.id("hold"), "PRE-1")
    assert held.totals("person") == (600, 1_000, 0, 0)
    assert held.totals("hospital") == (0, 600, 0, 0)


def test_posting_part_releases_the_rest(held: Books) -> None:
    """Pre-settlement held 600; the final settlement is 450 — the other 150 is free again."""
    out = held.post("settle", "hold", 450)
    assert out.amount == 450
    assert held.totals("person") == (450, 1_000, 0, 0)
    assert held.totals("hospital") == (0, 450, 0, 0)
    assert held.balance("person").available_credit_balance == 550


def test_posting_more_than_was_reserved_is_refused(held: Books) -> None:
    assert _error(lambda: held.post("settle", "hold", 601)) == "LEDGER_EXCEEDS_PENDING_AMOUNT"
    assert _error(lambda: held.post("settle", "hold", 0)) == "LEDGER_AMOUNT_INVALID"
    assert held.totals("person") == (0, 1_000, 600, 0)


def test_voiding_releases_everything_and_posts_nothing(held: Books) -> None:
    out = held.void("cancel", "hold")
    assert (out.state, out.amount) == ("void_pending", 600)
    assert held.totals("person") == (0, 1_000, 0, 0)
    assert held.totals("hospital") == (0, 0, 0, 0)


def test_a_pending_transfer_is_resolved_only_once(held: Books) -> None:
    held.post("settle", "hold", 100)
    assert _error(lambda: held.post("settle-again", "hold")) == "LEDGER_PENDING_ALREADY_POSTED"
    assert _error(lambda: held.void("cancel", "hold")) == "LEDGER_PENDING_ALREADY_POSTED"
    assert held.totals("person") == (100, 1_000, 0, 0)


def test_a_voided_transfer_cannot_be_posted_or_voided_again(held: Books) -> None:
    held.void("cancel", "hold")
    assert _error(lambda: held.post("settle", "hold")) == "LEDGER_PENDING_ALREADY_VOIDED"
    assert _error(lambda: held.void("cancel-again", "hold")) == "LEDGER_PENDING_ALREADY_VOIDED"
    assert held.totals("person") == (0, 1_000, 0, 0)


def test_retrying_a_post_returns_the_original_post(held: Books) -> None:
    first = held.post("settle", "hold", 450)
    again = held.post("settle", "hold", 450)
    assert again.replayed and again.seq == first.seq
    assert held.totals("hospital") == (0, 450, 0, 0)
    assert _error(lambda: held.post("settle", "hold", 451)) == "LEDGER_ID_EXISTS_DIFFERENT"


def test_retrying_a_void_returns_the_original_void(held: Books) -> None:
    first = held.void("cancel", "hold")
    assert held.void("cancel", "hold").seq == first.seq
    assert held.totals("person") == (0, 1_000, 0, 0)


def test_only_a_pending_transfer_can_be_posted_or_voided(held: Books) -> None:
    assert _error(lambda: held.post("p1", "no-such-transfer")) == "LEDGER_PENDING_NOT_FOUND"
    assert _error(lambda: held.void("p2", "fund")) == "LEDGER_PENDING_NOT_FOUND"  # "fund" was posted at once


def test_resolutions_appear_in_history_pointing_at_the_pending_transfer(held: Books) -> None:
    held.post("settle", "hold", 450)
    entries = held.history("person", limit=2)
    assert [(e.id, e.state, e.pending_id) for e in entries] == [
        (held.id("settle"), "post_pending", held.id("hold")), (held.id("hold"), "pending", None)]


def test_post_and_void_keep_the_zero_sum_and_the_journal_in_step(fresh_books: Books) -> None:
    books = fresh_books
    books.open("pool", "liability")
    books.open("person", "medical_personal", never_negative=True)
    books.open("hospital", "payable")
    books.move("fund", "pool", "person", 1_000)
    for i, action in enumerate(("post", "partial", "void", "open")):
        books.move(f"h{i}", "person", "hospital", 100, pending=True)
        if action == "post":
            books.post(f"r{i}", f"h{i}")
        elif action == "partial":
            books.post(f"r{i}", f"h{i}", 30)
        elif action == "void":
            books.void(f"r{i}", f"h{i}")
    assert books.totals("person") == (130, 1_000, 100, 0)
    zero = books.run(ledger.check_zero_sum)
    assert zero.ok and zero.debits_pending == 100
    assert books.run(ledger.accounts_not_matching_journal) == []
