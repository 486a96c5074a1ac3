"""Cardholder use cases: the query password (set at activation, changed by the holder, reset at a counter),
login by card number or ID number (and at a kiosk by the card in the reader) with lockout, sessions that
expire, reporting a temporary loss and updating phone and address. Reads are in ``portal.reads``.

Every function takes the acting ``Actor``; a cardholder actor (``Role.CARDHOLDER``) carries its person and
may act only on that person (``Actor.require_own``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.audit import service as audit
from sscard.auth.roles import SYSTEM_ACTOR, Actor, Permission, Role
from sscard.cards import service as cards
from sscard.cards.errors import CardNotFound
from sscard.cards.models import Card
from sscard.cards.states import AppStatus
from sscard.db import Database
from sscard.errors import DomainError
from sscard.policy import service as policy
from sscard.portal.errors import (
    AddressInvalid,
    CardNotForKiosk,
    PortalLocked,
    PortalLoginFailed,
    PortalSessionInvalid,
    QueryPasswordInvalid,
    QueryPasswordMismatch,
)
from sscard.portal.models import PortalAccount, PortalSession
from sscard.portal.schemas import IssuedSession
from sscard.registry import service as registry
from sscard.registry.models import Person

_hasher = PasswordHasher()
_DIGITS = re.compile(r"^[0-9]{6,12}$")
_CARD_NO = re.compile(r"^[A-Za-z][0-9A-Za-z]{7}[0-9Xx]$")  # sequential and random serials (cards.numbers)
MAX_FAILED = "portal.max_failed_logins"
SESSION_MINUTES = "portal.session_minutes"
KIOSK_IDLE_SECONDS = "portal.kiosk_idle_seconds"
# Cards that cannot open a kiosk session (their holder may still log in online by card or ID number): lost or
# cancelled cards, cards not yet activated by their holder, and cards still in production.
_KIOSK_REFUSED = {AppStatus.SEALED.value, AppStatus.TEMP_LOSS.value, AppStatus.FORMAL_LOSS.value,
                  AppStatus.CANCELLED.value, None}


def cardholder_actor(person_id: int) -> Actor:
    return Actor(operator_id=None, username=f"cardholder:{person_id}", role=Role.CARDHOLDER, person_id=person_id)


def check_query_password(password: str) -> str:
    """Digits only (the kiosk has a numeric keypad), 6–12 long, not one repeated digit nor a run."""
    if not _DIGITS.match(password or ""):
        raise QueryPasswordInvalid()
    steps = {int(b) - int(a) for a, b in itertools.pairwise(password)}
    if steps in ({0}, {1}, {-1}):
        raise QueryPasswordInvalid("a repeated digit or a run")
    return password


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _today() -> dt.date:
    return clock.local_date()


# ------------------------------------------------------------------------------------------ query password


def set_query_password(db: Database, actor: Actor, card_no: str, password: str) -> int:
    """At activation (or later at a counter, to reset a forgotten or locked one): set the holder's query
    password for the card's person and clear the lockout. Returns the person's id (the audit entity)."""
    actor.require(Permission.CARD_ACTIVATE)
    check_query_password(password)
    with db.unit_of_work() as session:
        card = session.execute(select(Card).where(Card.card_no == card_no.strip().upper())).scalar_one_or_none()
        if card is None:
            raise CardNotFound(card_no)
        account = session.get(PortalAccount, card.person_id, with_for_update=True)
        before = None if account is None else {"failed_logins": account.failed_logins, "locked": account.locked}
        if account is None:
            account = PortalAccount(person_id=card.person_id, password_hash="")
            session.add(account)
        account.password_hash = _hasher.hash(password)
        account.failed_logins, account.locked, account.password_set_at = 0, False, clock.now()
        audit.record(session, actor, "portal.password_set", "person", card.person_id, before,
                     {"failed_logins": 0, "locked": False, "card_no": card.card_no})
        return card.person_id


def change_password(db: Database, actor: Actor, old: str, new: str, repeat: str) -> None:
    """The cardholder changes their own query password (the old one must be right; a wrong one counts)."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    if new != repeat:
        raise QueryPasswordMismatch()
    check_query_password(new)
    failure: DomainError | None = None
    with db.unit_of_work() as session:
        account = session.get(PortalAccount, actor.person_id, with_for_update=True)
        if account is None:
            raise PortalSessionInvalid()
        if not _verify(account, old):
            failure = _count_failure(session, account)
        else:
            account.password_hash = _hasher.hash(new)
            account.password_set_at = clock.now()
            audit.record(session, actor, "portal.password_change", "person", actor.person_id)
    if failure is not None:  # raised after commit: the failure counter must persist
        raise failure


def _verify(account: PortalAccount, password: str) -> bool:
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(session: Session, account: PortalAccount) -> DomainError:
    account.failed_logins += 1
    locked = account.failed_logins >= policy.get_int(session, MAX_FAILED, _today())
    account.locked = account.locked or locked
    audit.record(session, SYSTEM_ACTOR, "portal.login_failed", "person", account.person_id, None,
                 {"failed_logins": account.failed_logins, "locked": account.locked})
    return PortalLocked() if account.locked else PortalLoginFailed()


# ------------------------------------------------------------------------------------------------- login


