"""What the counter needs beyond the use cases: finding a holder by card number, the state of each person's
latest card for the search results, the operations a card's state allows but that are withheld here (and why,
so the page can say it rather than offer a button the use case would refuse), and the fee of an application
before it is taken.

The rules stay in this package: the page only shows what these functions answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from sscard.access import GRANTS, Actor, Permission, Role
from sscard.audit import service as audit
from sscard.auth.models import Outlet
from sscard.cards.models import Application, Card
from sscard.cards.numbers import check_char
from sscard.cards.operations import PERMISSION, Operation, available_operations
from sscard.cards.records import find_card, today
from sscard.cards.states import ApplicationStatus, AppStatus, Business, ProductionStatus
from sscard.db import Database
from sscard.fees import service as fees
from sscard.registry import service as registry
from sscard.registry.models import Person

OP = Operation


def looks_like_card_no(text: str) -> bool:
    """A card number as printed on the card (9 characters, ``A`` + 7 serial + the check character)."""
    value = text.strip().upper()
    return (len(value) == 9 and value[0].isalpha() and value[1:].isalnum() and value.isascii()
            and check_char(value[:8]) == value[8])


def holder_of_card(db: Database, actor: Actor, card_no: str) -> Person:
    """The holder of a card found by its number (``CARD_NOT_FOUND`` when no card has it); audited."""
    actor.require(Permission.CARD_READ)
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        card = find_card(session, card_no.strip().upper(), lock=False)
        person = registry.find_by_person_id(session, card.person_id)
        audit.record(session, actor, "card.holder_lookup", "card", card.card_no)
        return person


@dataclass(frozen=True)
class CardSummary:
    """A person's latest card, for telling namesakes apart in the search results."""

    card_no: str
    app_status: str | None
    production_status: str


def latest_cards(db: Database, actor: Actor, person_ids: Iterable[int]) -> dict[int, CardSummary]:
    """The newest card of each person (persons without a card are absent); one audited read."""
    ids = sorted(set(person_ids))
    if not ids or not actor.can(Permission.CARD_READ):
        return {}
    with db.unit_of_work() as session:
        rows = session.execute(select(Card).where(Card.person_id.in_(ids)).order_by(Card.id)).scalars()
        found = {c.person_id: CardSummary(c.card_no, c.app_status, c.production_status) for c in rows}
        audit.record(session, actor, "card.list", "person", "*", None, {"persons": len(ids)})
        return found


@dataclass(frozen=True)
class Withheld:
    """An operation the card's state would allow but that is not offered here: ``why`` is a stable code the
    page turns into a sentence (``detail``: the outlet's name, the roles that may)."""

    operation: Operation
    why: str
    detail: str = ""


def _roles_with(permission: Permission) -> list[str]:
    return [r.value for r in (Role.SUPERVISOR, Role.ADMIN) if permission in GRANTS[r]]


def withheld(db: Database, actor: Actor, person_cards: Sequence[Card]) -> dict[str, list[Withheld]]:
    """By card number: what is not offered to this operator and why (a replacement already requested, a card
    waiting at another outlet, an operation that needs a supervisor, an exchange of a card reported lost)."""
    actor.require(Permission.CARD_READ)
    out: dict[str, list[Withheld]] = {}
    with db.unit_of_work() as session:
        for card in person_cards:
            items: list[Withheld] = []
            allowed = available_operations(card, person_cards)
            for op in allowed:
                if not actor.can(PERMISSION[op]):
                    items.append(Withheld(op, "role", ",".join(_roles_with(PERMISSION[op]))))
                elif op is OP.LIFT_LOSS and card.app_status == AppStatus.FORMAL_LOSS.value and session.execute(
                        select(Application.id).where(
                            Application.old_card_id == card.id, Application.business == Business.REPLACEMENT.value,
                            Application.status != ApplicationStatus.VOIDED.value)).first() is not None:
                    items.append(Withheld(op, "replacement_requested"))
                elif op is OP.APPLY_EXCHANGE and card.app_status == AppStatus.FORMAL_LOSS.value:
                    items.append(Withheld(op, "lost_card_replacement"))
                elif op is OP.PICKUP and card.production_status == ProductionStatus.AT_OUTLET.value \
                        and card.outlet_id != actor.outlet_id:
                    outlet = session.get(Outlet, card.outlet_id) if card.outlet_id is not None else None
                    items.append(Withheld(op, "other_outlet", outlet.name if outlet else ""))
            if items:
                out[card.card_no] = items
        return out


def offered_here(actor: Actor, card: Card, person_cards: Sequence[Card], held: Sequence[Withheld]) -> list[Operation]:
    """The operations to show as buttons: allowed by the state, permitted to the role, not withheld."""
    skip = {w.operation for w in held}
    return [op for op in available_operations(card, person_cards) if op not in skip and actor.can(PERMISSION[op])]


def fee_before(db: Database, actor: Actor, business: Business, reason: str = "") -> int:
    """The fee (fen) the fee table asks today for an application of this business, shown before it is taken."""
    actor.require(Permission.CARD_APPLY)
    with db.unit_of_work() as session:
        return fees.quote(session, business.value, reason, today()).amount_fen
