"""Card lifecycle use cases. Each public function is one transaction, checks the actor's role, and audits.

State rules live in ``states.py``; this module applies them and the cross-record rules (one person, one
card; lifting a loss only before a replacement is requested; the old card cancelled when the new one is issued).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission, PermissionDenied, Role
from sscard.audit import service as audit
from sscard.auth.models import Outlet
from sscard.cards.errors import (
    ApplicationPending,
    BulkTooLarge,
    CancelReasonInvalid,
    CardAlreadyHeld,
    CardLocked,
    CardNotAtOutlet,
    CardNotFound,
    CardNotIssued,
    CardNotOfPerson,
    CardStateInvalid,
    EmployerCodeInvalid,
    FormalLossRequired,
    IdempotencyMismatch,
    PinFormatInvalid,
    PinTooWeak,
    ProductionTransitionInvalid,
    ReplacementRequested,
)
from sscard.cards.models import Application, Card, CardNumber
from sscard.cards.numbers import new_card_no
from sscard.cards.schemas import BulkResult, BulkRow
from sscard.cards.states import (
    APP_EDGES,
    PRODUCTION_EDGES,
    ApplicationStatus,
    AppStatus,
    Business,
    CancelReason,
    ExchangeReason,
    ProductionStatus,
    Source,
)
from sscard.config import get_settings
from sscard.db import Database
from sscard.errors import DomainError
from sscard.fees import service as fees
from sscard.fees.models import FeeCharge
from sscard.policy import service as policy
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonDeceased
from sscard.registry.models import Person
from sscard.registry.schemas import LivingStatus

WEAK_PINS = frozenset({"123456"})  # the issuer's initial medical PIN may never stay in use


@dataclass(frozen=True)
class Applied:
    application: Application
    card: Card
    fee: FeeCharge


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    remaining_tries: int
    locked: bool


# ---------------------------------------------------------------------------------------------------- helpers


def _card(session: Session, card_no: str, lock: bool = True) -> Card:
    query = select(Card).where(Card.card_no == card_no.strip().upper())
    if lock:
        query = query.with_for_update()
    card = session.execute(query).scalar_one_or_none()
    if card is None:
        raise CardNotFound(card_no)
    return card


def _issued_status(card: Card) -> AppStatus:
    if card.app_status is None:
        raise CardNotIssued(card.card_no, production_status=card.production_status)
    return AppStatus(card.app_status)


def _edge(card: Card, operation: str) -> AppStatus:
    status = _issued_status(card)
    target = APP_EDGES[operation].get(status)
    if target is None:
        raise CardStateInvalid(f"{operation} is not allowed when the card is {status.name}",
                               card_no=card.card_no, app_status=status.value, operation=operation)
    return target


def _pin_digest(card_no: str, pin: str) -> str:
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


def _check_new_pin(pin: str) -> str:
    _well_formed_pin(pin)
    if pin in WEAK_PINS:
        raise PinTooWeak()
    return pin


def _today() -> dt.date:
    return clock.local_date()


def _audit(session: Session, actor: Actor, action: str, card: Card, before: dict[str, object]) -> None:
    session.flush()
    audit.record(session, actor, action, "card", card.card_no, before, card.snapshot())


def _valid_card_of(session: Session, person_id: int) -> Card | None:
    return session.execute(
        select(Card).where(Card.person_id == person_id, Card.app_status.is_not(None),
                           Card.app_status != AppStatus.CANCELLED.value)
    ).scalar_one_or_none()


def _open_application_of(session: Session, person_id: int) -> Application | None:
    return session.execute(
        select(Application).where(Application.person_id == person_id,
                                  Application.status == ApplicationStatus.OPEN.value)
    ).scalar_one_or_none()


def _replay(session: Session, key: str | None, person_id: int, business: Business, reason: str,
            old_card_id: int | None) -> Applied | None:
    """An application retried with the same idempotency key returns the first result."""
    if key is None:
        return None
    app = session.execute(select(Application).where(Application.idempotency_key == key)).scalar_one_or_none()
    if app is None:
        return None
    if (app.person_id, app.business, app.reason, app.old_card_id) != (person_id, business.value, reason,
                                                                       old_card_id):
        raise IdempotencyMismatch(key)
    card = session.execute(select(Card).where(Card.application_id == app.id)).scalar_one()
    fee = session.execute(select(FeeCharge).where(FeeCharge.application_id == app.id)).scalar_one()
    return Applied(app, card, fee)


def _create_application(session: Session, actor: Actor, person: Person, business: Business, reason: str,
                        source: Source, employer_uscc: str | None, old_card: Card | None,
                        idempotency_key: str | None) -> Applied:
    if person.living_status == LivingStatus.DECEASED.value:
        raise PersonDeceased(idnumber.mask(person.id_number))
    if _open_application_of(session, person.id) is not None:
        raise ApplicationPending(idnumber.mask(person.id_number))
    if business is Business.NEW and _valid_card_of(session, person.id) is not None:
        raise CardAlreadyHeld(idnumber.mask(person.id_number))
    application = Application(person_id=person.id, business=business.value, reason=reason, source=source.value,
                              employer_uscc=employer_uscc, status=ApplicationStatus.OPEN.value,
                              old_card_id=old_card.id if old_card else None, idempotency_key=idempotency_key,
                              operator=actor.username, outlet=actor.outlet_code)
    number = CardNumber()
    try:
        # Add inside the savepoint: begin_nested() flushes what is pending *before* the savepoint starts.
        with session.begin_nested():
            session.add_all([application, number])
            session.flush()
    except IntegrityError as exc:  # a concurrent application for the same person won the race
        raise ApplicationPending(idnumber.mask(person.id_number)) from exc
    card = Card(card_no=new_card_no(lambda no: _card_no_taken(session, no)), person_id=person.id,
                application_id=application.id, production_status=ProductionStatus.COLLECTED.value, app_status=None)
    session.add(card)
    fee = fees.charge(session, actor, application.id, person.id, business.value, reason, _today())
    session.flush()
    audit.record(session, actor, f"application.{business.value}", "application", application.id, None,
                 {"person_id": person.id, "business": business.value, "reason": reason, "source": source.value,
                  "employer_uscc": employer_uscc, "card_no": card.card_no,
                  "old_card_no": old_card.card_no if old_card else None,
                  "fee_fen": fee.amount_fen, "receipt_no": fee.receipt_no})
    return Applied(application, card, fee)


def _card_no_taken(session: Session, card_no: str) -> bool:
    return session.execute(select(Card.id).where(Card.card_no == card_no)).first() is not None


def _employer(uscc: str | None) -> str | None:
    if uscc is None:
        return None
    from stdnum.cn import uscc as uscc_check
    from stdnum.exceptions import ValidationError

    try:
        return str(uscc_check.validate(uscc))
    except ValidationError as exc:
        raise EmployerCodeInvalid(uscc) from exc


# ---------------------------------------------------------------------------------------------- applications


def apply_new(db: Database, actor: Actor, id_number: str, source: Source = Source.PERSONAL,
              employer_uscc: str | None = None, idempotency_key: str | None = None) -> Applied:
    """新申领: the first card for a registered person (free under the default fee table)."""
    actor.require(Permission.CARD_APPLY)
    employer = _employer(employer_uscc)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        replay = _replay(session, idempotency_key, person.id, Business.NEW, "", None)
        if replay:
            return replay
        return _create_application(session, actor, person, Business.NEW, "", source, employer, None,
                                   idempotency_key)


def apply_new_in(session: Session, actor: Actor, person: Person, employer_uscc: str | None = None) -> Applied:
    """新申领 inside the caller's transaction (the production comparison approves records this way)."""
    actor.require(Permission.CARD_APPLY)
    employer = _employer(employer_uscc)
    source = Source.EMPLOYER if employer else Source.PERSONAL
    return _create_application(session, actor, person, Business.NEW, "", source, employer, None, None)


