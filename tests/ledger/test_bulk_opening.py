"""Opening balances in bulk (``ledger.bulk.post_opening`` and ``post_opening_selected``, a migration's path): new
credit accounts opened with their transfers, transfers into accounts that exist posted as usual, a retry moving
nothing twice, a transfer id already in the journal refused whole (LEDGER_ID_EXISTS_DIFFERENT) — on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, Select, String, column, select, values

from ledger.books import Books
from sscard.ledger.bulk import BulkTransfer, open_accounts_selected, post_opening, post_opening_selected
from sscard.ledger.errors import LedgerIdExistsDifferent
from sscard.ledger.reads import accounts_not_matching_journal

KIND = "medical_personal"


def _rows(books: Books, names: list[str], amount: int = 1_000) -> list[tuple[str, str, int, str, str]]:
    return [(books.id(f"open:{n}"), books.code(n), amount + i, "test.opening", "file-1") for i, n in enumerate(names)]


def _selected(rows: list[tuple[str, str, int, str, str]]) -> Select[*tuple[Any, ...]]:
    v = values(column("id", String), column("code", String), column("amount", Integer), column("tcode", String),
               column("reference", String), name="v").data(rows).cte("v")  # SQLite: VALUES with names as a CTE
    return select(v.c.id, v.c.code, v.c.amount, v.c.tcode, v.c.reference)


@pytest.mark.parametrize("selected", [False, True], ids=["given", "selected"])
def test_openings_open_new_accounts_post_into_existing_ones_and_move_nothing_twice(fresh_books: Books,
                                                                                   selected: bool) -> None:
    books = fresh_books
    source = books.open("legacy", "legacy_transition")
    books.open("p0", KIND, never_negative=True)  # one account exists already
    rows = _rows(books, ["p0", "p1", "p2", "p3"])

    def post() -> object:
        if selected:
            return books.run(lambda s: post_opening_selected(s, source, _selected(rows), KIND, True))
        return books.run(lambda s: post_opening(s, [BulkTransfer(i, source, c, a, t, r) for i, c, a, t, r in rows],
                                                KIND, True))

    done = post()
    assert (done.posted, done.replayed, done.amount, done.opened) == (4, 0, 1_000 + 1_001 + 1_002 + 1_003, 3)
    assert books.totals("legacy")[0] == 4_006 and [books.totals(f"p{i}")[1] for i in range(4)] == [1_000, 1_001,
                                                                                                   1_002, 1_003]
    assert books.balance("p2").kind == KIND
    again = post()  # every account exists now: the batch is a replay
    assert (again.posted, again.replayed, again.amount) == (0, 4, 0)
    assert books.totals("legacy")[0] == 4_006
    assert books.run(accounts_not_matching_journal) == []


@pytest.mark.parametrize("selected", [False, True], ids=["given", "selected"])
def test_an_opening_id_already_in_the_journal_refuses_the_whole_batch(fresh_books: Books, selected: bool) -> None:
    books = fresh_books
    source = books.open("legacy", "legacy_transition")
    books.open("other", KIND, never_negative=True)
    books.run(lambda s: post_opening(s, [BulkTransfer(books.id("open:x"), source, books.code("other"), 5, "t", None)],
                                     KIND, True))
    rows = [(books.id("open:x"), books.code("new1"), 7, "t", "f"),
            (books.id("open:y"), books.code("new2"), 9, "t", "f")]
    with pytest.raises(LedgerIdExistsDifferent):
        if selected:
            books.run(lambda s: post_opening_selected(s, source, _selected(rows), KIND, True))
        else:
            books.run(lambda s: post_opening(s, [BulkTransfer(i, source, c, a, t, r) for i, c, a, t, r in rows],
                                             KIND, True))
    assert books.totals("legacy")[0] == 5
    assert books.run(accounts_not_matching_journal) == []
    with pytest.raises(Exception, match="LEDGER_ACCOUNT_NOT_FOUND"):
        books.balance("new2")  # nothing of the refused batch was written


def test_accounts_selected_are_opened_once_and_existing_ones_left_as_they_are(fresh_books: Books) -> None:
    """``open_accounts_selected`` (a migration's zero-balance accounts): a code selected twice is opened once, an
    existing account keeps its kind and totals, a second run opens nothing — on both backends."""
    books = fresh_books
    source = books.open("legacy", "legacy_transition")
    books.open("held", "asset")
    books.run(lambda s: post_opening(s, [BulkTransfer(books.id("open:held"), source, books.code("held"), 5, "t",
                                                      None)], KIND, True))
    names = ["z1", "z2", "z1", "held"]
    v = values(column("code", String), name="v").data([(books.code(n),) for n in names]).cte("v")
    assert books.run(lambda s: open_accounts_selected(s, select(v.c.code), KIND, True)) == 2
    assert books.run(lambda s: open_accounts_selected(s, select(v.c.code), KIND, True)) == 0
    assert books.balance("z1").kind == KIND and books.totals("z2") == (0, 0, 0, 0)
    assert books.balance("held").kind == "asset" and books.totals("held")[1] == 5
    with pytest.raises(Exception, match="LEDGER_ACCOUNT_INVALID"):
        books.run(lambda s: open_accounts_selected(s, select(v.c.code), "Not A Kind", True))
    assert books.run(accounts_not_matching_journal) == []
