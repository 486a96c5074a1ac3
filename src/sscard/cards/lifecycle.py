"""Card status use cases: activation, unlocking, temporary and formal loss, lifting a loss,
cancellation (注销), and the job that lapses due temporary losses.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.errors import CancelReasonInvalid, CardStateInvalid, ReplacementRequested
from sscard.cards.models import Application, Card
from sscard.cards.pins import check_new_pin, pin_digest
from sscard.cards.records import audit_change, edge_target, find_card, mirror_ecard, today
from sscard.cards.states import ApplicationStatus, AppStatus, Business, CancelReason, ProductionStatus
from sscard.db import Database
from sscard.policy import service as policy
from sscard.registry import service as registry


def activate(db: Database, actor: Actor, card_no: str, pin: str) -> Card:
    """激活: in person; the medical PIN is set and may not be the initial 123456."""
    actor.require(Permission.CARD_ACTIVATE)
    check_new_pin(pin)
    with db.unit_of_work() as session:
        return activate_in(session, actor, card_no, pin)


def activate_in(session: Session, actor: Actor, card_no: str, pin: str) -> Card:
    """激活 inside the caller's transaction (the portal sets the holder's query password in the same one)."""
    actor.require(Permission.CARD_ACTIVATE)
    check_new_pin(pin)
    card = find_card(session, card_no)
    target = edge_target(card, "activate")
    before = card.snapshot()
    card.pin_hmac = pin_digest(card.card_no, pin)
    card.pin_failures = 0
    card.app_status = target.value
    card.activated_at = clock.now()
    audit_change(session, actor, "card.activate", card, before)
    mirror_ecard(session, actor, card)
    return card


def unlock(db: Database, actor: Actor, card_no: str, new_pin: str | None = None) -> Card:
    """解锁: at the HRSS window with ID and card; optionally the PIN is reset at the same time."""
    actor.require(Permission.CARD_UNLOCK)
    if new_pin is not None:
        check_new_pin(new_pin)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        target = edge_target(card, "unlock")
        before = card.snapshot()
        card.app_status = target.value
        card.pin_failures = 0
        if new_pin is not None:
            card.pin_hmac = pin_digest(card.card_no, new_pin)
        audit_change(session, actor, "card.unlock", card, before)
        return card


def report_temporary_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """临时挂失: freezes at once; lapses automatically after the configured period (``sscard jobs run``)."""
    actor.require(Permission.CARD_TEMP_LOSS)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        target = edge_target(card, "report_temporary_loss")
        days = policy.get_int(session, "card.temp_loss_days", today())
        before = card.snapshot()
        card.status_before_loss = card.app_status
        card.app_status = target.value
        card.temp_loss_expires_at = clock.now() + dt.timedelta(days=days)
        audit_change(session, actor, "card.temporary_loss", card, before)
        mirror_ecard(session, actor, card)
        return card


def report_formal_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """正式挂失: with ID in person; lifted only with the original card, before a replacement is requested."""
    actor.require(Permission.CARD_FORMAL_LOSS)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        target = edge_target(card, "report_formal_loss")
        before = card.snapshot()
        if card.app_status != AppStatus.TEMP_LOSS.value:
            card.status_before_loss = card.app_status
        card.app_status = target.value
        card.temp_loss_expires_at = None
        card.formal_loss_at = clock.now()
        audit_change(session, actor, "card.formal_loss", card, before)
        mirror_ecard(session, actor, card)
        return card


def lift_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """解挂: back to the status before the loss; refused once a replacement was requested for the card."""
    actor.require(Permission.CARD_LIFT_LOSS)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        edge_target(card, "lift_loss")
        replacement = session.execute(
            select(Application.id).where(Application.old_card_id == card.id,
                                         Application.business == Business.REPLACEMENT.value,
                                         Application.status != ApplicationStatus.VOIDED.value)
        ).first()
        if replacement is not None:
            raise ReplacementRequested(card.card_no)
        before = card.snapshot()
        _restore_after_loss(card)
        audit_change(session, actor, "card.lift_loss", card, before)
        mirror_ecard(session, actor, card)
        return card


def lift_own_temporary_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """网上解挂 by the cardholder: only a *temporary* loss of their own card (a formal loss is lifted at a counter
    with the card and ID), back to the status before the loss."""
    actor.require(Permission.PORTAL_SELF)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        actor.require_own(card.person_id)
        if card.app_status != AppStatus.TEMP_LOSS.value:
            raise CardStateInvalid("only a temporary loss is lifted online", card_no=card.card_no,
                                   app_status=card.app_status)
        before = card.snapshot()
        _restore_after_loss(card)
        audit_change(session, actor, "card.lift_loss", card, before)
        mirror_ecard(session, actor, card)
        return card


def _restore_after_loss(card: Card) -> None:
    card.app_status = card.status_before_loss or AppStatus.NORMAL.value
    card.status_before_loss = None
    card.temp_loss_expires_at = None
    card.formal_loss_at = None


def cancel(db: Database, actor: Actor, card_no: str, reason: CancelReason) -> Card:
    """注销 on death, emigration or transfer out: the card, any card in production and open applications."""
    actor.require(Permission.CARD_CANCEL)
    with db.unit_of_work() as session:
        return cancel_in(session, actor, card_no, reason)


def cancel_in(session: Session, actor: Actor, card_no: str, reason: CancelReason) -> Card:
    """``cancel`` inside the caller's transaction (a death reported by the public-security feed cancels the card
    in the same transaction as the rest of that death, docs/exchange-feeds.md)."""
    actor.require(Permission.CARD_CANCEL)
    reason = CancelReason(reason)
    if reason not in (CancelReason.DEATH, CancelReason.EMIGRATION, CancelReason.TRANSFER_OUT):
        raise CancelReasonInvalid(reason.value)
    card = find_card(session, card_no)
    if card.app_status is not None:
        edge_target(card, "cancel")
    elif card.production_status == ProductionStatus.VOIDED.value:
        raise CardStateInvalid("the card was already voided", card_no=card.card_no)
    now = clock.now()
    person_cards = session.execute(
        select(Card).where(Card.person_id == card.person_id).with_for_update()
    ).scalars().all()
    for each in person_cards:
        before = each.snapshot()
        if each.app_status is None and each.production_status != ProductionStatus.VOIDED.value:
            each.production_status = ProductionStatus.VOIDED.value
        elif each.app_status is not None and each.app_status != AppStatus.CANCELLED.value:
            each.app_status = AppStatus.CANCELLED.value
        else:
            continue
        each.cancelled_at, each.cancel_reason = now, reason.value
        audit_change(session, actor, "card.cancel", each, before)
        mirror_ecard(session, actor, each)
    for app in session.execute(
        select(Application).where(Application.person_id == card.person_id,
                                  Application.status == ApplicationStatus.OPEN.value)
    ).scalars():
        app.status = ApplicationStatus.VOIDED.value
        audit.record(session, actor, "application.void", "application", app.id, {"status": "open"},
                     {"status": "voided", "reason": reason.value})
    if reason is CancelReason.DEATH:
        registry.record_death_in(session, actor, card.person_id)
    session.flush()
    return card


def cancel_person_cards_in(session: Session, actor: Actor, person_id: int, reason: CancelReason) -> str | None:
    """Cancel whatever card the person has (issued, or still in production) through ``cancel_in``, inside the
    caller's transaction; the card number cancelled, or None when the person holds none (death is still
    recorded in the registry)."""
    actor.require(Permission.CARD_CANCEL)
    live = session.execute(
        select(Card.card_no).where(Card.person_id == person_id,
                                   ((Card.app_status.is_not(None)) & (Card.app_status != AppStatus.CANCELLED.value))
                                   | ((Card.app_status.is_(None))
                                      & (Card.production_status != ProductionStatus.VOIDED.value)))
        .order_by(Card.id)).scalars().first()
    if live is None:
        if CancelReason(reason) is CancelReason.DEATH:
            registry.record_death_in(session, actor, person_id)
        return None
    cancel_in(session, actor, live, reason)
    return live


def lapse_temporary_losses(db: Database, actor: Actor, now: dt.datetime | None = None,
                           chunk: int = 500) -> int:
    """临时挂失到期自动解挂: due temporary losses go back to their previous status, in chunks."""
    actor.require(Permission.JOBS_RUN)
    now = now or clock.now()
    lapsed = 0
    while True:
        with db.unit_of_work() as session:
            due = session.execute(
                select(Card).where(Card.app_status == AppStatus.TEMP_LOSS.value,
                                   Card.temp_loss_expires_at <= now)
                .order_by(Card.id).limit(chunk).with_for_update()
            ).scalars().all()
            for card in due:
                before = card.snapshot()
                _restore_after_loss(card)
                audit_change(session, actor, "card.temporary_loss_lapsed", card, before)
                mirror_ecard(session, actor, card)
        lapsed += len(due)
        if len(due) < chunk:
            return lapsed