def _person_of(session: Session, identifier: str, kiosk: bool) -> int | None:
    """The person named by a card number (A1234567X) or an ID number; None when there is none."""
    text = identifier.strip().upper()
    if _CARD_NO.match(text):
        card = session.execute(select(Card).where(Card.card_no == text)).scalar_one_or_none()
        if card is None or card.app_status == AppStatus.CANCELLED.value:
            return None
        if kiosk and card.app_status in _KIOSK_REFUSED:
            raise CardNotForKiosk(card_no=card.card_no)
        return card.person_id
    if kiosk:
        return None
    try:
        return registry.find_by_id_number(session, text).id
    except DomainError:  # malformed or unknown: the same answer as a wrong password (no enumeration)
        return None


def login(db: Database, identifier: str, password: str, kiosk: bool = False) -> IssuedSession:
    """Card number or ID number + query password → a cardholder session. Wrong passwords count towards
    ``portal.max_failed_logins``; at the limit the account locks until a counter resets the password.
    Kiosk sessions (``kiosk=True``: the card number was read from the chip) also end when idle."""
    failure: DomainError
    with db.unit_of_work() as session:
        person_id = _person_of(session, identifier, kiosk)
        account = None if person_id is None else session.get(PortalAccount, person_id, with_for_update=True)
        if account is None:
            _hasher.hash(password)  # the same time as a real check: no enumeration by timing
            raise PortalLoginFailed()
        if account.locked:
            raise PortalLocked()
        if not _verify(account, password):
            failure = _count_failure(session, account)
        else:
            account.failed_logins = 0
            token = secrets.token_urlsafe(32)
            now = clock.now()
            minutes = policy.get_int(session, SESSION_MINUTES, _today())
            expires = now + dt.timedelta(minutes=minutes)
            session.add(PortalSession(token_sha256=_sha(token), person_id=account.person_id, kiosk=kiosk,
                                      created_at=now, last_seen_at=now, expires_at=expires))
            actor = cardholder_actor(account.person_id)
            audit.record(session, actor, "portal.login", "person", account.person_id, None, {"kiosk": kiosk})
            return IssuedSession(token, expires, actor, kiosk)
    raise failure


def authenticate(db: Database, token: str) -> tuple[Actor, bool]:
    """Session token → (cardholder actor, is a kiosk session). Kiosk sessions slide with use and end after
    ``portal.kiosk_idle_seconds`` without a request; every session ends at its absolute expiry, and all end
    when the account locks."""
    with db.unit_of_work() as session:
        found = session.execute(select(PortalSession, PortalAccount.locked)
                                .join(PortalAccount, PortalAccount.person_id == PortalSession.person_id)
                                .where(PortalSession.token_sha256 == _sha(token))).first()
        now = clock.now()
        if found is None or found[0].revoked or found[0].expires_at <= now or found[1]:
            raise PortalSessionInvalid()
        row = found[0]
        idle = False
        if row.kiosk:
            limit = policy.get_int(session, KIOSK_IDLE_SECONDS, _today())
            idle = row.last_seen_at + dt.timedelta(seconds=limit) <= now
            row.revoked, row.last_seen_at = idle, row.last_seen_at if idle else now
        actor, kiosk = cardholder_actor(row.person_id), row.kiosk
    if idle:  # raised after commit: the idle session stays revoked
        raise PortalSessionInvalid("idle")
    return actor, kiosk


def kiosk_idle_seconds(db: Database) -> int:
    with db.unit_of_work() as session:
        return policy.get_int(session, KIOSK_IDLE_SECONDS, _today())


def logout(db: Database, token: str) -> None:
    with db.unit_of_work() as session:
        row = session.execute(select(PortalSession).where(PortalSession.token_sha256 == _sha(token))
                              ).scalar_one_or_none()
        if row is not None and not row.revoked:
            row.revoked = True
            audit.record(session, cardholder_actor(row.person_id), "portal.logout", "person", row.person_id)


# ------------------------------------------------------------------------------------------ self-service


def _own_card(db: Database, actor: Actor, card_no: str) -> str:
    with db.unit_of_work() as session:
        card = session.execute(select(Card).where(Card.card_no == card_no.strip().upper())).scalar_one_or_none()
        if card is None:
            raise CardNotFound(card_no)
        actor.require_own(card.person_id)
        return card.card_no


def report_temporary_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """临时挂失 by the cardholder: through the card service, so counters see it (and its audit) at once."""
    actor.require(Permission.PORTAL_SELF)
    return cards.report_temporary_loss(db, actor, _own_card(db, actor, card_no))


def check_address(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    address = unicodedata.normalize("NFC", " ".join(raw.split()))
    if len(address) > 200 or any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in address):
        raise AddressInvalid()
    return address


def update_contact(db: Database, actor: Actor, phone: str | None, address: str | None) -> None:
    """The cardholder's phone (in the registry, by the registry's own rule) and mail address (here)."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    actor.require_own(actor.person_id)
    new_phone = registry._phone(phone)  # the registry's phone rule, shared rather than copied
    new_address = check_address(address)
    with db.unit_of_work() as session:
        person = session.get_one(Person, actor.person_id, with_for_update=True)
        account = session.get_one(PortalAccount, actor.person_id, with_for_update=True)
        before = {"phone": person.phone, "address": account.address}
        person.phone, account.address = new_phone, new_address
        person.version += 1
        audit.record(session, actor, "portal.contact_update", "person", person.id, before,
                     {"phone": new_phone, "address": new_address})