def apply_bulk(db: Database, actor: Actor, employer_uscc: str, id_numbers: list[str]) -> BulkResult:
    """单位批量申领: every row is decided on its own; refused rows are reported, accepted ones kept."""
    actor.require(Permission.CARD_APPLY_BULK)
    employer = _employer(employer_uscc)
    if len(id_numbers) > 5000:
        raise BulkTooLarge(f"{len(id_numbers)} rows")
    rows: list[BulkRow] = []
    with db.unit_of_work() as session:
        for index, raw in enumerate(id_numbers):
            shown = idnumber.mask(raw.strip())
            try:
                with session.begin_nested():
                    person = registry.find_by_id_number(session, raw)
                    applied = _create_application(session, actor, person, Business.NEW, "", Source.EMPLOYER,
                                                  employer, None, None)
                rows.append(BulkRow(index=index, id_number=shown, ok=True, card_no=applied.card.card_no))
            except DomainError as err:
                rows.append(BulkRow(index=index, id_number=shown, ok=False, error_code=err.code,
                                    error=err.message_en))
        accepted = sum(r.ok for r in rows)
        audit.record(session, actor, "application.bulk", "employer", employer or "", None,
                     {"rows": len(rows), "accepted": accepted})
    return BulkResult(accepted=accepted, refused=len(rows) - accepted, rows=rows)


