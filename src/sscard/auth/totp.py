"""Operators' second factor: TOTP (RFC 6238, 30-second steps, 6 digits, SHA-1 as authenticator apps expect)
through ``pyotp``. An operator enrols themself (secret → authenticator app → first code confirms); once
enabled, every login needs a current code as well as the password — the web form and the API
(``POST /api/v1/auth/token`` with ``totp``) alike, checked in ``auth.service.login``. Wrong codes count as
failed logins in the operator's throttle (``auth.throttle``); a code is accepted once (the last used time
step is kept). The secret is stored sealed under the KMS KEK (``kms.sealed``), bound to its operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
import structlog
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.auth.errors import TotpInvalid, TotpNotEnrolled
from sscard.auth.models import OperatorTotp
from sscard.db import Database
from sscard.kms import sealed

ISSUER = "sscard"
STEP = 30
# One step either side: a phone clock a little off still works; replay is refused by last_step.
WINDOW = 1
PURPOSE = "operator-totp"
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """The new secret shown once to the operator (as text and as an otpauth:// URI for a QR code)."""

    secret: str
    uri: str


def _aad(operator_id: int) -> str:
    return f"operator_totp:{operator_id}"


def seal_secret(operator_id: int, secret: str, kek: bytes | None = None) -> str:
    return sealed.seal(secret.encode("ascii"), PURPOSE, _aad(operator_id), kek)


def _secret(row: OperatorTotp) -> str | None:
    try:
        return sealed.open_sealed(row.secret, PURPOSE, _aad(row.operator_id)).decode("ascii")
    except sealed.SealedInvalid:
        _log.error("totp_secret_unreadable", operator_id=row.operator_id)
        return None  # every code is then wrong; an administrator resets the factor


def _operator_id(actor: Actor) -> int:
    if actor.operator_id is None:
        raise TotpNotEnrolled("only a logged-in operator has a second factor")
    return actor.operator_id


def _matching_step(secret: str | None, code: str, after_step: int) -> int | None:
    """The time step whose code equals ``code`` (within the window, later than ``after_step``), if any."""
    if secret is None or not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now_step = int(clock.now().timestamp()) // STEP
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if step > after_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def enabled_in(session: Session, operator_id: int) -> bool:
    row = session.get(OperatorTotp, operator_id)
    return bool(row and row.enabled)


def accept_in(session: Session, operator_id: int, code: str) -> bool:
    """Inside the login's transaction: whether ``code`` is current and unused (then it is used up)."""
    row = session.get(OperatorTotp, operator_id, with_for_update=True)
    if row is None or not row.enabled:
        return True
    step = _matching_step(_secret(row), code, row.last_step)
    if step is None:
        return False
    row.last_step = step
    return True


def enabled(db: Database, operator_id: int | None) -> bool:
    if operator_id is None:
        return False
    with db.unit_of_work() as session:
        return enabled_in(session, operator_id)


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
            session.add(OperatorTotp(operator_id=operator_id, secret=seal_secret(operator_id, secret),
                                     enabled=False))
        else:
            row.secret, row.last_step = seal_secret(operator_id, secret), 0
        audit.record(session, actor, "operator.totp_enrol_start", "operator", actor.username)
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=actor.username, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, uri=uri)


def confirm_enrolment(db: Database, actor: Actor, code: str) -> None:
    operator_id = _operator_id(actor)
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is None or row.enabled:
            raise TotpNotEnrolled()
        step = _matching_step(_secret(row), code, row.last_step)
        if step is None:
            raise TotpInvalid()
        row.enabled, row.last_step = True, step
        audit.record(session, actor, "operator.totp_enable", "operator", actor.username, None, {"enabled": True})


def disable(db: Database, actor: Actor, code: str) -> None:
    """The operator turns the factor off, proving possession with a current code."""
    operator_id = _operator_id(actor)
    with db.unit_of_work() as session:
        row = session.get(OperatorTotp, operator_id, with_for_update=True)
        if row is None or not row.enabled:
            raise TotpNotEnrolled()
        if _matching_step(_secret(row), code, row.last_step) is None:
            raise TotpInvalid()
        session.delete(row)
        audit.record(session, actor, "operator.totp_disable", "operator", actor.username, {"enabled": True},
                     {"enabled": False})


def remove_in(session: Session, actor: Actor, operator_id: int, username: str) -> bool:
    """An administrator (or the system actor on the server host) removes a lost factor (audited)."""
    row = session.get(OperatorTotp, operator_id, with_for_update=True)
    if row is None:
        return False
    session.delete(row)
    audit.record(session, actor, "operator.totp_reset", "operator", username, {"enabled": row.enabled},
                 {"enabled": False})
    return True
