"""A small book of accounts per test, built through the ledger service, each call its own unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session

from sscard.db import Database
from sscard.ledger import service as ledger
from sscard.ledger.schemas import Balance, HistoryEntry, TransferIn, TransferOut

T = TypeVar("T")


@dataclass
class Books:
    """Accounts and transfer ids get a per-test prefix, so tests share the session's database safely."""

    db: Database
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")

    def code(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def id(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def run(self, fn: Callable[[Session], T]) -> T:
        with self.db.unit_of_work() as session:
            return fn(session)

    def open(self, name: str, kind: str = "asset", *, never_negative: bool = False,
             credits_limited: bool = False) -> str:
        """``never_negative``: debits may not exceed credits (a person's account, 个人账户)."""
        code = self.code(name)
        self.run(lambda s: ledger.create_account(s, code, kind, debits_must_not_exceed_credits=never_negative,
                                                 credits_must_not_exceed_debits=credits_limited))
        return code

    def transfer_in(self, id: str, debit: str, credit: str, amount: int, *, pending: bool = False,
                    code: str = "test", reference: str | None = None) -> TransferIn:
        return TransferIn(id=self.id(id), debit_account=self.code(debit), credit_account=self.code(credit),
                          amount=amount, pending=pending, code=code, reference=reference)

    def move(self, id: str, debit: str, credit: str, amount: int, *, pending: bool = False,
             code: str = "test", reference: str | None = None) -> TransferOut:
        item = self.transfer_in(id, debit, credit, amount, pending=pending, code=code, reference=reference)
        return self.run(lambda s: ledger.transfer(s, item))

    def post(self, id: str, pending: str, amount: int | None = None) -> TransferOut:
        return self.run(lambda s: ledger.post_pending(s, self.id(id), self.id(pending), amount))

    def void(self, id: str, pending: str) -> TransferOut:
        return self.run(lambda s: ledger.void_pending(s, self.id(id), self.id(pending)))

    def balance(self, name: str) -> Balance:
        return self.run(lambda s: ledger.balance(s, self.code(name)))

    def totals(self, name: str) -> tuple[int, int, int, int]:
        """(debits_posted, credits_posted, debits_pending, credits_pending)"""
        b = self.balance(name)
        return b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending

    def history(self, name: str, limit: int = 50, before: int | None = None) -> list[HistoryEntry]:
        return self.run(lambda s: ledger.history(s, self.code(name), limit, before))
