"""Outlets, operators (argon2 passwords, policy-checked), login with a second factor and a temporary lockout
per account and client address, unlock, password change and reset, bearer tokens → Actor."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Actor, Permission, PermissionDenied, Role
from sscard.audit import service as audit
from sscard.auth import throttle, totp
from sscard.auth.errors import (
    AuthenticationFailed,
    OperatorExists,
    OperatorLocked,
    OperatorNotFound,
    OutletExists,
    OutletNotFound,
    TotpInvalid,
    TotpRequired,
    WeakPassword,
)
from sscard.auth.models import ApiToken, LoginThrottle, Operator, Outlet
from sscard.config import get_settings
from sscard.db import Database
from sscard.errors import DomainError, ValidationFailed
from sscard.policy import service as policy
from sscard.registry.regions import DIVISION_BY_CODE

_hasher = PasswordHasher()
SCOPE = "auth"  # the throttle's key space and policy prefix for operators


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime
    actor: Actor


def actor_of(operator: Operator) -> Actor:
    return Actor(operator_id=operator.id, username=operator.username, role=Role(operator.role),
                 outlet_id=operator.outlet_id, outlet_code=operator.outlet.code if operator.outlet else None)


def create_outlet(db: Database, actor: Actor, code: str, name: str, region_code: str, kind: str = "hrss",
                  bank_code: str | None = None) -> Outlet:
    actor.require(Permission.OPERATOR_ADMIN)
    if region_code not in DIVISION_BY_CODE:
        raise ValidationFailed(f"region {region_code} is not a Qingyuan division")
    if kind not in ("hrss", "bank"):
        raise ValidationFailed("kind must be hrss or bank")
    with db.unit_of_work() as session:
        if session.execute(select(Outlet.id).where(Outlet.code == code)).first():
            raise OutletExists(code)
        outlet = Outlet(code=code, name=name, region_code=region_code, kind=kind, bank_code=bank_code)
        session.add(outlet)
        session.flush()
        audit.record(session, actor, "outlet.create", "outlet", code, None,
                     {"name": name, "region_code": region_code, "kind": kind, "bank_code": bank_code})
        return outlet


_COMMON = frozenset({
    "password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd", "p@ssword",
    "qwerty", "qwertyuiop", "qwertyuiop123", "qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc", "1qaz@wsx",
    "administrator", "admin", "admin123", "admin12345", "admin@123", "adminadmin", "root", "root123",
    "iloveyou", "letmein", "welcome", "welcome123", "changeme", "changeme123", "sscard", "sscard123",
    "woaini1314", "abc123", "abcd1234", "abc123456789", "aa123456", "a123456789", "123456789abc",
})


def check_password(session: Session, password: str, username: str) -> None:
    """An operator password: at least ``auth.min_password_length`` long (policy), not a common one, not the
    user name inside, at least 5 different characters and 2 kinds (letters, digits, others)."""
    minimum = policy.get_int(session, "auth.min_password_length", clock.local_date())
    lowered = password.lower()
    bare = "".join(ch for ch in lowered if ch.isalnum())
    kinds = sum((any(c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(not c.isalnum() for c in password)))
    if len(password) < minimum:
        raise WeakPassword(f"shorter than {minimum} characters", minimum=minimum)
    if (lowered in _COMMON or bare in _COMMON or bare.rstrip("0123456789") in _COMMON
            or (len(username) >= 3 and username.lower() in lowered)
            or len(set(password)) < 5 or kinds < 2):
        raise WeakPassword("too common or too simple", minimum=minimum)


def create_operator(db: Database, actor: Actor, username: str, display_name: str, role: Role, password: str,
                    outlet_code: str | None = None) -> Operator:
    actor.require(Permission.OPERATOR_ADMIN)
    role = Role(role)
    if role in (Role.SYSTEM, Role.INSTITUTION):
        raise ValidationFailed(f"the {role.value} role cannot be given to a person")
    with db.unit_of_work() as session:
        check_password(session, password, username)
        if session.execute(select(Operator.id).where(Operator.username == username)).first():
            raise OperatorExists(username)
        outlet = None
        if outlet_code:
            outlet = session.execute(select(Outlet).where(Outlet.code == outlet_code)).scalar_one_or_none()
            if outlet is None:
                raise OutletNotFound(outlet_code)
        operator = Operator(username=username, display_name=display_name, role=role.value,
                            password_hash=_hasher.hash(password), outlet=outlet)
        session.add(operator)
        session.flush()
        audit.record(session, actor, "operator.create", "operator", username, None,
                     {"role": role.value, "outlet": outlet_code, "display_name": display_name})
        return operator


def _revoke_tokens(session: Session, operator_id: int) -> int:
    """End every bearer token and web session of the operator (password change or reset, deactivation)."""
    result = session.execute(update(ApiToken).where(ApiToken.operator_id == operator_id,
                                                    ApiToken.revoked.is_(False)).values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)


def set_operator_active(db: Database, actor: Actor, username: str, active: bool) -> Operator:
    """Enable or disable an operator; disabling ends all of their sessions at once."""
    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        operator = _operator(session, username)
        before = {"active": operator.active}
        operator.active = active
        revoked = 0 if active else _revoke_tokens(session, operator.id)
        audit.record(session, actor, "operator.activate" if active else "operator.deactivate", "operator",
                     username, before, {"active": active, "tokens_revoked": revoked})
        return operator


def _operator(session: Session, username: str, for_update: bool = False) -> Operator:
    query = select(Operator).where(Operator.username == username)
    if for_update:
        query = query.with_for_update(of=Operator)
    operator = session.execute(query).scalar_one_or_none()
    if operator is None:
        raise OperatorNotFound(username)
    return operator


def _issue(session: Session, operator: Operator, action: str) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(seconds=get_settings().token_ttl_seconds)
    session.add(ApiToken(token_sha256=_sha(token), operator_id=operator.id, expires_at=expires))
    actor = actor_of(operator)
    audit.record(session, actor, action, "operator", operator.username)
    return IssuedToken(token, expires, actor)


def login(db: Database, username: str, password: str, totp_code: str | None = None,
          address: str | None = None) -> IssuedToken:
    """Password (and the TOTP code once enrolled) → bearer token.

    An unknown user, a wrong password, a disabled account and a temporarily locked account or address all
    get the same ``AUTH_FAILED``; failures count per account and per client address (``auth.throttle``).
    With a second factor enrolled, a right password alone gets ``TOTP_REQUIRED`` (no token, nothing counted)
    and a wrong code ``TOTP_INVALID`` (counted like a wrong password)."""
    failure: DomainError
    with db.unit_of_work() as session:
        operator = session.execute(  # the row lock serialises one account's attempts: none slips past a lock
            select(Operator).where(Operator.username == username).with_for_update(of=Operator)
        ).scalar_one_or_none()
        if throttle.locked(session, throttle.keys(SCOPE, username, address)):
            raise AuthenticationFailed()  # refused before any check: a lock is not a guessing oracle
        if operator is None or operator.password_hash is None or not operator.active:
            _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
            failure = AuthenticationFailed()
            _failed(session, username, address, known=operator is not None, factor="password")
        elif not _verify(operator.password_hash, password):
            failure = AuthenticationFailed()
            _failed(session, username, address, known=True, factor="password")
        elif totp.enabled_in(session, operator.id) and not totp_code:
            raise TotpRequired()
        elif totp.enabled_in(session, operator.id) and not totp.accept_in(session, operator.id, totp_code or ""):
            failure = TotpInvalid()
            _failed(session, username, address, known=True, factor="totp")
        else:
            throttle.succeed(session, SCOPE, username)
            return _issue(session, operator, "operator.login")
    raise failure  # after commit: the failure counts must persist


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _failed(session: Session, username: str, address: str | None, known: bool, factor: str) -> None:
    locks = throttle.fail(session, SCOPE, username, address)
    if known:
        audit.record(session, SYSTEM_ACTOR, "operator.login_failed", "operator", username, None,
                     {"factor": factor, "locked": any(lock.key.startswith("auth:account:") for lock in locks)})


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(db: Database, token: str) -> Actor:
    with db.unit_of_work() as session:
        row = session.execute(
            select(ApiToken, Operator).join(Operator, Operator.id == ApiToken.operator_id)
            .where(ApiToken.token_sha256 == _sha(token))
        ).first()
        if row is None:
            raise AuthenticationFailed()
        api_token, operator = row
        if api_token.revoked or api_token.expires_at <= clock.now():
            raise AuthenticationFailed("token expired or revoked")
        if not operator.active:
            raise OperatorLocked(operator.username)
        return actor_of(operator)


def logout(db: Database, token: str) -> None:
    """End one token or web session (audited as the operator's own act)."""
    with db.unit_of_work() as session:
        row = session.execute(
            select(ApiToken, Operator).join(Operator, Operator.id == ApiToken.operator_id)
            .where(ApiToken.token_sha256 == _sha(token))).first()
        if row is not None and not row[0].revoked:
            row[0].revoked = True
            audit.record(session, actor_of(row[1]), "operator.logout", "operator", row[1].username)


def change_password(db: Database, actor: Actor, old: str, new: str, address: str | None = None) -> IssuedToken:
    """The operator changes their own password: the old one must be right (a wrong one counts as a failed
    login); every session of theirs ends, and a new token is issued for the caller."""
    if actor.operator_id is None:
        raise PermissionDenied("only an operator has a password")
    failure: DomainError
    with db.unit_of_work() as session:
        if throttle.locked(session, throttle.keys(SCOPE, actor.username, address)):
            raise AuthenticationFailed()
        operator = _operator(session, actor.username, for_update=True)
        if operator.password_hash is None or not _verify(operator.password_hash, old):
            _failed(session, actor.username, address, known=True, factor="password")
            failure = AuthenticationFailed("the current password is wrong")
        else:
            check_password(session, new, operator.username)
            operator.password_hash = _hasher.hash(new)
            revoked = _revoke_tokens(session, operator.id)
            audit.record(session, actor, "operator.password_change", "operator", operator.username, None,
                         {"tokens_revoked": revoked})
            return _issue(session, operator, "operator.login")
    raise failure


def reset_password(db: Database, actor: Actor, username: str, new: str) -> int:
    """An administrator (or the system actor: ``sscard operator reset-password`` on the server host) sets a new
    password: the operator's lock ends and every session of theirs too. Returns the number of sessions ended."""
    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        operator = _operator(session, username, for_update=True)
        check_password(session, new, username)
        operator.password_hash = _hasher.hash(new)
        revoked = _revoke_tokens(session, operator.id)
        throttle.unlock(session, actor, throttle.account_key(SCOPE, username))
        audit.record(session, actor, "operator.password_reset", "operator", username, None,
                     {"tokens_revoked": revoked})
        return revoked


def _may_unlock(actor: Actor, role: str) -> None:
    actor.require(Permission.OPERATOR_UNLOCK)
    if role == Role.ADMIN.value and not actor.can(Permission.OPERATOR_ADMIN):
        raise PermissionDenied("only an administrator unlocks an administrator",
                               permission=Permission.OPERATOR_ADMIN.value)


def unlock_operator(db: Database, actor: Actor, username: str) -> bool:
    """Lift an operator's temporary lock and forget their failures (a supervisor for counter staff and
    supervisors, an administrator for anyone; audited). False when nothing was recorded against them."""
    actor.require(Permission.OPERATOR_UNLOCK)
    with db.unit_of_work() as session:
        operator = _operator(session, username)
        _may_unlock(actor, operator.role)
        return throttle.unlock(session, actor, throttle.account_key(SCOPE, username))


def unlock_address(db: Database, actor: Actor, address: str) -> bool:
    """Lift the temporary lock of a client address (operators' logins)."""
    actor.require(Permission.OPERATOR_UNLOCK)
    with db.unit_of_work() as session:
        return throttle.unlock(session, actor, throttle.address_key(SCOPE, address))


@dataclass(frozen=True)
class LockView:
    key: str
    kind: str  # account | address
    name: str
    locked_until: dt.datetime | None
    failures: int
    lock_count: int


def list_locks(db: Database, actor: Actor) -> list[LockView]:
    """Operator accounts and addresses with failures or a lock (for the unlock page; newest first)."""
    actor.require(Permission.OPERATOR_UNLOCK)
    with db.unit_of_work() as session:
        rows = session.execute(select(LoginThrottle).where(LoginThrottle.key.like(f"{SCOPE}:%"))
                               .order_by(LoginThrottle.last_failure_at.desc()).limit(200)).scalars()
        now = clock.now()
        return [LockView(r.key, r.key.split(":")[1], r.key.split(":", 2)[2],
                         r.locked_until if r.locked_until and r.locked_until > now else None, r.failures,
                         r.lock_count) for r in rows]


def reset_totp(db: Database, actor: Actor, username: str) -> bool:
    """Remove an operator's second factor (a lost phone): administrators or the system actor only."""
    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        operator = _operator(session, username)
        return totp.remove_in(session, actor, operator.id, username)


def actor_for_username(db: Database, username: str) -> Actor:
    """The CLI acts as a named operator (default: the built-in system actor)."""
    if username == SYSTEM_ACTOR.username:
        return SYSTEM_ACTOR
    with db.unit_of_work() as session:
        operator = _operator(session, username)
        if not operator.active:
            raise OperatorLocked(username)
        return actor_of(operator)


def list_operators(db: Database, actor: Actor) -> list[Operator]:
    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        return list(session.execute(select(Operator).order_by(Operator.id)).scalars())


def list_outlets(db: Database, actor: Actor) -> list[Outlet]:
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        return list(session.execute(select(Outlet).order_by(Outlet.code)).scalars())