def apply_replacement(db: Database, actor: Actor, card_no: str, idempotency_key: str | None = None) -> Applied:
    """补卡: only for a card under formal loss; a new card number; the fee from the fee table."""
    actor.require(Permission.CARD_APPLY)
    with db.unit_of_work() as session:
        old = _card(session, card_no)
        replay = _replay(session, idempotency_key, old.person_id, Business.REPLACEMENT, "", old.id)
        if replay:
            return replay
        if _issued_status(old) is not AppStatus.FORMAL_LOSS:
            raise FormalLossRequired(old.card_no, app_status=old.app_status)
        person = session.get_one(Person, old.person_id)
        return _create_application(session, actor, person, Business.REPLACEMENT, "", Source.PERSONAL, None, old,
                                   idempotency_key)


def apply_exchange(db: Database, actor: Actor, card_no: str, reason: ExchangeReason,
                   idempotency_key: str | None = None) -> Applied:
    """换卡: damaged, expired, changed data or a quality defect (free); the old card works until then."""
    actor.require(Permission.CARD_APPLY)
    reason = ExchangeReason(reason)
    with db.unit_of_work() as session:
        old = _card(session, card_no)
        replay = _replay(session, idempotency_key, old.person_id, Business.EXCHANGE, reason.value, old.id)
        if replay:
            return replay
        _edge(old, "apply_exchange")
        person = session.get_one(Person, old.person_id)
        return _create_application(session, actor, person, Business.EXCHANGE, reason.value, Source.PERSONAL,
                                   None, old, idempotency_key)


# ------------------------------------------------------------------------------------------------ production


def advance_production(db: Database, actor: Actor, card_no: str, to_status: ProductionStatus,
                       outlet_code: str | None = None, bank_code: str | None = None) -> Card:
    """Move a card along the production pipeline (the production issue's batch steps call this)."""
    actor.require(Permission.CARD_PRODUCTION)
    to_status = ProductionStatus(to_status)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        current = ProductionStatus(card.production_status)
        if to_status not in PRODUCTION_EDGES[current]:
            raise ProductionTransitionInvalid(f"{current.name} → {to_status.name}", card_no=card.card_no)
        before = card.snapshot()
        if to_status is ProductionStatus.AT_OUTLET:
            if not outlet_code:
                raise ProductionTransitionInvalid("AT_OUTLET needs the outlet code", card_no=card.card_no)
            outlet = session.execute(select(Outlet).where(Outlet.code == outlet_code)).scalar_one_or_none()
            if outlet is None:
                from sscard.auth.errors import OutletNotFound

                raise OutletNotFound(outlet_code)
            card.outlet_id = outlet.id
        if bank_code:
            card.bank_code = bank_code
        card.production_status = to_status.value
        _audit(session, actor, f"production.{to_status.name.lower()}", card, before)
        return card


