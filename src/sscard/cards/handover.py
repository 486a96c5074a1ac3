"""From a collected card to the holder's hands: the production steps (one card or a batch file's
whole batch) and the pickup at the outlet that holds the card (领卡).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from sscard import clock
from sscard.access import Actor, Permission, PermissionDenied, Role
from sscard.auth.errors import OutletNotFound
from sscard.auth.models import Outlet
from sscard.cards.errors import CardNotAtOutlet, CardNotFound, ProductionTransitionInvalid
from sscard.cards.models import Application, Card
from sscard.cards.records import add_years, audit_change, find_card, notify_status, today
from sscard.cards.states import PRODUCTION_EDGES, ApplicationStatus, AppStatus, Business, CancelReason, ProductionStatus
from sscard.db import Database
from sscard.ecard import service as ecard
from sscard.policy import service as policy


def advance_production(db: Database, actor: Actor, card_no: str, to_status: ProductionStatus,
                       outlet_code: str | None = None, bank_code: str | None = None) -> Card:
    """Move a card along the production pipeline (the production issue's batch steps call this)."""
    actor.require(Permission.CARD_PRODUCTION)
    to_status = ProductionStatus(to_status)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        current = ProductionStatus(card.production_status)
        if to_status not in PRODUCTION_EDGES[current]:
            raise ProductionTransitionInvalid(f"{current.name} → {to_status.name}", card_no=card.card_no)
        before = card.snapshot()
        if to_status is ProductionStatus.AT_OUTLET:
            if not outlet_code:
                raise ProductionTransitionInvalid("AT_OUTLET needs the outlet code", card_no=card.card_no)
            outlet = session.execute(select(Outlet).where(Outlet.code == outlet_code)).scalar_one_or_none()
            if outlet is None:
                raise OutletNotFound(outlet_code)
            card.outlet_id = outlet.id
        if bank_code:
            card.bank_code = bank_code
        card.production_status = to_status.value
        audit_change(session, actor, f"production.{to_status.name.lower()}", card, before)
        return card


def advance_production_batch(db: Database, actor: Actor, card_nos: list[str], to_status: ProductionStatus,
                             outlet_code: str | None = None) -> int:
    """One production step for a whole batch, all or nothing (a batch file's header equals its records)."""
    actor.require(Permission.CARD_PRODUCTION)
    to_status = ProductionStatus(to_status)
    with db.unit_of_work() as session:
        outlet_id = None
        if to_status is ProductionStatus.AT_OUTLET:
            outlet = session.execute(select(Outlet).where(Outlet.code == outlet_code)).scalar_one_or_none()
            if outlet is None:
                raise OutletNotFound(str(outlet_code))
            outlet_id = outlet.id
        batch = session.execute(
            select(Card).where(Card.card_no.in_(card_nos)).order_by(Card.id).with_for_update()).scalars().all()
        if len(batch) != len(set(card_nos)):
            raise CardNotFound(f"{len(set(card_nos)) - len(batch)} of the batch's cards do not exist")
        for card in batch:
            current = ProductionStatus(card.production_status)
            if to_status not in PRODUCTION_EDGES[current]:
                raise ProductionTransitionInvalid(f"{card.card_no}: {current.name} → {to_status.name}",
                                                  card_no=card.card_no)
            before = card.snapshot()
            card.production_status = to_status.value
            if outlet_id is not None:
                card.outlet_id = outlet_id
            audit_change(session, actor, f"production.{to_status.name.lower()}", card, before)
        return len(batch)


def pick_up(db: Database, actor: Actor, card_no: str) -> Card:
    """领卡: the card is handed over sealed (封存). A replacement/exchange cancels the old card now."""
    actor.require(Permission.CARD_PICKUP)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        if card.production_status != ProductionStatus.AT_OUTLET.value:
            raise CardNotAtOutlet(card.card_no, production_status=card.production_status)
        if card.outlet_id is None or actor.outlet_id != card.outlet_id:  # every role, administrators included
            held_at = session.get(Outlet, card.outlet_id) if card.outlet_id is not None else None
            raise CardNotAtOutlet(f"the card waits at outlet {held_at.code} ({held_at.name}); it is handed over "
                                  "there" if held_at else "the card is at no outlet",
                                  outlet=held_at.code if held_at else None)
        application = session.get_one(Application, card.application_id)
        now = clock.now()
        if application.old_card_id is not None:
            old = session.get_one(Card, application.old_card_id, with_for_update=True)
            if old.app_status != AppStatus.CANCELLED.value:
                old_before = old.snapshot()
                old.app_status = AppStatus.CANCELLED.value
                old.cancelled_at = now
                old.cancel_reason = (CancelReason.REPLACED if application.business == Business.REPLACEMENT
                                     else CancelReason.EXCHANGED).value
                audit_change(session, actor, "card.cancel", old, old_before)  # flushes before the new card is valid
                notify_status(session, actor, old)
        before = card.snapshot()
        card.production_status = ProductionStatus.PICKED_UP.value
        card.app_status = AppStatus.SEALED.value
        card.issued_at = now
        day = today()
        card.expires_on = add_years(day, policy.get_int(session, "card.validity_years", day))
        application.status = ApplicationStatus.COMPLETED.value
        application.completed_at = now
        audit_change(session, actor, "card.pick_up", card, before)
        notify_status(session, actor, card)
        if application.old_card_id is not None:  # the holder's e-card moves to the new card, suspended until
            ecard.move_in(session, actor, application.old_card_id, card.id)  # the new card is activated
        return card


def at_outlet_of(db: Database, actor: Actor, card_no: str) -> Actor:
    """The system actor placed at the outlet that holds the card, for the demo seed's hand-overs (every
    hand-over happens at the card's outlet, and the audit record names it). Operators keep their own outlet."""
    if actor.role is not Role.SYSTEM:
        raise PermissionDenied("only the system acts at a card's outlet on its behalf",
                               permission=Permission.CARD_PICKUP.value)
    with db.unit_of_work() as session:
        card = find_card(session, card_no, lock=False)
        outlet = session.get(Outlet, card.outlet_id) if card.outlet_id is not None else None
        if outlet is None:
            raise CardNotAtOutlet("the card is at no outlet")
        return dataclasses.replace(actor, outlet_id=outlet.id, outlet_code=outlet.code)
