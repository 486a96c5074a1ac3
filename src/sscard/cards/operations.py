"""The operations a card offers: derived from the state machine (``states``) and the person's other cards, and
the permission each one needs. Counter, portal and kiosk pages offer what this allows; the use cases enforce
the same rules on their own, so an operation attempted anyway is refused there."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sscard.access import Actor, Permission
from sscard.cards.models import Card
from sscard.cards.states import APP_EDGES, IN_USE, PRODUCTION_EDGES, AppStatus, ProductionStatus


class Operation(enum.StrEnum):
    """What can be done to one card (the counter's form names; the order is the order they are offered in)."""

    APPLY_REPLACEMENT = "apply_replacement"
    APPLY_EXCHANGE = "apply_exchange"
    PRODUCTION = "production"
    PICKUP = "pickup"
    ACTIVATE = "activate"
    TEMP_LOSS = "temp_loss"
    FORMAL_LOSS = "formal_loss"
    LIFT_LOSS = "lift_loss"
    UNLOCK = "unlock"
    CANCEL = "cancel"
    PORTAL_PASSWORD = "portal_password"  # set or reset the holder's query password (portal/kiosk)


OP = Operation
PERMISSION: dict[Operation, Permission] = {
    OP.APPLY_REPLACEMENT: Permission.CARD_APPLY,
    OP.APPLY_EXCHANGE: Permission.CARD_APPLY,
    OP.PRODUCTION: Permission.CARD_PRODUCTION,
    OP.PICKUP: Permission.CARD_PICKUP,
    OP.ACTIVATE: Permission.CARD_ACTIVATE,
    OP.TEMP_LOSS: Permission.CARD_TEMP_LOSS,
    OP.FORMAL_LOSS: Permission.CARD_FORMAL_LOSS,
    OP.LIFT_LOSS: Permission.CARD_LIFT_LOSS,
    OP.UNLOCK: Permission.CARD_UNLOCK,
    OP.CANCEL: Permission.CARD_CANCEL,
    OP.PORTAL_PASSWORD: Permission.CARD_ACTIVATE,
}
# The application-status operation of ``states.APP_EDGES`` each operation on an issued card takes.
APP_EDGE: dict[Operation, str] = {
    OP.APPLY_REPLACEMENT: "apply_replacement",
    OP.APPLY_EXCHANGE: "apply_exchange",
    OP.ACTIVATE: "activate",
    OP.TEMP_LOSS: "report_temporary_loss",
    OP.FORMAL_LOSS: "report_formal_loss",
    OP.LIFT_LOSS: "lift_loss",
    OP.UNLOCK: "unlock",
    OP.CANCEL: "cancel",
}
_NEW_CARD = (OP.APPLY_REPLACEMENT, OP.APPLY_EXCHANGE)


def in_production(card: Card) -> bool:
    """Not issued yet and not voided: the card is being made (or waits at an outlet)."""
    return card.app_status is None and card.production_status != ProductionStatus.VOIDED.value


def next_production(card: Card) -> list[ProductionStatus]:
    """The production steps the card may take next (none once it is issued)."""
    if card.app_status is not None:
        return []
    return sorted(PRODUCTION_EDGES[ProductionStatus(card.production_status)])


def _allowed(card: Card, operation: Operation, another_in_production: bool) -> bool:
    if operation is OP.PRODUCTION:
        return bool(next_production(card))
    if operation is OP.PICKUP:
        return card.app_status is None and card.production_status == ProductionStatus.AT_OUTLET.value
    if card.app_status is None:
        return operation is OP.CANCEL and in_production(card)
    status = AppStatus(card.app_status)
    if operation is OP.PORTAL_PASSWORD:
        return status in IN_USE
    if operation in _NEW_CARD and another_in_production:
        return False  # one new card at a time
    return status in APP_EDGES[APP_EDGE[operation]]


def available_operations(card: Card, person_cards: Sequence[Card] = ()) -> list[Operation]:
    """What the card's state allows, in ``Operation`` order. ``person_cards``: all the person's cards (this one
    may be among them): while one of them is being made, no replacement or exchange is taken."""
    producing = any(in_production(c) for c in person_cards)
    return [op for op in Operation if _allowed(card, op, producing)]


def offered(actor: Actor, card: Card, person_cards: Sequence[Card] = ()) -> list[Operation]:
    """The operations the card's state allows and the actor's role permits."""
    return [op for op in available_operations(card, person_cards) if actor.can(PERMISSION[op])]


def can_apply_new(actor: Actor, person_cards: Sequence[Card]) -> bool:
    """新申领 is offered to a person with no valid card and none being made."""
    if not actor.can(Permission.CARD_APPLY):
        return False
    valid = any(c.app_status is not None and c.app_status != AppStatus.CANCELLED.value for c in person_cards)
    return not valid and not any(in_production(c) for c in person_cards)
