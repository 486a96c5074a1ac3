"""Operators' optional second factor: TOTP (RFC 6238, 30-second steps, 6 digits, SHA-1 as authenticator
apps expect) through ``pyotp``. An operator enrols themself (secret → authenticator app → first code
confirms); once enabled, the web login asks for a code after the password. Wrong codes count like wrong
passwords (``auth.max_failed_logins``) and lock the operator through ``auth.service``; a code is accepted
once (the last used time step is kept).
"""

from __future__ import annotations

import pyotp

from sscard import clock
from sscard.audit import service as audit
from sscard.auth import service as auth
from sscard.auth.roles import SYSTEM_ACTOR, Actor
from sscard.db import Database
from sscard.policy import service as policy
from sscard.portal.errors import TotpInvalid, TotpNotEnrolled
from sscard.portal.models import OperatorTotp
from sscard.portal.schemas import TotpEnrolment

ISSUER = "sscard"
STEP = 30
# One step either side: a phone clock a little off still works; replay is refused by last_step.
WINDOW = 1


def _operator_id(actor: Actor) -> int:
    if actor.operator_id is None:
        raise TotpNotEnrolled("only a logged-in operator has a second factor")
    return actor.operator_id


def _matching_step(secret: str, code: str, after_step: int) -> int | None:
    """The time step whose code equals ``code`` (within the window, later than ``after_step``), if any."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now_step = int(clock.now().timestamp()) // STEP
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if step > after_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def enabled(db: Database, operator_id: int | None) -> bool:
    if operator_id is None:
        return False
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id)
        return bool(row and row.enabled)


def state(db: Database, operator_id: int | None) -> str:
    """``none``, ``pending`` (a secret awaits its first code) or ``enabled``."""
    if operator_id is None:
        return "none"
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id)
        return "none" if row is None else "enabled" if row.enabled else "pending"


def start_enrolment(db: Database, actor: Actor) -> TotpEnrolment:
    """A new secret for the acting operator (replacing an unconfirmed one; refused while one is enabled)."""
    operator_id = _operator_id(actor)
    secret = pyotp.random_base32()
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is not None and row.enabled:
            raise TotpInvalid("a second factor is already enabled; disable it first")
        if row is None:
            session.add(OperatorTotp(operator_id=operator_id, secret=secret, enabled=False))
        else:
            row.secret, row.last_step, row.failed = secret, 0, 0
        audit.record(session, actor, "operator.totp_enrol_start", "operator", actor.username)
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=actor.username, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, uri=uri)


def confirm_enrolment(db: Database, actor: Actor, code: str) -> None:
    operator_id = _operator_id(actor)
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is None or row.enabled:
            raise TotpNotEnrolled()
        step = _matching_step(row.secret, code, row.last_step)
        if step is None:
            raise TotpInvalid()
        row.enabled, row.last_step, row.failed = True, step, 0
        audit.record(session, actor, "operator.totp_enable", "operator", actor.username, None, {"enabled": True})


def disable(db: Database, actor: Actor, code: str) -> None:
    """The operator turns the factor off, proving possession with a current code."""
    operator_id = _operator_id(actor)
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is None or not row.enabled:
            raise TotpNotEnrolled()
        if _matching_step(row.secret, code, row.last_step) is None:
            raise TotpInvalid()
        session.delete(row)
        audit.record(session, actor, "operator.totp_disable", "operator", actor.username, {"enabled": True},
                     {"enabled": False})


def verify_login(db: Database, actor: Actor, code: str) -> None:
    """The second step of a login. A wrong code counts; at ``auth.max_failed_logins`` the operator locks."""
    operator_id = _operator_id(actor)
    lock = False
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is None or not row.enabled:
            return
        step = _matching_step(row.secret, code, row.last_step)
        if step is not None:
            row.last_step, row.failed = step, 0
            audit.record(session, actor, "operator.totp_ok", "operator", actor.username)
            return
        row.failed += 1
        lock = row.failed >= policy.get_int(session, "auth.max_failed_logins", clock.local_date())
        if lock:
            row.failed = 0
        audit.record(session, SYSTEM_ACTOR, "operator.totp_failed", "operator", actor.username, None,
                     {"failed": row.failed, "locked": lock})
    if lock:  # through auth.service, so the lock is the same one a supervisor lifts
        auth.set_operator_active(db, SYSTEM_ACTOR, actor.username, False)
    raise TotpInvalid()
