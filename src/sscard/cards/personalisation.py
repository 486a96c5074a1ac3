"""From a registry person and a card record to a personalised chip image (used by the card maker).

The chip package knows nothing of the database; this module maps our records onto its ``HolderData`` and
asks the key manager for the card's diversified keys (no key ever leaves ``kms`` in plain form otherwise).
"""

from __future__ import annotations

import datetime as dt

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.errors import CardStateInvalid
from sscard.cards.models import Card
from sscard.cards.records import add_years, find_card
from sscard.cards.states import ProductionStatus
from sscard.chip import HolderData, VirtualCard, personalise
from sscard.db import Database
from sscard.kms import KeyManager
from sscard.policy import service as policy
from sscard.registry.models import Person
from sscard.registry.regions import CITY_CODE

# Cards are made once the bank has opened the account (20) and until they leave the maker (30).
PERSONALISABLE = frozenset({ProductionStatus.BANK_OPENED.value, ProductionStatus.MAKER_FAILED.value,
                            ProductionStatus.CARD_MADE.value})


def holder_data(person: Person, card: Card, issue_date: dt.date, validity_years: int,
                generation: int = 3) -> HolderData:
    return HolderData(
        id_number=person.id_number, name=person.name, sex=person.sex, birth_date=person.birth_date,
        nationality=person.ethnicity, region_code=CITY_CODE, card_no=card.card_no, issue_date=issue_date,
        expiry_date=card.expires_on or add_years(issue_date, validity_years), generation=generation,
        birthplace_code=person.id_number[:6],
    )


def personalise_card(db: Database, actor: Actor, card_no: str, keys: KeyManager,
                     generation: int = 3) -> VirtualCard:
    """个人化: write the holder's data and the card's keys into a new chip image (audited, keys not logged)."""
    actor.require(Permission.CARD_PRODUCTION)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        if card.production_status not in PERSONALISABLE:
            raise CardStateInvalid("the card can be personalised only after the bank opened its account",
                                   card_no=card.card_no, production_status=card.production_status)
        person = session.get_one(Person, card.person_id)
        today = clock.local_date()
        holder = holder_data(person, card, today, policy.get_int(session, "card.validity_years", today),
                             generation)
        chip = personalise(holder, keys.card_keys(holder))
        audit.record(session, actor, "card.personalise", "card", card.card_no, None,
                     {"generation": generation, "key_version": keys.current_version()})
        return chip
