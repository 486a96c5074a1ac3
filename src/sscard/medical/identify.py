"""Who is settling: a card number, an ID number or a scanned e-card code → the person, enrolment, card and
personal-account balance, with the card-state rules of eligibility (card must be 正常; formally lost or
not-yet-made cards may settle by ID number, as Qingyuan allows). One prebuilt query of the needed columns: this
runs on every settlement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.orm import Session

from sscard import bulksql
from sscard.access import Actor
from sscard.cards.errors import CardNotFound
from sscard.cards.models import Card
from sscard.cards.states import AppStatus
from sscard.db import Database
from sscard.ecard import service as ecard
from sscard.ledger import chart
from sscard.ledger.models import LedgerAccount
from sscard.medical.errors import CardNotUsable, IdentificationInvalid, IdSettlementNotAllowed, PersonNotInsured
from sscard.medical.models import Insured
from sscard.registry import idnumber
from sscard.registry.errors import PersonDeceased, PersonNotFound
from sscard.registry.models import Person
from sscard.registry.schemas import LivingStatus
from sscard.transition import service as transition


class _PersonRow(NamedTuple):
    id: int
    id_number: str
    name: str
    living_status: str


class _CardRow(NamedTuple):
    card_no: str
    app_status: str | None


class _InsuredRow(NamedTuple):
    scheme: str
    person_type: str


@dataclass(frozen=True)
class Subject:
    """Who is settling: the columns the settlement needs, read in one query (not whole ORM objects)."""

    person: _PersonRow
    insured: _InsuredRow
    card: _CardRow | None
    identified_by: Literal["card", "id_number", "ecard", "legacy"]
    balance: int  # available balance of the personal account (0 if the person has none)


# The personal account (chart.PersonalMedical) joined by its code, so that identification is one query.
_ACCOUNT_JOIN = LedgerAccount.code == chart.PersonalMedical.code_sql(Person.id)
_VALID_CARD = Card.app_status.is_not(None) & (Card.app_status != AppStatus.CANCELLED.value)
_SUBJECT_COLUMNS = (Person.id, Person.id_number, Person.name, Person.living_status, Card.card_no, Card.app_status,
                    Insured.scheme, Insured.person_type,
                    # Balance.available_credit_balance, computed here
                    LedgerAccount.credits_posted - LedgerAccount.debits_posted - LedgerAccount.debits_pending)
_BY_CARD = (select(*_SUBJECT_COLUMNS).select_from(Card).join(Person, Person.id == Card.person_id)
            .outerjoin(Insured, Insured.person_id == Person.id).outerjoin(LedgerAccount, _ACCOUNT_JOIN)
            .where(Card.card_no == bindparam("card_no")))
_BY_CARD_ID = (select(*_SUBJECT_COLUMNS).select_from(Card).join(Person, Person.id == Card.person_id)
               .outerjoin(Insured, Insured.person_id == Person.id).outerjoin(LedgerAccount, _ACCOUNT_JOIN)
               .where(Card.id == bindparam("card_id")))
_BY_ID_NUMBER = (select(*_SUBJECT_COLUMNS).select_from(Person)
                 .outerjoin(Card, (Card.person_id == Person.id) & _VALID_CARD)
                 .outerjoin(Insured, Insured.person_id == Person.id).outerjoin(LedgerAccount, _ACCOUNT_JOIN)
                 .where(Person.id_number == bindparam("id_number")))


def identify(session: Session, card_no: str | None, id_number: str | None, card_id: int | None = None) -> Subject:
    """By card (app status must be 1 正常) — its number, or its id from a verified e-card code (the e-card
    package checked the code; the card rules are the same) — or by ID number when the card is formally lost or
    not yet made."""
    if sum(x is not None for x in (card_no, id_number, card_id)) != 1:
        raise IdentificationInvalid()
    by: Literal["card", "id_number", "ecard"]
    if card_no is not None or card_id is not None:
        found = _one_or_none(bulksql.execute(session, _BY_CARD, {"card_no": card_no.strip().upper()})
                             if card_no is not None else bulksql.execute(session, _BY_CARD_ID, {"card_id": card_id}))
        if found is None:
            raise CardNotFound(card_no)
        person, card, insured, balance = _subject_parts(found)
        assert card is not None  # the query starts from the card
        if card.app_status != AppStatus.NORMAL.value:
            raise CardNotUsable(app_status=card.app_status)  # the card number the caller sent, not echoed
        by = "card" if card_no is not None else "ecard"
    else:
        assert id_number is not None
        number = idnumber.parse(id_number).value
        by_number = _one_or_none(bulksql.execute(session, _BY_ID_NUMBER, {"id_number": number}))  # two valid cards:
        # MultipleResultsFound, as before
        if by_number is None:
            raise PersonNotFound(idnumber.mask(number))
        person, card, insured, balance = _subject_parts(by_number)
        if card is not None and card.app_status == AppStatus.NORMAL.value:
            # The caller sent an ID number: the card number is never told (it would identify the card to settle
            # with); the holder has the card.
            raise IdSettlementNotAllowed("the person holds a card in normal state: settle by card")
        if card is not None and card.app_status != AppStatus.FORMAL_LOSS.value:
            raise CardNotUsable(app_status=card.app_status)
        by = "id_number"
    told = idnumber.mask(person.id_number) if by == "id_number" else None  # only what the caller sent, masked
    if person.living_status != LivingStatus.ALIVE.value:
        raise PersonDeceased(told)
    if insured is None:
        raise PersonNotInsured(told)
    return Subject(person, insured, card, by, balance)


def identify_any(session: Session, actor: Actor, card_no: str | None, id_number: str | None,
                 ecard_code: str | None, spend_as: str | None = None, legacy_card_no: str | None = None) -> Subject:
    """``identify``, or by a scanned e-card code: the e-card package checks it (format, signature, time, e-card
    active, not used) and, for a settlement (``spend_as``: its reference), spends it in this transaction; then
    the card rules apply to the e-card's card as to a card number. Or, during the transition window, by the
    old medical card's number (``legacy_card_no``): the transition package names its holder, whose current
    card's rules then apply (docs/transition.md); after the window LEGACY_CARD_WINDOW_CLOSED."""
    if legacy_card_no is not None:
        if card_no is not None or id_number is not None or ecard_code is not None:
            raise IdentificationInvalid()
        return _by_legacy_card(session, legacy_card_no)
    if ecard_code is None:
        return identify(session, card_no, id_number)
    if card_no is not None or id_number is not None:
        raise IdentificationInvalid()
    scanned = (ecard.redeem_in(session, actor, ecard_code, "settlement", spend_as) if spend_as is not None
               else ecard.check_in(session, ecard_code))
    return identify(session, None, None, card_id=scanned.card_id)


