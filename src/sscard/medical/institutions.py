"""Designated institutions (定点医药机构) as API clients: registration, API keys, terminals, authentication.

A key is ``<code>.<43 random url-safe characters>`` (256 bits); only its SHA-256 is stored. The institution
acts as an ``Actor`` with role ``institution`` (permission ``medical.settle`` only), so the audit log names it.

The settlement path (2207, the busiest request) authenticates from a per-process cache (``authenticate_cached``)
and re-checks the key inside its own transaction, in the same statement that claims the message id
(``key_valid``): a key revoked or an institution suspended by any process is refused from the next request on,
with no extra round trip. What the cache holds beside that (code, kind, level, services) never changes after
registration.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, select
from sqlalchemy.orm import Session

from sscard import bulksql
from sscard.access import Actor, Permission, Role
from sscard.audit import service as audit
from sscard.db import Database
from sscard.ledger import chart
from sscard.medical.errors import (
    InstitutionAuthFailed,
    InstitutionExists,
    InstitutionInvalid,
    InstitutionNotFound,
    ServiceNotAllowed,
    TerminalExists,
    TerminalUnknown,
)
from sscard.medical.models import Institution, InstitutionKey, Terminal
from sscard.medical.terms import HospitalLevel, VisitType

CODE_RE = re.compile(r"^[A-Z0-9]{2,20}$")
TERMINAL_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
RECONCILE = "reconcile"  # a service beside the visit types: submitting daily reconciliation


@dataclass(frozen=True, slots=True)
class InstitutionPrincipal:
    """An authenticated institution: what the settlement service needs to know about the caller."""

    id: int
    code: str
    kind: str
    level: HospitalLevel | None
    services: frozenset[str]
    actor: Actor
    # Set when the principal came from the cache: services then re-check this key inside their transaction.
    key_sha256: str | None = None

    def require_service(self, service: str) -> None:
        self.actor.require(Permission.MEDICAL_SETTLE)
        if service not in self.services:
            raise ServiceNotAllowed(f"{self.code} may not use {service}", institution=self.code, service=service)


@dataclass(frozen=True)
class IssuedKey:
    institution: str
    api_key: str  # shown once; only the hash is kept


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _services(kind: str, level: str | None, services: list[str]) -> tuple[HospitalLevel | None, str]:
    if kind not in ("hospital", "pharmacy"):
        raise InstitutionInvalid("kind must be hospital or pharmacy", kind=kind)
    if kind == "hospital":
        if level not in {lv.value for lv in HospitalLevel}:
            raise InstitutionInvalid("a hospital needs a level: community, 1, 2 or 3", level=str(level))
        allowed = {VisitType.OUTPATIENT.value, VisitType.INPATIENT.value, RECONCILE}
    else:
        if level is not None:
            raise InstitutionInvalid("a pharmacy has no hospital level")
        allowed = {VisitType.PHARMACY.value, RECONCILE}
    chosen = sorted(set(services))
    if not chosen or not set(chosen) <= allowed:
        raise InstitutionInvalid(f"services must be some of {sorted(allowed)} for a {kind}",
                                 services=",".join(chosen))
    return (HospitalLevel(level) if level else None), ",".join(chosen)


def create_institution(db: Database, actor: Actor, code: str, name: str, kind: str, level: str | None,
                       services: list[str]) -> IssuedKey:
    """Register a hospital or pharmacy with its allowed services and payable account; returns its first key."""
    actor.require(Permission.MEDICAL_ADMIN)
    if not CODE_RE.match(code) or not name.strip():
        raise InstitutionInvalid("code: 2–20 capital letters or digits; name required", code=code)
    hospital_level, service_list = _services(kind, level, services)
    with db.unit_of_work() as session:
        if session.execute(select(Institution.id).where(Institution.code == code)).first():
            raise InstitutionExists(code, code=code)
        inst = Institution(code=code, name=name.strip(), kind=kind,
                           level=hospital_level.value if hospital_level else None, services=service_list)
        session.add(inst)
        session.flush()
        chart.open_account(session, chart.InstitutionPayable(code))  # what the funds pay it into
        key = _new_key(session, inst)
        audit.record(session, actor, "medical.institution.create", "medical_institution", code, None,
                     {"name": inst.name, "kind": kind, "level": inst.level, "services": service_list})
        return IssuedKey(code, key)


def _new_key(session: Session, inst: Institution) -> str:
    key = f"{inst.code}.{secrets.token_urlsafe(32)}"
    session.add(InstitutionKey(institution_id=inst.id, key_sha256=_sha(key), prefix=key[:12]))
    return key


def _institution(session: Session, code: str) -> Institution:
    inst = session.execute(select(Institution).where(Institution.code == code)).scalar_one_or_none()
    if inst is None:
        raise InstitutionNotFound(code, code=code)
    return inst


def issue_key(db: Database, actor: Actor, code: str, revoke_others: bool = False) -> IssuedKey:
    """A new API key (key rotation: issue, deploy, then revoke the old ones)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        inst = _institution(session, code)
        if revoke_others:
            for old in session.execute(select(InstitutionKey).where(InstitutionKey.institution_id == inst.id,
                                                                     InstitutionKey.revoked.is_(False))).scalars():
                old.revoked = True
            forget(inst.id)  # this process at once; the others find out in their next transaction (key_valid)
        key = _new_key(session, inst)
        audit.record(session, actor, "medical.institution.key", "medical_institution", code, None,
                     {"prefix": key[:12], "revoked_others": revoke_others})
        return IssuedKey(code, key)