def advance_production_batch(db: Database, actor: Actor, card_nos: list[str], to_status: ProductionStatus,
                             outlet_code: str | None = None) -> int:
    """One production step for a whole batch, all or nothing (a batch file's header equals its records)."""
    actor.require(Permission.CARD_PRODUCTION)
    to_status = ProductionStatus(to_status)
    with db.unit_of_work() as session:
        outlet_id = None
        if to_status is ProductionStatus.AT_OUTLET:
            outlet = session.execute(select(Outlet).where(Outlet.code == outlet_code)).scalar_one_or_none()
            if outlet is None:
                from sscard.auth.errors import OutletNotFound

                raise OutletNotFound(str(outlet_code))
            outlet_id = outlet.id
        batch = session.execute(
            select(Card).where(Card.card_no.in_(card_nos)).order_by(Card.id).with_for_update()).scalars().all()
        if len(batch) != len(set(card_nos)):
            raise CardNotFound(f"{len(set(card_nos)) - len(batch)} of the batch's cards do not exist")
        for card in batch:
            current = ProductionStatus(card.production_status)
            if to_status not in PRODUCTION_EDGES[current]:
                raise ProductionTransitionInvalid(f"{card.card_no}: {current.name} → {to_status.name}",
                                                  card_no=card.card_no)
            before = card.snapshot()
            card.production_status = to_status.value
            if outlet_id is not None:
                card.outlet_id = outlet_id
            _audit(session, actor, f"production.{to_status.name.lower()}", card, before)
        return len(batch)


def pick_up(db: Database, actor: Actor, card_no: str) -> Card:
    """领卡: the card is handed over sealed (封存). A replacement/exchange cancels the old card now."""
    actor.require(Permission.CARD_PICKUP)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        if card.production_status != ProductionStatus.AT_OUTLET.value:
            raise CardNotAtOutlet(card.card_no, production_status=card.production_status)
        if card.outlet_id is None or actor.outlet_id != card.outlet_id:  # every role, administrators included
            held_at = session.get(Outlet, card.outlet_id) if card.outlet_id is not None else None
            raise CardNotAtOutlet(f"the card waits at outlet {held_at.code} ({held_at.name}); it is handed over "
                                  "there" if held_at else "the card is at no outlet",
                                  outlet=held_at.code if held_at else None)
        application = session.get_one(Application, card.application_id)
        now = clock.now()
        if application.old_card_id is not None:
            old = session.get_one(Card, application.old_card_id, with_for_update=True)
            if old.app_status != AppStatus.CANCELLED.value:
                old_before = old.snapshot()
                old.app_status = AppStatus.CANCELLED.value
                old.cancelled_at = now
                old.cancel_reason = (CancelReason.REPLACED if application.business == Business.REPLACEMENT
                                     else CancelReason.EXCHANGED).value
                _audit(session, actor, "card.cancel", old, old_before)  # flushes before the new card is valid
        before = card.snapshot()
        card.production_status = ProductionStatus.PICKED_UP.value
        card.app_status = AppStatus.SEALED.value
        card.issued_at = now
        years = policy.get_int(session, "card.validity_years", _today())
        today = _today()
        card.expires_on = add_years(today, years)
        application.status = ApplicationStatus.COMPLETED.value
        application.completed_at = now
        _audit(session, actor, "card.pick_up", card, before)
        return card


def at_outlet_of(db: Database, actor: Actor, card_no: str) -> Actor:
    """The system actor placed at the outlet that holds the card, for the demo seed's hand-overs (every
    hand-over happens at the card's outlet, and the audit record names it). Operators keep their own outlet."""
    if actor.role is not Role.SYSTEM:
        raise PermissionDenied("only the system acts at a card's outlet on its behalf",
                               permission=Permission.CARD_PICKUP.value)
    with db.unit_of_work() as session:
        card = _card(session, card_no, lock=False)
        outlet = session.get(Outlet, card.outlet_id) if card.outlet_id is not None else None
        if outlet is None:
            raise CardNotAtOutlet("the card is at no outlet")
        return dataclasses.replace(actor, outlet_id=outlet.id, outlet_code=outlet.code)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# -------------------------------------------------------------------------------------------- PIN and status


