"""Temporary lockout with exponential back-off, per account and per client address (operators and portal).

A failed login counts against two keys: the account named (whether or not it exists, so a lock says nothing
about which user names are real) and the client address. At ``<scope>.max_failed_logins`` failures of an
account, or ``<scope>.address_max_failed_logins`` from an address, that key is locked for
``<scope>.lock_seconds``; each further lock of the same key lasts twice as long, up to
``<scope>.lock_max_seconds``. A lock ends by itself, or earlier when a supervisor unlocks it; the doubling
starts again after a quiet period as long as the longest lock. While a key is locked, logins through it are
refused with the same answer as a wrong password, without checking the password (nothing to learn, little
to spend). Every lock and unlock is audited; the scope is ``auth`` (operators) or ``portal`` (cardholders).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Actor
from sscard.audit import service as audit
from sscard.auth.models import LoginThrottle
from sscard.policy import service as policy

ADDRESS_FIELD_MAX = 80  # the longest IPv6 text with a zone is well below this


@dataclass(frozen=True, slots=True)
class Limits:
    account_failures: int
    address_failures: int
    lock_seconds: int
    lock_max_seconds: int


@dataclass(frozen=True, slots=True)
class Lock:
    key: str
    until: dt.datetime
    seconds: int


def limits(session: Session, scope: str, on: dt.date | None = None) -> Limits:
    day = on or clock.local_date()
    return Limits(account_failures=policy.get_int(session, f"{scope}.max_failed_logins", day),
                  address_failures=policy.get_int(session, f"{scope}.address_max_failed_logins", day),
                  lock_seconds=policy.get_int(session, f"{scope}.lock_seconds", day),
                  lock_max_seconds=policy.get_int(session, f"{scope}.lock_max_seconds", day))


def account_key(scope: str, account: str) -> str:
    return f"{scope}:account:{account}"[:120]


def address_key(scope: str, address: str) -> str:
    return f"{scope}:address:{address[:ADDRESS_FIELD_MAX]}"


def keys(scope: str, account: str, address: str | None) -> list[str]:
    found = [account_key(scope, account)]
    if address:
        found.append(address_key(scope, address))
    return found


def audit_entity(key: str) -> tuple[str, str]:
    """Where a key's locks and unlocks appear in the audit log: the operator's or the person's own history,
    or the client address's (``auth_address`` / ``portal_address``)."""
    scope, kind, name = key.split(":", 2)
    if kind == "account":
        if scope == "portal":
            return ("person", name) if name.isdigit() else ("login_throttle", f"portal:{name}"[:50])
        return "operator", name[:50]
    return f"{scope}_address", name[:50]


def locked(session: Session, names: list[str], now: dt.datetime | None = None) -> bool:
    """Whether any of the keys is under a temporary lock now."""
    moment = now or clock.now()
    rows = session.execute(select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(names))).scalars()
    return any(until is not None and until > moment for until in rows)


def _row(session: Session, key: str) -> LoginThrottle:
    """The key's row, locked for this transaction (made on first use; a concurrent first use is retried)."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(key=key, failures=0, lock_count=0)
            session.add(row)
    except IntegrityError:
        row = session.get_one(LoginThrottle, key, with_for_update=True, populate_existing=True)
    return row


def fail(session: Session, scope: str, account: str, address: str | None) -> list[Lock]:
    """Count one failure against the account and the address; lock those that reach their limit (audited)."""
    rules = limits(session, scope)
    now = clock.now()
    made: list[Lock] = []
    for key, limit in zip(keys(scope, account, address), (rules.account_failures, rules.address_failures),
                          strict=False):
        row = _row(session, key)
        if row.locked_until is not None and row.locked_until <= now:  # an ended lock: count afresh
            quiet = now - row.locked_until >= dt.timedelta(seconds=rules.lock_max_seconds)
            row.failures, row.locked_until = 0, None
            row.lock_count = 0 if quiet else row.lock_count
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= limit and (row.locked_until is None or row.locked_until <= now):
            row.lock_count += 1
            seconds = min(rules.lock_seconds * 2 ** min(row.lock_count - 1, 30), rules.lock_max_seconds)
            row.locked_until, row.failures = now + dt.timedelta(seconds=seconds), 0
            audit.record(session, SYSTEM_ACTOR, f"{scope}.lock", *audit_entity(key), None,
                         {"locked_until": row.locked_until.isoformat(), "seconds": seconds,
                          "lock_count": row.lock_count})
            made.append(Lock(key, row.locked_until, seconds))
    return made


def succeed(session: Session, scope: str, account: str) -> None:
    """A successful login clears the account's failures and back-off (never the address's: one good account
    must not wipe an address's failures against other accounts)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(scope, account)))


def unlock(session: Session, actor: Actor, key: str) -> bool:
    """Lift the key's lock and forget its failures and back-off (audited). False when nothing was recorded."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        return False
    before = {"failures": row.failures, "lock_count": row.lock_count,
              "locked_until": row.locked_until.isoformat() if row.locked_until else None}
    session.delete(row)
    audit.record(session, actor, f"{key.split(':', 1)[0]}.unlock", *audit_entity(key), before,
                 {"failures": 0, "lock_count": 0, "locked_until": None})
    return True


def state(session: Session, key: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, key)
