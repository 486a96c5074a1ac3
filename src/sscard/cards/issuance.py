"""Card applications: 新申领 (one by one, in bulk, inside the production comparison), 补卡 and 换卡.

Each application makes its new card record (number allocated, production status COLLECTED) and charges the
fee in the same transaction; a retry with the same idempotency key returns the first result.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.errors import (
    ApplicationPending,
    BulkTooLarge,
    CardAlreadyHeld,
    CardStateInvalid,
    EmployerCodeInvalid,
    FormalLossRequired,
    IdempotencyMismatch,
)
from sscard.cards.models import Application, Card, CardNumber
from sscard.cards.numbers import new_card_no
from sscard.cards.records import edge_target, find_card, issued_status, open_application_of, today, valid_card_of
from sscard.cards.schemas import BulkResult, BulkRow
from sscard.cards.states import ApplicationStatus, AppStatus, Business, ExchangeReason, ProductionStatus, Source
from sscard.db import Database
from sscard.errors import DomainError
from sscard.fees import service as fees
from sscard.fees.models import FeeCharge
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonDeceased
from sscard.registry.models import Person
from sscard.registry.schemas import LivingStatus


@dataclass(frozen=True)
class Applied:
    application: Application
    card: Card
    fee: FeeCharge

    @property
    def audit_seq(self) -> int | None:
        """The audit record of the application (None for a replay: nothing was recorded this time)."""
        return self.application.audit_seq


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
    if open_application_of(session, person.id) is not None:
        raise ApplicationPending(idnumber.mask(person.id_number))
    if business is Business.NEW and valid_card_of(session, person.id) is not None:
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
    fee = fees.charge(session, actor, application.id, person.id, business.value, reason, today())
    session.flush()
    application.recorded(audit.record(
        session, actor, f"application.{business.value}", "application", application.id, None,
        {"person_id": person.id, "business": business.value, "reason": reason, "source": source.value,
         "employer_uscc": employer_uscc, "card_no": card.card_no, "old_card_no": old_card.card_no if old_card else None,
         "fee_fen": fee.amount_fen, "receipt_no": fee.receipt_no}))
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


def apply_bulk_in(session: Session, actor: Actor, uscc: str, persons: list[Person],
                  source: Source = Source.EMPLOYER) -> list[Applied | DomainError]:
    """``apply_bulk`` inside the caller's transaction, for persons already found (a school's student roll from the
    education bureau's feed: ``source`` SCHOOL, the school's USCC as the applying unit). Each row is decided on
    its own in a savepoint; the result per row is its application or the refusal."""
    actor.require(Permission.CARD_APPLY_BULK)
    unit = _employer(uscc)
    out: list[Applied | DomainError] = []
    for person in persons:
        try:
            with session.begin_nested():
                out.append(_create_application(session, actor, person, Business.NEW, "", Source(source), unit,
                                               None, None))
        except DomainError as err:
            out.append(err)
    audit.record(session, actor, "application.bulk", Source(source).value, unit or "", None,
                 {"rows": len(out), "accepted": sum(isinstance(r, Applied) for r in out)})
    return out


def apply_data_change_exchange_in(session: Session, actor: Actor, person_id: int,
                                  idempotency_key: str) -> Applied | None:
    """换卡 with reason 信息变更 (``data_changed``) for the person's valid card, inside the caller's transaction —
    opened when the public-security bureau reports a changed name. None when the person holds no issued card
    (the next card carries the new name anyway); the exchange's own rules and fee apply otherwise."""
    actor.require(Permission.CARD_APPLY)
    old = valid_card_of(session, person_id)
    if old is None:
        return None
    reason = ExchangeReason.DATA_CHANGED
    replay = _replay(session, idempotency_key, person_id, Business.EXCHANGE, reason.value, old.id)
    if replay:
        return replay
    edge_target(old, "apply_exchange")
    person = session.get_one(Person, person_id)
    return _create_application(session, actor, person, Business.EXCHANGE, reason.value, Source.PERSONAL, None, old,
                               idempotency_key)


def apply_replacement(db: Database, actor: Actor, card_no: str, idempotency_key: str | None = None) -> Applied:
    """补卡: only for a card under formal loss; a new card number; the fee from the fee table."""
    actor.require(Permission.CARD_APPLY)
    with db.unit_of_work() as session:
        old = find_card(session, card_no)
        replay = _replay(session, idempotency_key, old.person_id, Business.REPLACEMENT, "", old.id)
        if replay:
            return replay
        if issued_status(old) is not AppStatus.FORMAL_LOSS:
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
        old = find_card(session, card_no)
        replay = _replay(session, idempotency_key, old.person_id, Business.EXCHANGE, reason.value, old.id)
        if replay:
            return replay
        edge_target(old, "apply_exchange")
        person = session.get_one(Person, old.person_id)
        return _create_application(session, actor, person, Business.EXCHANGE, reason.value, Source.PERSONAL,
                                   None, old, idempotency_key)


def quote_fee(db: Database, business: Business, reason: str = "") -> int:
    """The fee in fen that an application of ``business`` (and exchange ``reason``) would be charged today: shown
    to a cardholder before they commit (the application charges the same table)."""
    with db.unit_of_work() as session:
        return fees.quote(session, Business(business).value, reason, today()).amount_fen


def apply_for_holder_in(session: Session, actor: Actor, card_no: str, business: Business,
                        reason: ExchangeReason | None, idempotency_key: str) -> Applied:
    """网上补换卡 by the cardholder, inside the caller's transaction (the portal records the delivery in the same one):
    补卡 for their own card under formal loss, 换卡 of their own card for a reason; the rules and the fee are those of
    ``apply_replacement`` / ``apply_exchange``."""
    actor.require(Permission.PORTAL_SELF)
    business = Business(business)
    old = find_card(session, card_no)
    actor.require_own(old.person_id)
    if business is Business.REPLACEMENT:
        why = ""
    elif business is Business.EXCHANGE and reason is not None:
        why = ExchangeReason(reason).value
    else:
        raise CardStateInvalid("a new card is ordered online only as a replacement or an exchange",
                               card_no=old.card_no)
    replay = _replay(session, idempotency_key, old.person_id, business, why, old.id)
    if replay:
        return replay
    if business is Business.REPLACEMENT:
        if issued_status(old) is not AppStatus.FORMAL_LOSS:
            raise FormalLossRequired(old.card_no, app_status=old.app_status)
    else:
        edge_target(old, "apply_exchange")
    person = session.get_one(Person, old.person_id)
    return _create_application(session, actor, person, business, why, Source.PERSONAL, None, old, idempotency_key)
