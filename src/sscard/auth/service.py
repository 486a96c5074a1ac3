"""Outlets, operators (argon2 passwords), login with lockout, bearer tokens → Actor."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.audit import service as audit
from sscard.auth.errors import (
    AuthenticationFailed,
    OperatorExists,
    OperatorLocked,
    OperatorNotFound,
    OutletExists,
    OutletNotFound,
    WeakPassword,
)
from sscard.auth.models import ApiToken, Operator, Outlet
from sscard.auth.roles import SYSTEM_ACTOR, Actor, Permission, Role
from sscard.config import get_settings
from sscard.db import Database
from sscard.errors import ValidationFailed
from sscard.policy import service as policy
from sscard.registry.regions import DIVISION_BY_CODE

_hasher = PasswordHasher()


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


def create_operator(db: Database, actor: Actor, username: str, display_name: str, role: Role, password: str,
                    outlet_code: str | None = None) -> Operator:
    actor.require(Permission.OPERATOR_ADMIN)
    role = Role(role)
    if len(password) < 8:
        raise WeakPassword()
    if role in (Role.SYSTEM, Role.INSTITUTION):
        raise ValidationFailed(f"the {role.value} role cannot be given to a person")
    with db.unit_of_work() as session:
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


def set_operator_active(db: Database, actor: Actor, username: str, active: bool) -> Operator:
    actor.require(Permission.OPERATOR_ADMIN)
    with db.unit_of_work() as session:
        operator = _operator(session, username)
        before = {"active": operator.active, "failed_logins": operator.failed_logins}
        operator.active, operator.failed_logins = active, 0
        audit.record(session, actor, "operator.activate" if active else "operator.deactivate", "operator",
                     username, before, {"active": active, "failed_logins": 0})
        return operator


def _operator(session: Session, username: str) -> Operator:
    operator = session.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
    if operator is None:
        raise OperatorNotFound(username)
    return operator


def login(db: Database, username: str, password: str) -> IssuedToken:
    """Password → bearer token. Wrong passwords count; at the configured limit the account locks."""
    with db.unit_of_work() as session:
        operator = session.execute(
            select(Operator).where(Operator.username == username).with_for_update(of=Operator)
        ).scalar_one_or_none()
        if operator is None or operator.password_hash is None:
            _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
            raise AuthenticationFailed()
        if not operator.active:
            raise OperatorLocked(username)
        try:
            _hasher.verify(operator.password_hash, password)
        except (VerificationError, InvalidHashError):
            operator.failed_logins += 1
            limit = policy.get_int(session, "auth.max_failed_logins", clock.local_date())
            locked = operator.failed_logins >= limit
            if locked:
                operator.active = False
            audit.record(session, SYSTEM_ACTOR, "operator.login_failed", "operator", username, None,
                         {"failed_logins": operator.failed_logins, "locked": locked})
            failure: Exception = OperatorLocked(username) if locked else AuthenticationFailed()
        else:
            operator.failed_logins = 0
            token = secrets.token_urlsafe(32)
            expires = clock.now() + dt.timedelta(seconds=get_settings().token_ttl_seconds)
            session.add(ApiToken(token_sha256=_sha(token), operator_id=operator.id, expires_at=expires))
            actor = actor_of(operator)
            audit.record(session, actor, "operator.login", "operator", username)
            return IssuedToken(token, expires, actor)
    raise failure  # after commit: the failure counter must persist


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
    with db.unit_of_work() as session:
        api_token = session.execute(
            select(ApiToken).where(ApiToken.token_sha256 == _sha(token))).scalar_one_or_none()
        if api_token is not None:
            api_token.revoked = True


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
