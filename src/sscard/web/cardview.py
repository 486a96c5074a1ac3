"""Which operations a card offers to this operator: permission by role, and the card's state.

A button appears only when both allow it; a POST made anyway is refused (403 page or a message on the form).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sscard.access import Actor, Permission
from sscard.auth import service as auth
from sscard.cards.models import Card
from sscard.cards.states import APP_EDGES, ISSUED_ALIVE, PRODUCTION_EDGES, AppStatus, ProductionStatus
from sscard.db import Database

PERMISSION = {
    "apply_replacement": Permission.CARD_APPLY,
    "apply_exchange": Permission.CARD_APPLY,
    "production": Permission.CARD_PRODUCTION,
    "pickup": Permission.CARD_PICKUP,
    "activate": Permission.CARD_ACTIVATE,
    "temp_loss": Permission.CARD_TEMP_LOSS,
    "formal_loss": Permission.CARD_FORMAL_LOSS,
    "lift_loss": Permission.CARD_LIFT_LOSS,
    "unlock": Permission.CARD_UNLOCK,
    "cancel": Permission.CARD_CANCEL,
    "portal_password": Permission.CARD_ACTIVATE,  # set or reset the holder's query password (portal/kiosk)
}


@dataclass
class CardView:
    card: Card
    actions: list[str] = field(default_factory=list)
    next_production: list[str] = field(default_factory=list)


def _in_production(card: Card) -> bool:
    return card.app_status is None and card.production_status != ProductionStatus.VOIDED.value


def _allowed_by_state(card: Card, action: str, another_in_production: bool) -> bool:
    status = AppStatus(card.app_status) if card.app_status is not None else None
    if action == "production":
        return status is None and bool(PRODUCTION_EDGES[ProductionStatus(card.production_status)])
    if action == "pickup":
        return status is None and card.production_status == ProductionStatus.AT_OUTLET.value
    if action == "cancel":
        return status in ISSUED_ALIVE or _in_production(card)
    if status is None:
        return False
    if action == "portal_password":
        return status in (AppStatus.NORMAL, AppStatus.LOCKED)
    edge = {"apply_replacement": "apply_replacement", "apply_exchange": "apply_exchange",
            "activate": "activate", "temp_loss": "report_temporary_loss", "formal_loss": "report_formal_loss",
            "lift_loss": "lift_loss", "unlock": "unlock"}[action]
    if action in ("apply_replacement", "apply_exchange") and another_in_production:
        return False
    return status in APP_EDGES[edge]


def card_views(actor: Actor, person_cards: list[Card]) -> list[CardView]:
    producing = any(_in_production(c) for c in person_cards)
    views = []
    for card in person_cards:
        view = CardView(card, [a for a, perm in PERMISSION.items()
                               if actor.can(perm) and _allowed_by_state(card, a, producing)])
        if "production" in view.actions:
            view.next_production = sorted(PRODUCTION_EDGES[ProductionStatus(card.production_status)])
        views.append(view)
    return views


def can_apply_new(actor: Actor, person_cards: list[Card]) -> bool:
    if not actor.can(Permission.CARD_APPLY):
        return False
    valid = any(c.app_status is not None and c.app_status != AppStatus.CANCELLED.value for c in person_cards)
    return not valid and not any(_in_production(c) for c in person_cards)


def outlets_for(db: Database, actor: Actor, person_cards: list[Card]) -> list[tuple[str, str]]:
    """Outlet choices for the production step to AT_OUTLET (only looked up when that step is on screen)."""
    if not actor.can(Permission.CARD_PRODUCTION) or not any(
            c.app_status is None and c.production_status == ProductionStatus.CARD_MADE.value for c in person_cards):
        return []
    return [(o.code, o.name) for o in auth.list_outlets(db, actor)]
