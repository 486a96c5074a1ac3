"""The operations each card on the person's page offers to this operator (``cards.operations``: the card's
state and the operator's role). A button appears only when both allow it; a POST made anyway is refused (403
page or a message on the form)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sscard.access import Actor
from sscard.auth import service as auth
from sscard.cards import counter
from sscard.cards.counter import Withheld
from sscard.cards.models import Card
from sscard.cards.operations import Operation, next_production
from sscard.cards.states import ProductionStatus
from sscard.db import Database


@dataclass
class CardView:
    card: Card
    actions: list[Operation] = field(default_factory=list)
    next_production: list[ProductionStatus] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)


def card_views(db: Database, actor: Actor, person_cards: list[Card]) -> list[CardView]:
    held = counter.withheld(db, actor, person_cards) if person_cards else {}
    views = []
    for card in person_cards:
        mine = held.get(card.card_no, [])
        view = CardView(card, counter.offered_here(actor, card, person_cards, mine), withheld=mine)
        if Operation.PRODUCTION in view.actions:
            view.next_production = next_production(card)
        views.append(view)
    return views


def outlets_for(db: Database, actor: Actor, views: list[CardView]) -> list[tuple[str, str]]:
    """Outlet choices for the production step to AT_OUTLET (only looked up when that step is on screen)."""
    if not any(ProductionStatus.AT_OUTLET in view.next_production for view in views):
        return []
    return [(o.code, o.name) for o in auth.list_outlets(db, actor)]