def set_active(db: Database, actor: Actor, code: str, active: bool) -> None:
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        inst = _institution(session, code)
        before = {"active": inst.active}
        inst.active = active
        forget(inst.id)
        audit.record(session, actor, "medical.institution.activate" if active else "medical.institution.suspend",
                     "medical_institution", code, before, {"active": active})


def add_terminal(db: Database, actor: Actor, code: str, terminal_no: str, description: str = "") -> None:
    actor.require(Permission.MEDICAL_ADMIN)
    if not TERMINAL_RE.match(terminal_no):
        raise TerminalUnknown("terminal_no: 1–20 letters, digits, _ or -", terminal_no=terminal_no)
    with db.unit_of_work() as session:
        inst = _institution(session, code)
        if session.execute(select(Terminal.id).where(Terminal.institution_id == inst.id,
                                                     Terminal.terminal_no == terminal_no)).first():
            raise TerminalExists(terminal_no, terminal_no=terminal_no)
        session.add(Terminal(institution_id=inst.id, terminal_no=terminal_no, description=description))
        audit.record(session, actor, "medical.terminal.add", "medical_institution", code, None,
                     {"terminal_no": terminal_no, "description": description})


def authenticate(db: Database, api_key: str) -> InstitutionPrincipal:
    """API key → the institution acting; refuses unknown or revoked keys and suspended institutions."""
    if not api_key or len(api_key) > 200:
        raise InstitutionAuthFailed()
    with db.unit_of_work() as session:
        row = session.execute(
            select(Institution).join(InstitutionKey, InstitutionKey.institution_id == Institution.id)
            .where(InstitutionKey.key_sha256 == _sha(api_key), InstitutionKey.revoked.is_(False))
        ).scalar_one_or_none()
        if row is None or not row.active:
            raise InstitutionAuthFailed()
        return principal_of(row)


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], InstitutionPrincipal] = {}  # (database url, key sha256) → principal
_CACHE_MAX = 10_000


def authenticate_cached(db: Database, api_key: str) -> InstitutionPrincipal:
    """``authenticate`` remembered per process. The principal carries its key's hash, and a service given
    such a principal must check ``key_valid`` in its own transaction (``sscard.medical.service.settle`` does, in
    the statement that claims the message id)."""
    found = cached_principal(db, api_key)
    if found is not None:
        return found
    digest = _sha(api_key)
    principal = replace(authenticate(db, api_key), key_sha256=digest)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[(db.url, digest)] = principal
    return principal


def cached_principal(db: Database, api_key: str) -> InstitutionPrincipal | None:
    """The cached principal for this key, without touching the database (None: not cached)."""
    if not api_key or len(api_key) > 200:
        raise InstitutionAuthFailed()
    with _cache_lock:
        return _cache.get((db.url, _sha(api_key)))


def forget(institution_id: int | None = None, key_sha256: str | None = None) -> None:
    """Drop cached principals: of one institution, of one key, or (no argument) all of them."""
    with _cache_lock:
        for k, p in list(_cache.items()):
            if (institution_id is None and key_sha256 is None) or p.id == institution_id or k[1] == key_sha256:
                del _cache[k]


KEY_VALID = exists(select(InstitutionKey.id).join(Institution, Institution.id == InstitutionKey.institution_id)
                   .where(InstitutionKey.key_sha256 == bindparam("kv_key"), InstitutionKey.revoked.is_(False),
                          Institution.active.is_(True), Institution.id == bindparam("kv_institution")))


def key_valid(principal: InstitutionPrincipal) -> tuple[ColumnElement[bool], dict[str, Any]] | None:
    """SQL that is true while the principal's key is unrevoked and its institution active (``KEY_VALID``) with
    its parameters; None when the principal carries no key (authenticated in this very request, or trusted code
    such as the CLI: nothing to re-check)."""
    if principal.key_sha256 is None:
        return None
    return KEY_VALID, {"kv_key": principal.key_sha256, "kv_institution": principal.id}


_CHECK_KEY = select(KEY_VALID)  # prebuilt (sscard.bulksql): the remote settlement path checks a cached key


def check_key(session: Session, principal: InstitutionPrincipal) -> None:
    """INSTITUTION_AUTH_FAILED (and out of the cache) if the principal's key is no longer valid."""
    valid = key_valid(principal)
    if valid is not None and not bulksql.execute(session, _CHECK_KEY, valid[1])[0][0]:
        forget(key_sha256=principal.key_sha256)
        raise InstitutionAuthFailed()


def principal_of(inst: Institution) -> InstitutionPrincipal:
    actor = Actor(operator_id=None, username=f"institution:{inst.code}", role=Role.INSTITUTION,
                  outlet_code=inst.code)
    return InstitutionPrincipal(id=inst.id, code=inst.code, kind=inst.kind,
                                level=HospitalLevel(inst.level) if inst.level else None,
                                services=frozenset(inst.services.split(",")), actor=actor)


def check_terminal(session: Session, principal: InstitutionPrincipal, terminal_no: str | None) -> None:
    """A request naming a terminal must name an active terminal of this institution (None: not given)."""
    if terminal_no is None:
        return
    found = session.execute(select(Terminal.active).where(Terminal.institution_id == principal.id,
                                                          Terminal.terminal_no == terminal_no)).scalar_one_or_none()
    if not found:
        raise TerminalUnknown(terminal_no, terminal_no=terminal_no)
