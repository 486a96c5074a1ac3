"""Contribution registration use cases: enrol a person in a scheme with a chosen base or level, change or end
the choice, and sign or revoke a withholding authorisation (代扣协议). One use case = one transaction, audited.

The month's withholding is in ``withholding``, arrears in ``arrears``, employer files in ``employer``, the
portal's history in ``history``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks import service as bank_service
from sscard.db import Database
from sscard.funds import add_months, parse_period
from sscard.funds.contributions import assessment, postings
from sscard.funds.contributions.errors import (
    AlreadyEnrolled,
    AuthorisationInvalid,
    AuthorisationNotFound,
    BaseChoiceInvalid,
    CategoryMismatch,
    InsuredNotFound,
    LevelInvalid,
    NoPaymentAccount,
    SchemeInvalid,
)
from sscard.funds.contributions.models import ContribEnrolment, ContribInsured, WithholdingAuthorisation
from sscard.funds.contributions.schemas import AuthorisationOut, EnrolmentOut
from sscard.funds.contributions.terms import (
    BASE_SCHEMES,
    CATEGORY_SCHEMES,
    LEVEL_SCHEMES,
    SCHEME_TYPE,
    AuthorisationStatus,
    Category,
    ContribScheme,
    InsuredStatus,
)
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.models import Person


def _scheme(raw: ContribScheme | str) -> ContribScheme:
    try:
        return ContribScheme(raw)
    except ValueError:
        raise SchemeInvalid(f"unknown scheme {str(raw)[:30]}", scheme=str(raw)[:30]) from None


def _category_of(scheme: ContribScheme) -> Category:
    return next(c for c, schemes in CATEGORY_SCHEMES.items() if scheme in schemes)


def _current(session: Session, person_id: int, scheme: ContribScheme) -> ContribEnrolment | None:
    return session.execute(
        select(ContribEnrolment).where(ContribEnrolment.person_id == person_id, ContribEnrolment.scheme == scheme.value)
        .order_by(ContribEnrolment.start_period.desc()).limit(1)
    ).scalar_one_or_none()


def _check_choice(session: Session, scheme: ContribScheme, period: str, base_ratio_bp: int | None,
                  level: int | None) -> None:
    rates = assessment.load_rates(session, period)
    if scheme in BASE_SCHEMES:
        if base_ratio_bp is None or level is not None:
            raise BaseChoiceInvalid(f"{scheme.value} takes a base ratio and no level")
        assessment.check_ratio(rates, base_ratio_bp)
    elif scheme in LEVEL_SCHEMES:
        if level is None or base_ratio_bp is not None:
            raise LevelInvalid(f"{scheme.value} takes a level and no base ratio")
        assessment.check_level(rates, level)
        if rates.resident_levels_fen[level - 1] <= 0:
            raise LevelInvalid(f"level {level} has no amount in {period}", level=level)
    elif base_ratio_bp is not None or level is not None:
        raise SchemeInvalid(f"{scheme.value} has a fixed amount: no base or level to choose")


def _open_accounts(session: Session, person_id: int, scheme: ContribScheme) -> None:
    personal = postings.personal_account(person_id, SCHEME_TYPE[scheme].value)
    codes = {postings.pool_account(scheme.value)}
    if personal is not None and scheme is not ContribScheme.RESIDENT_MEDICAL:
        codes.add(personal)
    postings.ensure_accounts(session, codes)


def enrol(db: Database, actor: Actor, id_number: str, scheme: ContribScheme | str, start_period: str, *,
          base_ratio_bp: int | None = None, level: int | None = None) -> EnrolmentOut:
    """参保登记 for withholding: the person joins ``scheme`` from ``start_period`` with a base (as a share of the
    average wage, in basis points: 6000 = 60 %) or a level. The category follows from the scheme."""
    actor.require(Permission.FUNDS_CORRECT)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        return enrol_in(session, actor, person, scheme, start_period, base_ratio_bp=base_ratio_bp, level=level)


def enrol_in(session: Session, actor: Actor, person: Person, scheme: ContribScheme | str, start_period: str, *,
             base_ratio_bp: int | None = None, level: int | None = None) -> EnrolmentOut:
    """:func:`enrol` inside the caller's transaction, for another package's use case that has authorised
    ``actor`` for this person (a flexible worker's own online 参保登记, sscard.employment)."""
    chosen, period = _scheme(scheme), parse_period(start_period)
    _check_choice(session, chosen, period, base_ratio_bp, level)
    category = _category_of(chosen)
    insured = session.get(ContribInsured, person.id)
    if insured is None:
        insured = ContribInsured(person_id=person.id, category=category.value, status=InsuredStatus.ACTIVE.value,
                                 arrears_months=0)
        session.add(insured)
    elif insured.category != category.value:
        raise CategoryMismatch(f"registered as {insured.category}, {chosen.value} is for {category.value}")
    current = _current(session, person.id, chosen)
    if current is not None and (current.end_period is None or current.end_period >= period):
        raise AlreadyEnrolled(f"{chosen.value} since {current.start_period}", scheme=chosen.value)
    row = ContribEnrolment(person_id=person.id, scheme=chosen.value, insurance_type=SCHEME_TYPE[chosen].value,
                           base_ratio_bp=base_ratio_bp, level=level, start_period=period, created_by=actor.username)
    session.add(row)
    session.flush()
    _open_accounts(session, person.id, chosen)
    out = EnrolmentOut.model_validate(row)
    audit.record(session, actor, "contrib.enrol", "person", person.id, None, out.model_dump())
    return out


def change_choice(db: Database, actor: Actor, id_number: str, scheme: ContribScheme | str, from_period: str, *,
                  base_ratio_bp: int | None = None, level: int | None = None) -> EnrolmentOut:
    """A new base or level from ``from_period`` on (periods already assessed keep theirs)."""
    actor.require(Permission.FUNDS_CORRECT)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        return change_choice_in(session, actor, person, scheme, from_period, base_ratio_bp=base_ratio_bp,
                                level=level)


def change_choice_in(session: Session, actor: Actor, person: Person, scheme: ContribScheme | str, from_period: str,
                     *, base_ratio_bp: int | None = None, level: int | None = None) -> EnrolmentOut:
    """:func:`change_choice` inside the caller's transaction (a flexible worker's own 缴费申报, sscard.employment,
    which has authorised ``actor``)."""
    chosen, period = _scheme(scheme), parse_period(from_period)
    current = _current(session, person.id, chosen)
    if current is None or (current.end_period is not None and current.end_period < period):
        raise InsuredNotFound(f"not enrolled in {chosen.value} in {period}", scheme=chosen.value)
    _check_choice(session, chosen, period, base_ratio_bp, level)
    before = EnrolmentOut.model_validate(current).model_dump()
    if current.start_period >= period:  # not yet in force: correct it in place
        current.base_ratio_bp, current.level = base_ratio_bp, level
        row = current
    else:
        current.end_period = add_months(period, -1)
        row = ContribEnrolment(person_id=person.id, scheme=chosen.value, insurance_type=current.insurance_type,
                               base_ratio_bp=base_ratio_bp, level=level, start_period=period,
                               created_by=actor.username)
        session.add(row)
    session.flush()
    out = EnrolmentOut.model_validate(row)
    audit.record(session, actor, "contrib.change_choice", "person", person.id, before, out.model_dump())
    return out


def end_enrolment(db: Database, actor: Actor, id_number: str, scheme: ContribScheme | str,
                  last_period: str) -> EnrolmentOut:
    """停保: no assessments after ``last_period``."""
    actor.require(Permission.FUNDS_CORRECT)
    chosen, period = _scheme(scheme), parse_period(last_period)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        current = _current(session, person.id, chosen)
        if current is None or current.start_period > period:
            raise InsuredNotFound(f"not enrolled in {chosen.value} in {period}", scheme=chosen.value)
        before = EnrolmentOut.model_validate(current).model_dump()
        current.end_period = period if current.end_period is None else min(current.end_period, period)
        session.flush()
        out = EnrolmentOut.model_validate(current)
        audit.record(session, actor, "contrib.end", "person", person.id, before, out.model_dump())
        return out


def schemes_in_force(session: Session, person_id: int, period: str) -> list[ContribScheme]:
    """The schemes a person is enrolled in for ``period`` (their enrolment starts on or before it, or later but
    not yet in force, and has not ended before it), in scheme order."""
    found = []
    for scheme in ContribScheme:
        current = _current(session, person_id, scheme)
        if current is not None and (current.end_period is None or current.end_period >= period):
            found.append(scheme)
    return found


def enrolments(db: Database, actor: Actor, person_id: int) -> list[EnrolmentOut]:
    actor.require(Permission.FUNDS_READ)
    with db.unit_of_work() as session:
        rows = session.execute(select(ContribEnrolment).where(ContribEnrolment.person_id == person_id)
                               .order_by(ContribEnrolment.scheme, ContribEnrolment.start_period)).scalars()
        out = [EnrolmentOut.model_validate(r) for r in rows]
        audit.record_read(session, actor, "contrib.enrolments_read", "person", person_id,
                          "scheme enrolments of a person", rows=len(out))
        return out


# ---------------------------------------------------------------------------------------------------- authorisation


def _payment_account(session: Session, person: Person) -> tuple[str, str, str]:
    found = bank_service.payment_account(session, person.id)
    if found is None:
        raise NoPaymentAccount(idnumber.mask(person.id_number))
    return found.bank_code, found.account_no, found.holder_name


def sign_authorisation(db: Database, actor: Actor, id_number: str, *, signed_on: dt.date, signature_ref: str,
                       valid_until: dt.date | None = None, bank_code: str | None = None,
                       account_no: str | None = None, holder_name: str | None = None) -> AuthorisationOut:
    """代扣协议: the holder signed (and fingerprinted) the bank's authorisation form ``signature_ref`` on
    ``signed_on``. The account is the card's bank account unless another one is given. A new authorisation
    replaces the active one (which is revoked)."""
    actor.require(Permission.FUNDS_CORRECT)
    if not signature_ref.strip() or len(signature_ref) > 100:
        raise AuthorisationInvalid("a signature reference (the signed form) is required")
    if valid_until is not None and valid_until < signed_on:
        raise AuthorisationInvalid("valid_until is before signed_on")
    if (bank_code is None) != (account_no is None):
        raise AuthorisationInvalid("give both bank_code and account_no, or neither (the card's account)")
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        if session.get(ContribInsured, person.id) is None:
            raise InsuredNotFound(idnumber.mask(person.id_number))
        if bank_code is None or account_no is None:
            bank_code, account_no, default_name = _payment_account(session, person)
            holder_name = holder_name or default_name
        if not bank_code.strip() or not account_no.strip() or "|" in account_no + bank_code + (holder_name or ""):
            raise AuthorisationInvalid("bank code and account number are required (no '|')")
        before = None
        for old in session.execute(select(WithholdingAuthorisation).where(
                WithholdingAuthorisation.person_id == person.id,
                WithholdingAuthorisation.status == AuthorisationStatus.ACTIVE.value)).scalars():
            before = AuthorisationOut.model_validate(old).model_dump(mode="json")
            old.status, old.lapsed_reason, old.lapsed_at = AuthorisationStatus.REVOKED.value, "SUPERSEDED", _now()
        session.flush()
        row = WithholdingAuthorisation(person_id=person.id, bank_code=bank_code, account_no=account_no,
                                       holder_name=holder_name or person.name, signed_on=signed_on,
                                       valid_until=valid_until, signature_ref=signature_ref.strip(),
                                       status=AuthorisationStatus.ACTIVE.value, created_by=actor.username)
        session.add(row)
        session.flush()
        out = AuthorisationOut.model_validate(row)
        # Both accounts as the audit log masks every account number (the replaced one included).
        audit.record(session, actor, "contrib.authorise", "person", person.id, before, out.model_dump(mode="json"))
        return out


def revoke_authorisation(db: Database, actor: Actor, id_number: str) -> AuthorisationOut:
    """The holder withdraws the authorisation: nothing more is withheld until a new one is signed."""
    actor.require(Permission.FUNDS_CORRECT)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        row = active_authorisation(session, person.id)
        if row is None:
            raise AuthorisationNotFound(idnumber.mask(person.id_number))
        row.status, row.lapsed_reason, row.lapsed_at = AuthorisationStatus.REVOKED.value, "REVOKED", _now()
        session.flush()
        out = AuthorisationOut.model_validate(row)
        audit.record(session, actor, "contrib.revoke", "person", person.id, None, {"authorisation": row.id})
        return out


def active_authorisation(session: Session, person_id: int) -> WithholdingAuthorisation | None:
    return session.execute(select(WithholdingAuthorisation).where(
        WithholdingAuthorisation.person_id == person_id,
        WithholdingAuthorisation.status == AuthorisationStatus.ACTIVE.value)).scalar_one_or_none()


def _now() -> dt.datetime:
    return clock.now()
