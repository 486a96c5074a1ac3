"""Benefit pay-outs in the ledger: each paid line is one transfer ``fund:<fund>`` → ``bank:<code>:clearing``
(id ``ben:<line id>``, so a replay moves nothing), posted in bulk with ``sscard.ledger.bulk.post_many``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from sscard.ledger import chart
from sscard.ledger.bulk import BulkTransfer, post_many

TRANSFER_CODE = "benefit.payout"


def transfer_id(line_id: int) -> str:
    return f"ben:{line_id}"


def ensure_accounts(session: Session, bank_code: str, funds: set[str]) -> None:
    chart.open_missing(session, [chart.BankClearing(bank_code), *(chart.Fund(f) for f in funds)])


class PaidLine(Protocol):
    """What a paid line must tell (the posting step passes its line rows as they are)."""

    @property
    def id(self) -> int: ...
    @property
    def fund(self) -> str: ...
    @property
    def amount(self) -> int: ...


def post_payouts(session: Session, bank_code: str, batch_no: str, paid: Sequence[PaidLine]) -> int:
    """Post one transfer per paid line (line id, fund, amount fen); returns how many were posted now."""
    if not paid:
        return 0
    wanted = {line.fund for line in paid}
    ensure_accounts(session, bank_code, wanted)
    clearing = chart.BankClearing(bank_code).code
    funds = {fund: chart.Fund(fund).code for fund in wanted}
    transfers = [BulkTransfer(f"ben:{line.id}", funds[line.fund], clearing, line.amount, TRANSFER_CODE, batch_no)
                 for line in paid]  # f"ben:{id}" is transfer_id() inlined: a million calls saved
    return post_many(session, transfers).posted
