"""Reading cards: a card by number, a person's cards, and the check that a card belongs to the
person being served. Each read is audited.
"""

from __future__ import annotations

from sqlalchemy import select

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.errors import CardNotOfPerson
from sscard.cards.models import Card
from sscard.cards.records import find_card
from sscard.db import Database
from sscard.registry import service as registry


def require_holder(db: Database, actor: Actor, card_no: str, id_number: str) -> None:
    """The card acted on belongs to the person being served (the counter's page names both): a card number
    edited into a form is refused with ``CARD_NOT_OF_PERSON`` before anything changes."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        card = find_card(session, card_no, lock=False)
        person = registry.find_by_id_number(session, id_number)
        if card.person_id != person.id:
            raise CardNotOfPerson()


def get_card(db: Database, actor: Actor, card_no: str) -> Card:
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        card = find_card(session, card_no, lock=False)
        audit.record(session, actor, "card.read", "card", card.card_no)
        return card


def cards_of_person(db: Database, actor: Actor, id_number: str | None = None, *,
                    person_id: int | None = None) -> list[Card]:
    """The person's cards, the person named by ID number or by internal id (API paths carry the latter)."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        person = (registry.find_by_person_id(session, person_id) if person_id is not None
                  else registry.find_by_id_number(session, str(id_number)))
        cards = list(session.execute(select(Card).where(Card.person_id == person.id).order_by(Card.id)).scalars())
        audit.record(session, actor, "card.list", "person", person.id)
        return cards
