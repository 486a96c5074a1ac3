"""Cardholder use cases: the query password (set at activation, changed by the holder, reset at a counter),
login by card number or ID number (and at a kiosk by the card in the reader) with a temporary lockout per
holder and per client address (``auth.throttle``, scope ``portal``), sessions that expire and all end when the
password changes or is reset, reporting a temporary loss and updating phone and address. Reads are in
``portal.reads``.

Every function takes the acting ``Actor``; a cardholder actor (``Role.CARDHOLDER``) carries its person and
may act only on that person (``Actor.require_own``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import re
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Actor, Permission, Role
from sscard.audit import service as audit
from sscard.auth import throttle
from sscard.cards import service as cards
from sscard.cards.errors import CardNotFound
from sscard.cards.models import Card
from sscard.cards.states import IN_USE, AppStatus
from sscard.db import Database
from sscard.ecard import service as ecard
from sscard.errors import DomainError
from sscard.policy import service as policy
from sscard.portal.errors import (
    AddressInvalid,
    CardNotForKiosk,
    KioskLoginFailed,
    PortalLoginFailed,
    PortalSessionInvalid,
    QueryPasswordInvalid,
    QueryPasswordMismatch,
)
from sscard.portal.models import PortalAccount, PortalSession
from sscard.portal.schemas import IssuedSession
from sscard.registry import service as registry

_hasher = PasswordHasher()
_DIGITS = re.compile(r"^[0-9]{6,12}$")
_CARD_NO = re.compile(r"^[A-Za-z][0-9A-Za-z]{7}[0-9Xx]$")  # sequential and random serials (cards.numbers)
SCOPE = "portal"  # the throttle's key space and policy prefix (portal.max_failed_logins, ...)
SESSION_MINUTES = "portal.session_minutes"
KIOSK_IDLE_SECONDS = "portal.kiosk_idle_seconds"
# Only a card in use (``states.IN_USE``) opens a kiosk session; the holder of a lost or cancelled card, of one
# not yet activated or of one still in production may still log in online by card or ID number.
_KIOSK_CARDS = frozenset(status.value for status in IN_USE)


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
    """At a counter, to reset a forgotten or locked one: set the holder's query password for the card's person,
    lift the holder's lock and end every session of theirs. Returns the audit record's sequence number."""
    actor.require(Permission.CARD_ACTIVATE)
    check_query_password(password)
    with db.unit_of_work() as session:
        card = session.execute(select(Card).where(Card.card_no == card_no.strip().upper())).scalar_one_or_none()
        if card is None:
            raise CardNotFound(card_no)
        return _set_query_password(session, actor, card.card_no, card.person_id, password)


def activate_with_password(db: Database, actor: Actor, card_no: str, pin: str, password: str) -> Card:
    """激活 with the holder's first query password: one use case, one transaction (a refused password leaves the
    card sealed). The card carries the activation's ``audit_seq``."""
    actor.require(Permission.CARD_ACTIVATE)
    check_query_password(password)
    with db.unit_of_work() as session:
        card = cards.activate_in(session, actor, card_no, pin)
        _set_query_password(session, actor, card.card_no, card.person_id, password)
        return card


def _set_query_password(session: Session, actor: Actor, card_no: str, person_id: int, password: str) -> int:
    account = session.get(PortalAccount, person_id, with_for_update=True)
    if account is None:
        account = PortalAccount(person_id=person_id, password_hash="")
        session.add(account)
    account.password_hash = _hasher.hash(password)
    account.password_set_at = clock.now()
    throttle.unlock(session, actor, throttle.account_key(SCOPE, str(person_id)))
    ended = _end_sessions(session, person_id)
    return audit.record(session, actor, "portal.password_set", "person", person_id, None,
                        {"card_no": card_no, "sessions_ended": ended}).seq


def _end_sessions(session: Session, person_id: int) -> int:
    result = session.execute(update(PortalSession).where(PortalSession.person_id == person_id,
                                                         PortalSession.revoked.is_(False)).values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)