_CURRENT_CARD = select(Card.id).where(Card.person_id == bindparam("person_id"), _VALID_CARD)


def _by_legacy_card(session: Session, legacy_card_no: str) -> Subject:
    """The old card's holder (``transition.legacy_holder_in``), mapped to the person's current card."""
    person_id = transition.legacy_holder_in(session, legacy_card_no)
    rows = bulksql.execute(session, _CURRENT_CARD, {"person_id": person_id})
    if not rows:
        raise CardNotFound(None)  # not yet made or cancelled: the counter settles by ID number
    return replace(identify(session, None, None, card_id=int(rows[0][0])), identified_by="legacy")


def ecard_card_no(db: Database, code: str) -> str:
    """The card number behind a scanned code (checked, not spent), for the PIN proof checked before the
    settlement's transaction; never told to the caller. A spent code still finds its card: the settlement's
    transaction refuses it, or answers a retried message from the journal."""
    with db.unit_of_work() as session:
        scanned = ecard.check_in(session, code, spent_ok=True)
        return session.get_one(Card, scanned.card_id).card_no


def _one_or_none(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    if len(rows) > 1:
        raise MultipleResultsFound("identification found more than one row")
    return rows[0] if rows else None


def _subject_parts(row: Any) -> tuple[_PersonRow, _CardRow | None, _InsuredRow | None, int]:
    person_id, id_number, name, living_status, card_no, app_status, scheme, person_type, balance = row
    return (_PersonRow(person_id, id_number, name, living_status),
            None if card_no is None else _CardRow(card_no, app_status),
            None if scheme is None else _InsuredRow(scheme, person_type), int(balance or 0))


_BALANCE = select(_SUBJECT_COLUMNS[-1]).where(LedgerAccount.code == bindparam("code"))


def available_balance(session: Session, person_id: int) -> int:
    """The personal account's available balance now (0 if the person has none)."""
    rows = bulksql.execute(session, _BALANCE, {"code": chart.PersonalMedical(person_id).code})
    return int(rows[0][0] or 0) if rows else 0
