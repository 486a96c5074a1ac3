"""Property: any sequence of transfers, holds, posts, voids and retries leaves the ledger exactly where a
pure-Python model of TigerBeetle's rules says — balances equal, zero sum, no limit ever broken."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.books import Books
from sscard.errors import DomainError
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferOut
from support.city import City

# name → (never_negative, credits_limited)
ACCOUNTS = {"free": (False, False), "person": (True, False), "cash": (False, True), "other": (False, False)}
NAMES = list(ACCOUNTS)


@dataclass
class Model:
    """The reference: four totals per account and the pending transfers, with TigerBeetle's limit rules."""

    totals: dict[str, list[int]] = field(default_factory=lambda: {n: [0, 0, 0, 0] for n in NAMES})
    pending: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)  # pending id → "posted" | "voided"

    def within_limits(self, name: str, t: list[int]) -> str | None:
        never_negative, credits_limited = ACCOUNTS[name]
        if never_negative and t[0] + t[2] > t[1]:
            return "LEDGER_EXCEEDS_CREDITS"
        if credits_limited and t[1] + t[3] > t[0]:
            return "LEDGER_EXCEEDS_DEBITS"
        return None

    def transfer(self, id: str, dr: str, cr: str, amount: int, pending: bool) -> str | None:
        if dr == cr:
            return "LEDGER_SAME_ACCOUNT"
        new = {n: list(t) for n, t in self.totals.items()}
        new[dr][2 if pending else 0] += amount
        new[cr][3 if pending else 1] += amount
        for name in (dr, cr):
            error = self.within_limits(name, new[name])
            if error:
                return error
        self.totals = new
        if pending:
            self.pending[id] = (dr, cr, amount)
        return None

    def resolve(self, pending_id: str, amount: int | None, void: bool) -> str | None:
        dr, cr, held = self.pending[pending_id]
        if amount is not None and amount > held:
            return "LEDGER_EXCEEDS_PENDING_AMOUNT"
        if pending_id in self.resolved:
            return f"LEDGER_PENDING_ALREADY_{self.resolved[pending_id].upper()}"
        self.totals[dr][2] -= held
        self.totals[cr][3] -= held
        if not void:
            posted = held if amount is None else amount
            self.totals[dr][0] += posted
            self.totals[cr][1] += posted
        self.resolved[pending_id] = "voided" if void else "posted"
        return None


account = st.sampled_from(NAMES)
transfer_op = st.tuples(st.just("transfer"), account, account, st.integers(1, 400), st.booleans())
post_op = st.tuples(st.just("post"), st.integers(0, 50), st.one_of(st.none(), st.integers(1, 300)))
void_op = st.tuples(st.just("void"), st.integers(0, 50))
retry_op = st.tuples(st.just("retry"), st.integers(0, 50))
operations = st.lists(st.one_of(transfer_op, transfer_op, post_op, void_op, retry_op), min_size=1, max_size=25)


def _send(books: Books, request: tuple[Any, ...]) -> TransferOut:
    kind, id, *rest = request
    if kind == "transfer":
        dr, cr, amount, pending = rest
        return books.move(id, dr, cr, amount, pending=pending)
    if kind == "post":
        return books.post(id, *rest)
    return books.void(id, rest[0])


def _attempt(fn: Callable[[], TransferOut]) -> tuple[TransferOut | None, str | None]:
    try:
        return fn(), None
    except DomainError as exc:
        return None, exc.code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_random_operations_match_the_model_and_keep_every_invariant(city: City, ops: list[tuple[Any, ...]]) -> None:
    books = Books(city.db)
    books.open("seed", "equity")
    for name, (never_negative, credits_limited) in ACCOUNTS.items():
        books.open(name, "asset", never_negative=never_negative, credits_limited=credits_limited)
    model = Model()
    # Start the limited accounts with something to spend, through the ledger like everything else.
    for i, (dr, cr) in enumerate((("seed", "person"), ("cash", "seed"))):
        books.move(f"seed{i}", dr, cr, 500)
    model.totals["person"][1] += 500
    model.totals["cash"][0] += 500
    done: list[tuple[Any, ...]] = []  # successful requests, each replayable
    request: tuple[Any, ...]

    for n, op in enumerate(ops):
        kind = op[0]
        if kind == "transfer":
            _, dr, cr, amount, pending = op
            request = ("transfer", f"x{n}", dr, cr, amount, pending)
            expected = model.transfer(f"x{n}", dr, cr, amount, pending)
        elif kind in ("post", "void") and model.pending:
            pid = sorted(model.pending)[op[1] % len(model.pending)]
            amount = None if kind == "void" else op[2]
            request = (kind, f"r{n}", pid, amount)
            expected = model.resolve(pid, amount, kind == "void")
        elif kind == "retry" and done:
            request = done[op[1] % len(done)]
            expected = None
        else:
            continue
        result, got = _attempt(partial(_send, books, request))
        assert got == expected, (n, op, got, expected)
        if kind == "retry":
            assert isinstance(result, TransferOut) and result.replayed, request
        elif got is None:
            done.append(request)

    for name in NAMES:
        actual = list(books.totals(name))
        assert actual == model.totals[name], name
        never_negative, credits_limited = ACCOUNTS[name]
        if never_negative:
            assert actual[0] + actual[2] <= actual[1]
        if credits_limited:
            assert actual[1] + actual[3] <= actual[0]
    assert books.run(ledger.check_zero_sum).ok
    assert books.run(ledger.accounts_not_matching_journal) == []
