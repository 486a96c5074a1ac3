"""Races the ledger must win on both databases: no lost update, no broken limit, no double move, no deadlock."""

from __future__ import annotations

import random
from collections import Counter

import sqlalchemy as sa

from cards.test_concurrency import _race
from ledger.books import Books
from sscard.errors import DomainError
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferOut

THREADS, PER_THREAD, SEED = 8, 50, 5_000


def _accounts(books: Books) -> None:
    books.open("pool", "liability")
    books.open("person", "medical_personal", never_negative=True)
    books.open("hospital", "payable")
    books.move("seed", "pool", "person", SEED)


def test_hot_accounts_under_eight_writers_end_exact_within_limits_and_move_each_id_once(
        fresh_books: Books) -> None:
    """8 threads × 50 transfers on the same three accounts: spends that overdraw, top-ups, and ten ids that
    every thread submits with the same body (retries racing their own first attempt)."""
    books = fresh_books
    _accounts(books)

    def worker(t: int) -> list[tuple[str, TransferOut | str]]:
        rng = random.Random(t)
        outcomes: list[tuple[str, TransferOut | str]] = []
        for j in range(PER_THREAD):
            roll = rng.random()
            if roll < 0.2:
                tid, args = f"shared{j % 10}", ("person", "hospital", 13)
            elif roll < 0.4:
                tid, args = f"top{t}-{j}", ("pool", "person", rng.randint(1, 50))
            else:
                tid, args = f"spend{t}-{j}", ("person", "hospital", rng.randint(1, 100))
            try:
                outcomes.append((tid, books.move(tid, *args)))
            except DomainError as exc:
                outcomes.append((tid, exc.code))
        return outcomes

    results, failures = _race(THREADS, worker)
    assert failures == []  # no deadlock, no serialization failure, no unique-key error leaks out
    outcomes = [o for per_thread in results for o in per_thread]  # type: ignore[attr-defined]
    assert len(outcomes) == THREADS * PER_THREAD
    errors = Counter(o for _, o in outcomes if isinstance(o, str))
    assert set(errors) == {"LEDGER_EXCEEDS_CREDITS"} and errors["LEDGER_EXCEEDS_CREDITS"] > 0  # the limit did bite

    moved = [o for _, o in outcomes if isinstance(o, TransferOut) and not o.replayed]
    assert len({o.id for o in moved}) == len(moved)  # no id moved money twice
    replays = [o for _, o in outcomes if isinstance(o, TransferOut) and o.replayed]
    first_by_id = {o.id: o.seq for o in moved}
    assert replays and all(first_by_id[r.id] == r.seq for r in replays)

    into_person = sum(o.amount for o in moved if o.credit_account == books.code("person"))
    out_of_person = sum(o.amount for o in moved if o.debit_account == books.code("person"))
    assert books.totals("person") == (out_of_person, SEED + into_person, 0, 0)
    assert books.totals("hospital") == (0, out_of_person, 0, 0)
    assert books.balance("person").credit_balance >= 0
    assert books.run(ledger.check_zero_sum).ok
    assert books.run(ledger.accounts_not_matching_journal) == []
    rows = books.run(lambda s: s.execute(sa.text("SELECT count(*) FROM ledger_transfers")).scalar_one())
    assert rows == 1 + len(moved)


def test_racing_posts_and_voids_of_one_pending_transfer_resolve_it_exactly_once(fresh_books: Books) -> None:
    books = fresh_books
    _accounts(books)
    books.move("hold", "person", "hospital", 1_000, pending=True)

    def resolve(i: int) -> TransferOut:
        return books.post(f"post{i}", "hold", 100 * (i + 1)) if i % 2 else books.void(f"void{i}", "hold")

    results, failures = _race(THREADS, resolve)
    assert len(results) == 1
    assert all(isinstance(f, DomainError) and f.code in {"LEDGER_PENDING_ALREADY_POSTED",
                                                         "LEDGER_PENDING_ALREADY_VOIDED"} for f in failures), failures
    winner = results[0]
    assert isinstance(winner, TransferOut)
    posted = winner.amount if winner.state == "post_pending" else 0
    assert books.totals("person") == (posted, SEED, 0, 0)
    assert books.run(ledger.accounts_not_matching_journal) == []


def test_concurrent_get_or_create_of_one_account_opens_it_once(books: Books) -> None:
    code = books.code("person:1:medical")
    results, failures = _race(THREADS, lambda _i: books.run(
        lambda s: ledger.get_or_create_account(s, code, "medical_personal", debits_must_not_exceed_credits=True)))
    assert failures == []
    assert len({r.id for r in results}) == 1  # type: ignore[attr-defined]
