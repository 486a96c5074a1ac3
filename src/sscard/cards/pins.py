"""The medical PIN: its digest, its format and strength rules, and checking it (each wrong try
counted and audited, the card locked at the configured limit).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.cards.errors import CardLocked, PinFormatInvalid, PinTooWeak
from sscard.cards.models import Card
from sscard.cards.records import audit_change, edge_target, find_card, notify_status, today
from sscard.cards.states import AppStatus
from sscard.config import get_settings
from sscard.db import Database
from sscard.policy import service as policy

WEAK_PINS = frozenset({"123456"})  # the issuer's initial medical PIN may never stay in use


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    remaining_tries: int
    locked: bool


def pin_digest(card_no: str, pin: str) -> str:
    # HMAC with a server-held key rather than argon2: a 6-digit PIN has only 10^6 values, so a slow hash
    # would not protect a leaked table, but a secret key does, and verification stays fast at the counter.
    key = bytes.fromhex(get_settings().pin_pepper_hex)
    return hmac.new(key, f"{card_no}:{pin}".encode(), hashlib.sha256).hexdigest()


def _well_formed_pin(pin: str) -> str:
    """Six ASCII digits (``str.isdigit`` would also take full-width and other scripts' digits), else
    ``PIN_FORMAT_INVALID``: a malformed PIN is refused before any comparison and never costs a try."""
    if not isinstance(pin, str) or len(pin) != 6 or not all("0" <= c <= "9" for c in pin):
        raise PinFormatInvalid()
    return pin


def check_new_pin(pin: str) -> str:
    _well_formed_pin(pin)
    if pin in WEAK_PINS:
        raise PinTooWeak()
    return pin


def check_pin(session: Session, actor: Actor, card: Card, pin: str) -> PinCheck:
    """Compare the PIN; a wrong one is counted (and audited), locking the card at the configured limit."""
    if card.app_status == AppStatus.LOCKED.value:
        raise CardLocked(card.card_no)
    edge_target(card, "verify_pin")
    _well_formed_pin(pin)  # a typo of the wrong shape is not a guess: refused, not counted
    limit = policy.get_int(session, "card.pin_max_tries", today())
    if card.pin_hmac is not None and hmac.compare_digest(card.pin_hmac, pin_digest(card.card_no, pin)):
        if card.pin_failures:
            before = card.snapshot()
            card.pin_failures = 0
            audit_change(session, actor, "card.pin_ok", card, before)
        return PinCheck(True, limit, False)
    before = card.snapshot()
    card.pin_failures += 1
    locked = card.pin_failures >= limit
    if locked:
        card.app_status = AppStatus.LOCKED.value
    audit_change(session, actor, "card.lock" if locked else "card.pin_wrong", card, before)
    if locked:
        notify_status(session, actor, card)
    return PinCheck(False, max(limit - card.pin_failures, 0), locked)


def verify_pin(db: Database, actor: Actor, card_no: str, pin: str) -> PinCheck:
    """Check the medical PIN; each wrong try is kept (and audited) even though the check fails."""
    actor.require(Permission.CARD_PIN)
    with db.unit_of_work() as session:
        return check_pin(session, actor, find_card(session, card_no), pin)


def verify_pin_at_settlement(db: Database, actor: Actor, card_no: str, pin: str) -> PinCheck:
    """The medical PIN typed at a designated institution's counter (proof of presence for a settlement by card):
    checked, counted and audited as ``verify_pin``, for an actor who may settle."""
    actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        return check_pin(session, actor, find_card(session, card_no), pin)


def change_pin(db: Database, actor: Actor, card_no: str, old_pin: str, new_pin: str) -> PinCheck:
    """修改密码: the old PIN must be right (a wrong one counts towards the lock); the new one is checked."""
    actor.require(Permission.CARD_PIN)
    check_new_pin(new_pin)
    with db.unit_of_work() as session:
        return _change(session, actor, find_card(session, card_no), old_pin, new_pin)


def _change(session: Session, actor: Actor, card: Card, old_pin: str, new_pin: str) -> PinCheck:
    """The change itself, once the caller may make it: the old PIN checked (a wrong one counts), then the new
    one stored and audited."""
    check = check_pin(session, actor, card, old_pin)
    if check.ok:
        edge_target(card, "change_pin")
        before = card.snapshot()
        card.pin_hmac = pin_digest(card.card_no, new_pin)
        audit_change(session, actor, "card.change_pin", card, before)
    return check


def change_own_pin(db: Database, actor: Actor, card_no: str, old_pin: str, new_pin: str) -> PinCheck:
    """修改社保卡密码 by the cardholder at a kiosk (their card in the reader), by ``change_pin``'s rules."""
    actor.require(Permission.PORTAL_SELF)
    check_new_pin(new_pin)
    with db.unit_of_work() as session:
        card = find_card(session, card_no)
        actor.require_own(card.person_id)
        return _change(session, actor, card, old_pin, new_pin)
