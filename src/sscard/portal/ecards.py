"""The cardholder's e-card in the portal and at a kiosk: activation on the card in use (the holder logged in with
card number + query password, or with the card in the reader + password at a kiosk), and the family members the
holder shows (each added with the member's consent: the member's own card number and query password)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.cards.models import Card
from sscard.cards.states import IN_USE, AppStatus
from sscard.db import Database
from sscard.ecard import service as ecard
from sscard.ecard.errors import EcardCardNotInUse
from sscard.ecard.models import Ecard
from sscard.ecard.schemas import Relation
from sscard.portal.service import check_password_in

_IN_USE = frozenset(status.value for status in IN_USE)


def _valid_card(session: Session, person_id: int) -> Card:
    card = session.execute(select(Card).where(Card.person_id == person_id, Card.app_status.is_not(None),
                                              Card.app_status != AppStatus.CANCELLED.value)).scalar_one_or_none()
    if card is None:
        raise EcardCardNotInUse("the holder has no valid card")
    return card


def activate_ecard(db: Database, actor: Actor, kiosk: bool = False) -> Ecard:
    """开通电子社保卡 on the holder's card in use (normal or PIN-locked); the same e-card again if it is live."""
    actor.require(Permission.ECARD_USE)
    if actor.person_id is None:
        raise EcardCardNotInUse("only a cardholder activates their e-card")
    with db.unit_of_work() as session:
        card = _valid_card(session, actor.person_id)
        facts = ecard.CardFacts(card_id=card.id, person_id=card.person_id, in_use=card.app_status in _IN_USE)
        return ecard.activate_in(session, actor, facts, "kiosk" if kiosk else "portal")


def add_family_member(db: Database, actor: Actor, member_identifier: str, member_password: str, relation: Relation,
                      address: str | None = None) -> int:
    """添加亲情账户: the member consents by giving their own card number (or ID number) and query password, under
    the login's rules and throttle. Returns the audit record's sequence number."""
    actor.require(Permission.ECARD_USE)
    with db.unit_of_work() as session:
        checked = check_password_in(session, member_identifier, member_password, address=address)
        if isinstance(checked, int):
            return ecard.add_family_member_in(session, actor, checked, relation, "member query password")
    raise checked  # after the commit: the failure is counted