def change_password(db: Database, actor: Actor, old: str, new: str, repeat: str, kiosk: bool = False,
                    address: str | None = None) -> IssuedSession:
    """The cardholder changes their own query password (the old one must be right; a wrong one counts as a
    failed login). Every session of the holder ends — on other browsers and kiosks too — and a new one is
    issued for the caller."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    if new != repeat:
        raise QueryPasswordMismatch()
    check_query_password(new)
    failure: DomainError
    with db.unit_of_work() as session:
        account = session.get(PortalAccount, actor.person_id, with_for_update=True)
        if account is None:
            raise PortalSessionInvalid()
        if throttle.locked(session, throttle.keys(SCOPE, str(actor.person_id), address)):
            raise PortalLoginFailed()
        if not _verify(account, old):
            failure = _count_failure(session, account.person_id, address)
        else:
            account.password_hash = _hasher.hash(new)
            account.password_set_at = clock.now()
            ended = _end_sessions(session, actor.person_id)
            change = audit.record(session, actor, "portal.password_change", "person", actor.person_id, None,
                                  {"sessions_ended": ended})
            issued = _open_session(session, account.person_id, kiosk, "portal.login")
            return dataclasses.replace(issued, audit_seq=change.seq)
    raise failure  # raised after commit: the failure counter must persist


def _verify(account: PortalAccount, password: str) -> bool:
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(session: Session, person_id: int | None, address: str | None,
                   identifier: str = "", kiosk: bool = False) -> DomainError:
    """One failed login against the holder (or, for an unknown one, what was typed) and the address."""
    account = str(person_id) if person_id is not None else f"unknown:{_sha(identifier.strip().upper())[:32]}"
    locks = throttle.fail(session, SCOPE, account, address)
    if person_id is not None:
        audit.record(session, SYSTEM_ACTOR, "portal.login_failed", "person", person_id, None,
                     {"locked": any(lock.key.startswith("portal:account:") for lock in locks)})
    return KioskLoginFailed() if kiosk else PortalLoginFailed()


# ------------------------------------------------------------------------------------------------- login


def _person_of(session: Session, identifier: str, kiosk: bool) -> int | None:
    """The person named by a card number (A1234567X) or an ID number; None when there is none."""
    text = identifier.strip().upper()
    if _CARD_NO.match(text):
        card = session.execute(select(Card).where(Card.card_no == text)).scalar_one_or_none()
        if card is None or card.app_status == AppStatus.CANCELLED.value:
            return None
        if kiosk and card.app_status not in _KIOSK_CARDS:
            raise CardNotForKiosk(card_no=card.card_no)
        return card.person_id
    if kiosk:
        return None
    try:
        return registry.find_by_id_number(session, text).id
    except DomainError:  # malformed or unknown: the same answer as a wrong password (no enumeration)
        return None


def _open_session(session: Session, person_id: int, kiosk: bool, action: str) -> IssuedSession:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    minutes = policy.get_int(session, SESSION_MINUTES, _today())
    expires = now + dt.timedelta(minutes=minutes)
    session.add(PortalSession(token_sha256=_sha(token), person_id=person_id, kiosk=kiosk,
                              created_at=now, last_seen_at=now, expires_at=expires))
    actor = cardholder_actor(person_id)
    audit.record(session, actor, action, "person", person_id, None, {"kiosk": kiosk})
    return IssuedSession(token, expires, actor, kiosk)


def login(db: Database, identifier: str, password: str, kiosk: bool = False,
          address: str | None = None) -> IssuedSession:
    """Card number or ID number + query password → a cardholder session. Unknown holders, wrong passwords and
    temporarily locked holders or addresses all get ``PORTAL_LOGIN_FAILED``; failures count per holder and per
    client address (policy ``portal.*``), locks end by themselves or when a counter resets the password.
    Kiosk sessions (``kiosk=True``: the card number was read from the chip) also end when idle."""
    with db.unit_of_work() as session:
        checked = check_password_in(session, identifier, password, kiosk, address)
        if isinstance(checked, int):
            return _open_session(session, checked, kiosk, "portal.login")
    raise checked  # after the commit: the failure is counted


def check_password_in(session: Session, identifier: str, password: str, kiosk: bool = False,
                      address: str | None = None) -> int | DomainError:
    """The holder's person id if ``password`` is their query password, else the error to raise *after* the
    transaction commits (so that the failure is counted): the login's rules, throttle included, for every use
    of the query password (login; a family member's consent to be added to someone's e-card)."""
    person_id = _person_of(session, identifier, kiosk)
    account_name = str(person_id) if person_id is not None else f"unknown:{_sha(identifier.strip().upper())[:32]}"
    # The row lock serialises one holder's attempts, so none slips past a lock taken meanwhile.
    account = None if person_id is None else session.get(PortalAccount, person_id, with_for_update=True)
    if throttle.locked(session, throttle.keys(SCOPE, account_name, address)):
        # refused before any check: a lock is not a guessing oracle
        raise KioskLoginFailed() if kiosk else PortalLoginFailed()
    if account is None:
        _hasher.hash(password)  # the same time as a real check: no enumeration by timing
        return _count_failure(session, None, address, identifier, kiosk)
    if not _verify(account, password):
        return _count_failure(session, account.person_id, address, kiosk=kiosk)
    throttle.succeed(session, SCOPE, str(account.person_id))
    return account.person_id


def login_by_ecard_code(db: Database, code: str) -> IssuedSession:
    """A kiosk session from a scanned e-card code (扫码登录): the code is checked by the e-card package and spent
    (one login per code); the e-card being active means the holder's card is in use."""
    with db.unit_of_work() as session:
        scanned = ecard.redeem_in(session, SYSTEM_ACTOR, code, "kiosk_login", "kiosk")
        return _open_session(session, scanned.person_id, True, "portal.login_ecard")