def activate(db: Database, actor: Actor, card_no: str, pin: str) -> Card:
    """激活: in person; the medical PIN is set and may not be the initial 123456."""
    actor.require(Permission.CARD_ACTIVATE)
    _check_new_pin(pin)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        target = _edge(card, "activate")
        before = card.snapshot()
        card.pin_hmac = _pin_digest(card.card_no, pin)
        card.pin_failures = 0
        card.app_status = target.value
        card.activated_at = clock.now()
        _audit(session, actor, "card.activate", card, before)
        return card


def _check_pin(session: Session, actor: Actor, card: Card, pin: str) -> PinCheck:
    """Compare the PIN; a wrong one is counted (and audited), locking the card at the configured limit."""
    if card.app_status == AppStatus.LOCKED.value:
        raise CardLocked(card.card_no)
    _edge(card, "verify_pin")
    _well_formed_pin(pin)  # a typo of the wrong shape is not a guess: refused, not counted
    limit = policy.get_int(session, "card.pin_max_tries", _today())
    if card.pin_hmac is not None and hmac.compare_digest(card.pin_hmac, _pin_digest(card.card_no, pin)):
        if card.pin_failures:
            before = card.snapshot()
            card.pin_failures = 0
            _audit(session, actor, "card.pin_ok", card, before)
        return PinCheck(True, limit, False)
    before = card.snapshot()
    card.pin_failures += 1
    locked = card.pin_failures >= limit
    if locked:
        card.app_status = AppStatus.LOCKED.value
    _audit(session, actor, "card.lock" if locked else "card.pin_wrong", card, before)
    return PinCheck(False, max(limit - card.pin_failures, 0), locked)


def verify_pin(db: Database, actor: Actor, card_no: str, pin: str) -> PinCheck:
    """Check the medical PIN; each wrong try is kept (and audited) even though the check fails."""
    actor.require(Permission.CARD_PIN)
    with db.unit_of_work() as session:
        return _check_pin(session, actor, _card(session, card_no), pin)


def verify_pin_at_settlement(db: Database, actor: Actor, card_no: str, pin: str) -> PinCheck:
    """The medical PIN typed at a designated institution's counter (proof of presence for a settlement by card):
    checked, counted and audited as ``verify_pin``, for an actor who may settle."""
    actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        return _check_pin(session, actor, _card(session, card_no), pin)


def change_pin(db: Database, actor: Actor, card_no: str, old_pin: str, new_pin: str) -> PinCheck:
    """修改密码: the old PIN must be right (a wrong one counts towards the lock); the new one is checked."""
    actor.require(Permission.CARD_PIN)
    _check_new_pin(new_pin)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        check = _check_pin(session, actor, card, old_pin)
        if check.ok:
            _edge(card, "change_pin")
            before = card.snapshot()
            card.pin_hmac = _pin_digest(card.card_no, new_pin)
            _audit(session, actor, "card.change_pin", card, before)
        return check


def unlock(db: Database, actor: Actor, card_no: str, new_pin: str | None = None) -> Card:
    """解锁: at the HRSS window with ID and card; optionally the PIN is reset at the same time."""
    actor.require(Permission.CARD_UNLOCK)
    if new_pin is not None:
        _check_new_pin(new_pin)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        target = _edge(card, "unlock")
        before = card.snapshot()
        card.app_status = target.value
        card.pin_failures = 0
        if new_pin is not None:
            card.pin_hmac = _pin_digest(card.card_no, new_pin)
        _audit(session, actor, "card.unlock", card, before)
        return card


def report_temporary_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """临时挂失: freezes at once; lapses automatically after the configured period (``sscard jobs run``)."""
    actor.require(Permission.CARD_TEMP_LOSS)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        target = _edge(card, "report_temporary_loss")
        days = policy.get_int(session, "card.temp_loss_days", _today())
        before = card.snapshot()
        card.status_before_loss = card.app_status
        card.app_status = target.value
        card.temp_loss_expires_at = clock.now() + dt.timedelta(days=days)
        _audit(session, actor, "card.temporary_loss", card, before)
        return card


