"""Property: the ledger's writers apply one set of posting rules. The same posted transfers, retries and reused
ids sent one by one through the locked path (``posting.transfers_locked``), PostgreSQL's hot path
(``posting.transfers_hot``, on PostgreSQL only) and bulk posting (``bulk.post_many``) give the same outcome
for every request and the same balances — on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger.books import Books
from sscard.errors import DomainError
from sscard.ledger import bulk, posting
from sscard.ledger import service as ledger
from sscard.ledger.bulk import BulkTransfer
from sscard.ledger.schemas import TransferIn
from support.city import City

# name → (never_negative, credits_limited)
ACCOUNTS = {"seed": (False, False), "free": (False, False), "person": (True, False), "cash": (False, True)}
NAMES = list(ACCOUNTS)
Send = Callable[[Session, str, str, str, int], str]  # (session, id, debit, credit, amount) → "posted" | "replayed"


def _locked(session: Session, id: str, debit: str, credit: str, amount: int) -> str:
    out = posting.transfers_locked(session, [TransferIn(id=id, debit_account=debit, credit_account=credit,
                                                        amount=amount, code="test")])
    return "replayed" if out[0].replayed else "posted"


def _hot(session: Session, id: str, debit: str, credit: str, amount: int) -> str:
    out = posting.transfers_hot(session, [TransferIn(id=id, debit_account=debit, credit_account=credit,
                                                     amount=amount, code="test")])
    return "replayed" if out[0].replayed else "posted"


def _bulk(session: Session, id: str, debit: str, credit: str, amount: int) -> str:
    result = bulk.post_many(session, [BulkTransfer(id, debit, credit, amount, "test")])
    return "replayed" if result.replayed else "posted"


def _paths(dialect: str) -> dict[str, Send]:
    paths: dict[str, Send] = {"locked": _locked, "bulk": _bulk}
    if dialect == "postgresql":
        paths["hot"] = _hot
    return paths


# The limited accounts come up most, with amounts around their opening 500 fen: limits are hit often.
account = st.sampled_from(["person", "person", "cash", "cash", "seed", "free"])
move = st.tuples(st.just("move"), account, account, st.integers(1, 1200))
retry = st.tuples(st.just("retry"), st.integers(0, 30))
reuse = st.tuples(st.just("reuse"), st.integers(0, 30), st.integers(1, 50))  # an earlier id, another amount
operations = st.lists(st.one_of(move, move, move, move, retry, reuse), min_size=4, max_size=15)


def _run(books: Books, send: Send, requests: list[tuple[str, str, str, int]]) -> list[str]:
    for name, (never_negative, credits_limited) in ACCOUNTS.items():
        books.open(name, "asset", never_negative=never_negative, credits_limited=credits_limited)
    outcomes = []
    for id, debit, credit, amount in requests:
        try:
            outcomes.append(books.run(lambda s, i=id, d=debit, c=credit, a=amount:
                                      send(s, books.id(i), books.code(d), books.code(c), a)))
        except DomainError as exc:
            outcomes.append(exc.code)
    return outcomes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_every_path_gives_the_same_outcomes_and_balances(city: City, ops: list[tuple[Any, ...]]) -> None:
    requests: list[tuple[str, str, str, int]] = [("s0", "seed", "person", 500), ("s1", "cash", "seed", 500)]
    for n, op in enumerate(ops):
        if op[0] == "move":
            requests.append((f"x{n}", op[1], op[2], op[3]))
        elif op[0] == "retry":
            requests.append(requests[op[1] % len(requests)])
        else:
            id, debit, credit, amount = requests[op[1] % len(requests)]
            requests.append((id, debit, credit, amount + op[2]))

    results = {}
    for path, send in _paths(city.dialect).items():
        books = Books(city.db)
        outcomes = _run(books, send, requests)
        totals = {name: books.totals(name) for name in NAMES}
        mismatched = set(books.run(ledger.accounts_not_matching_journal)) & {books.code(n) for n in NAMES}
        assert not mismatched, (path, mismatched)
        assert sum(t[0] for t in totals.values()) == sum(t[1] for t in totals.values()), path  # balanced
        results[path] = (outcomes, totals)

    reference = results["locked"]
    for path, found in results.items():
        assert found == reference, (path, requests)
    assert set(reference[0]) <= {"posted", "replayed", "LEDGER_EXCEEDS_CREDITS", "LEDGER_EXCEEDS_DEBITS",
                                 "LEDGER_SAME_ACCOUNT", "LEDGER_ID_EXISTS_DIFFERENT"}