def authenticate(db: Database, token: str) -> tuple[Actor, bool]:
    """Session token → (cardholder actor, is a kiosk session). Kiosk sessions slide with use and end after
    ``portal.kiosk_idle_seconds`` without a request; every session ends at its absolute expiry, and all end
    when the query password is changed or reset (a lock from someone else's wrong guesses ends none)."""
    with db.unit_of_work() as session:
        row = session.execute(select(PortalSession).where(PortalSession.token_sha256 == _sha(token))
                              ).scalar_one_or_none()
        now = clock.now()
        if row is None or row.revoked or row.expires_at <= now:
            raise PortalSessionInvalid()
        idle = False
        if row.kiosk:
            limit = policy.get_int(session, KIOSK_IDLE_SECONDS, _today())
            idle = row.last_seen_at + dt.timedelta(seconds=limit) <= now
            row.revoked, row.last_seen_at = idle, row.last_seen_at if idle else now
        actor, kiosk = cardholder_actor(row.person_id), row.kiosk
    if idle:  # raised after commit: the idle session stays revoked
        raise PortalSessionInvalid("idle")
    return actor, kiosk


def check_kiosk_card(db: Database, card_no: str) -> None:
    """Right after the kiosk read the card, before it asks for the password: a card that is lost, cancelled, not
    activated or unknown is refused (``KIOSK_CARD_REFUSED``); the holder knows at once to take the card back."""
    with db.unit_of_work() as session:
        card = session.execute(select(Card).where(Card.card_no == card_no.strip().upper())).scalar_one_or_none()
        if card is None or card.app_status not in _KIOSK_CARDS:
            raise CardNotForKiosk(card_no=card_no if card is None else card.card_no)


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


def lift_temporary_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """网上解挂: the cardholder lifts the temporary loss of their own card (a formal loss only at a counter)."""
    actor.require(Permission.PORTAL_SELF)
    return cards.lift_own_temporary_loss(db, actor, _own_card(db, actor, card_no))


def change_card_pin(db: Database, actor: Actor, card_no: str, old_pin: str, new_pin: str, repeat: str) -> bool:
    """修改社保卡密码 at a kiosk: the card in the reader is the session's card. True when changed; False when the old
    PIN was wrong (counted towards the card's lock by the card package)."""
    actor.require(Permission.PORTAL_SELF)
    if new_pin != repeat:
        raise QueryPasswordMismatch()
    return cards.change_own_pin(db, actor, _own_card(db, actor, card_no), old_pin, new_pin).ok


def check_address(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    address = unicodedata.normalize("NFC", " ".join(raw.split()))
    if len(address) > 200 or any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in address):
        raise AddressInvalid()
    return address


def update_contact(db: Database, actor: Actor, phone: str | None, address: str | None) -> int:
    """The cardholder's phone (in the registry, by the registry's own rule) and mail address (here), audited as
    one change. Returns the audit record's sequence number."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    actor.require_own(actor.person_id)
    registry.normalise_phone(phone)  # refused before the address is looked at
    new_address = check_address(address)
    with db.unit_of_work() as session:
        old_phone, new_phone = registry.change_phone_in(session, actor, actor.person_id, phone)
        account = session.get_one(PortalAccount, actor.person_id, with_for_update=True)
        before = {"phone": old_phone, "address": account.address}
        account.address = new_address
        return audit.record(session, actor, "portal.contact_update", "person", actor.person_id, before,
                            {"phone": new_phone, "address": new_address}).seq