def report_formal_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """正式挂失: with ID in person; lifted only with the original card, before a replacement is requested."""
    actor.require(Permission.CARD_FORMAL_LOSS)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        target = _edge(card, "report_formal_loss")
        before = card.snapshot()
        if card.app_status != AppStatus.TEMP_LOSS.value:
            card.status_before_loss = card.app_status
        card.app_status = target.value
        card.temp_loss_expires_at = None
        card.formal_loss_at = clock.now()
        _audit(session, actor, "card.formal_loss", card, before)
        return card


def lift_loss(db: Database, actor: Actor, card_no: str) -> Card:
    """解挂: back to the status before the loss; refused once a replacement was requested for the card."""
    actor.require(Permission.CARD_LIFT_LOSS)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        _edge(card, "lift_loss")
        replacement = session.execute(
            select(Application.id).where(Application.old_card_id == card.id,
                                         Application.business == Business.REPLACEMENT.value,
                                         Application.status != ApplicationStatus.VOIDED.value)
        ).first()
        if replacement is not None:
            raise ReplacementRequested(card.card_no)
        before = card.snapshot()
        _restore_after_loss(card)
        _audit(session, actor, "card.lift_loss", card, before)
        return card


def _restore_after_loss(card: Card) -> None:
    card.app_status = card.status_before_loss or AppStatus.NORMAL.value
    card.status_before_loss = None
    card.temp_loss_expires_at = None
    card.formal_loss_at = None


def cancel(db: Database, actor: Actor, card_no: str, reason: CancelReason) -> Card:
    """注销 on death, emigration or transfer out: the card, any card in production and open applications."""
    actor.require(Permission.CARD_CANCEL)
    reason = CancelReason(reason)
    if reason not in (CancelReason.DEATH, CancelReason.EMIGRATION, CancelReason.TRANSFER_OUT):
        raise CancelReasonInvalid(reason.value)
    with db.unit_of_work() as session:
        card = _card(session, card_no)
        if card.app_status is not None:
            _edge(card, "cancel")
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
            _audit(session, actor, "card.cancel", each, before)
        for app in session.execute(
            select(Application).where(Application.person_id == card.person_id,
                                      Application.status == ApplicationStatus.OPEN.value)
        ).scalars():
            app.status = ApplicationStatus.VOIDED.value
            audit.record(session, actor, "application.void", "application", app.id, {"status": "open"},
                         {"status": "voided", "reason": reason.value})
        if reason is CancelReason.DEATH:
            person = session.get_one(Person, card.person_id)
            if person.living_status != LivingStatus.DECEASED.value:
                before_p = person.snapshot()
                person.living_status = LivingStatus.DECEASED.value
                session.flush()
                audit.record(session, actor, "person.deceased", "person", person.id, before_p, person.snapshot())
        session.flush()
        return card


# -------------------------------------------------------------------------------------------------- jobs


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
                _audit(session, actor, "card.temporary_loss_lapsed", card, before)
        lapsed += len(due)
        if len(due) < chunk:
            return lapsed


# ------------------------------------------------------------------------------------------------- reads


def require_holder(db: Database, actor: Actor, card_no: str, id_number: str) -> None:
    """The card acted on belongs to the person being served (the counter's page names both): a card number
    edited into a form is refused with ``CARD_NOT_OF_PERSON`` before anything changes."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        card = _card(session, card_no, lock=False)
        person = registry.find_by_id_number(session, id_number)
        if card.person_id != person.id:
            raise CardNotOfPerson()


def get_card(db: Database, actor: Actor, card_no: str) -> Card:
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        card = _card(session, card_no, lock=False)
        audit.record(session, actor, "card.read", "card", card.card_no)
        return card


def cards_of_person(db: Database, actor: Actor, id_number: str | None = None, *,
                    person_id: int | None = None) -> list[Card]:
    """The person's cards, the person named by ID number or by internal id (API paths carry the latter)."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        person = (registry.find_by_person_id(session, person_id) if person_id is not None
                  else registry.find_by_id_number(session, str(id_number)))
        cards = list(session.execute(select(Card).where(Card.person_id == person.id).order_by(Card.id)).scalars())
        audit.record(session, actor, "card.list", "person", person.id)
        return cards
