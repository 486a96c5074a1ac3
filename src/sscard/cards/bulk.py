"""Set-based production-status moves of many cards (a production batch step: tens of thousands of cards).

The cards package owns the ``cards`` rows and their state machine; ``sscard.production.batches`` moves whole
batches through it with :class:`ProductionMoves` instead of updating the rows itself. A step must not cost one
statement per card: the audit chain is extended once per step (``audit.record_many``) and the rows are updated
set-based (``sscard.bulksql.update_rows``).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, literal
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.bulksql import update_rows
from sscard.cards.errors import ProductionTransitionInvalid
from sscard.cards.models import Card
from sscard.cards.states import PRODUCTION_EDGES, ProductionStatus
from sscard.db import UtcDateTime

__all__ = ["ProductionMoves"]


class ProductionMoves:
    """Production-status transitions of one batch step under the cards state machine (its edges and errors),
    each audited per card like ``advance_production`` (one card at a time) — one audit record per card state change,
    written by ``audit.record_many`` in the order the cards were added — and applied by set-based UPDATEs that
    still check each card's version (optimistic locking: a card changed meanwhile fails the whole step).
    """

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.rows: list[dict[str, Any]] = []
        self.entries: list[audit.Entry] = []
        self.cards: list[Card] = []

    def add(self, card: Card, to: ProductionStatus, outlet_id: int | None = None, bank_code: str | None = None) -> None:
        current = ProductionStatus(card.production_status)
        if to not in PRODUCTION_EDGES[current]:
            raise ProductionTransitionInvalid(f"{card.card_no}: {current.name} → {to.name}", card_no=card.card_no)
        before = card.snapshot()
        after = {**before, "production_status": to.value,
                 "outlet_id": outlet_id if outlet_id is not None else before["outlet_id"]}
        self.entries.append(audit.Entry(f"production.{to.name.lower()}", "card", card.card_no, before, after))
        self.rows.append({"id": card.id, "version": card.version, "production_status": to.value,
                          "outlet_id": outlet_id, "bank_code": bank_code})
        self.cards.append(card)

    def apply(self) -> None:
        if not self.rows:
            return
        audit.record_many(self.session, self.actor, self.entries)
        table = cast(Table, Card.__table__)
        changed = update_rows(self.session, table, self.rows, check="version",
                              keep_if_null=("outlet_id", "bank_code"),
                              also={"version": table.c.version + 1, "updated_at": literal(clock.now(), UtcDateTime())})
        if changed != len(self.rows):
            raise StaleDataError(f"{len(self.rows) - changed} cards were changed concurrently")
        for card in self.cards:
            self.session.expire(card)
        self.rows, self.entries, self.cards = [], [], []
