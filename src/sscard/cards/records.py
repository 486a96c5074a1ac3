"""Helpers every card use case shares: loading a card (locked), the state machine's edge for an
operation, auditing a change, and the person's valid card and open application.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.bulksql import fetch_all
from sscard.cards.errors import CardNotFound, CardNotIssued, CardStateInvalid
from sscard.cards.models import Application, Card
from sscard.cards.states import APP_EDGES, IN_USE, ApplicationStatus, AppStatus
from sscard.ecard import service as ecard
from sscard.ecard.states import CardSignal


def find_card(session: Session, card_no: str, lock: bool = True) -> Card:
    query = select(Card).where(Card.card_no == card_no.strip().upper())
    if lock:
        query = query.with_for_update()
    card = session.execute(query).scalar_one_or_none()
    if card is None:
        raise CardNotFound(card_no)
    return card


def issued_status(card: Card) -> AppStatus:
    if card.app_status is None:
        raise CardNotIssued(card.card_no, production_status=card.production_status)
    return AppStatus(card.app_status)


def edge_target(card: Card, operation: str) -> AppStatus:
    status = issued_status(card)
    target = APP_EDGES[operation].get(status)
    if target is None:
        raise CardStateInvalid(f"{operation} is not allowed when the card is {status.name}",
                               card_no=card.card_no, app_status=status.value, operation=operation)
    return target


# Who else follows a card's status in the transaction of the change (sscard.exchange's subscriptions, which cards
# cannot import: exchange reads cards): each registers itself with ``on_status_change`` when it is imported.
StatusListener = Callable[[Session, Actor, Card], None]
STATUS_LISTENERS: list[StatusListener] = []


def on_status_change(listener: StatusListener) -> None:
    if listener not in STATUS_LISTENERS:
        STATUS_LISTENERS.append(listener)


def mirror_ecard(session: Session, actor: Actor, card: Card) -> None:
    """The card's e-card follows its new status in the same transaction: in use (正常, PIN-locked) → active,
    cancelled → ended, anything else (lost, sealed) → suspended."""
    status = AppStatus(card.app_status) if card.app_status is not None else None
    signal = (CardSignal.ENDED if status is AppStatus.CANCELLED
              else CardSignal.IN_USE if status in IN_USE else CardSignal.NOT_IN_USE)
    ecard.follow_card_in(session, actor, card.id, signal)
    notify_status(session, actor, card)


def notify_status(session: Session, actor: Actor, card: Card) -> None:
    """Tell the listeners (``on_status_change``) of the card's new status, in the transaction of the change.
    Every change of ``app_status`` ends here, through ``mirror_ecard`` or directly where the e-card follows
    another way (the hand-over of a replacement moves it to the new card; a PIN lock leaves it in use)."""
    for listener in STATUS_LISTENERS:
        listener(session, actor, card)


def today() -> dt.date:
    return clock.local_date()


def audit_change(session: Session, actor: Actor, action: str, card: Card, before: dict[str, object]) -> None:
    """Audit a change of the card; the card then carries the record's ``audit_seq`` back to the caller."""
    session.flush()
    card.recorded(audit.record(session, actor, action, "card", card.card_no, before, card.snapshot()))


def valid_card_of(session: Session, person_id: int) -> Card | None:
    return session.execute(
        select(Card).where(Card.person_id == person_id, Card.app_status.is_not(None),
                           Card.app_status != AppStatus.CANCELLED.value)
    ).scalar_one_or_none()


def valid_cards_of_persons(session: Session, person_ids: list[int]) -> dict[int, Card]:
    """Person id → that person's valid (issued, not cancelled) card, for those of ``person_ids`` who hold one."""
    found: dict[int, Card] = {}
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start:start + 500]
        found.update((c.person_id, c) for c in session.execute(
            select(Card).where(Card.person_id.in_(chunk), Card.app_status.is_not(None),
                               Card.app_status != AppStatus.CANCELLED.value)).scalars())
    return found


def valid_card_statuses_of(session: Session, person_ids: Collection[int]) -> dict[int, str]:
    """Person id → the application status of that person's valid card, for those of ``person_ids`` who hold one:
    one statement, no ORM objects (a department's verification requests, answered a few dozen at a time)."""
    cards = Card.__table__.c
    found: dict[int, str] = {}
    wanted = sorted(set(person_ids))
    if session.get_bind().dialect.name == "postgresql":  # constant text, one array: prepared by the driver
        return {int(p): str(s) for p, s in fetch_all(
            session, "SELECT person_id, app_status FROM cards WHERE person_id = ANY(?) AND app_status IS NOT NULL "
                     "AND app_status <> ?", (wanted, AppStatus.CANCELLED.value))}
    for start in range(0, len(wanted), 500):
        found.update((int(p), str(s)) for p, s in session.execute(
            select(cards.person_id, cards.app_status).where(
                cards.person_id.in_(wanted[start:start + 500]), cards.app_status.is_not(None),
                cards.app_status != AppStatus.CANCELLED.value)))
    return found


def open_application_of(session: Session, person_id: int) -> Application | None:
    return session.execute(
        select(Application).where(Application.person_id == person_id,
                                  Application.status == ApplicationStatus.OPEN.value)
    ).scalar_one_or_none()


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
