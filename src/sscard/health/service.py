"""Use cases of the health index: hospitals publish Encounter and DocumentReference entries; a hospital holding
a grant searches a patient's entries (sensitive categories hidden unless the holder opted in), every read
written to the audit chain and to the log the holder sees. Grants themselves: ``consent``."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import psycopg
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Permission
from sscard.audit import service as audit
from sscard.bulksql import Write
from sscard.db import Database, utcnow
from sscard.health import icd, profile
from sscard.health.errors import (
    EncounterUnknown,
    EntryConflict,
    FhirProfileViolation,
    GrantExpired,
    GrantOtherInstitution,
    GrantOtherPatient,
    GrantRequired,
    GrantRevoked,
    GrantUnknown,
    InstitutionNotHospital,
    OperatorMissing,
    PatientNotCardHolder,
)
from sscard.health.models import HealthDocument, HealthEncounter, HealthGrant, HealthPatient, HealthRead
from sscard.health.records import (
    ReadContext,
    encounter_rows,
    patient_by_pseudonym,
    patient_for,
    publish_context,
    read_context,
)
from sscard.medical.institutions import InstitutionPrincipal, check_key
from sscard.medical.models import Institution
from sscard.registry import idnumber

OPERATOR_MAX = 40


@dataclass(frozen=True, slots=True)
class Published:
    resource: str  # the resource as served (JSON)
    created: bool  # False: the same entry was published before (idempotent repeat)
    resource_id: str  # its id (the Location header), so the interface need not parse the resource back


def require_hospital(principal: InstitutionPrincipal) -> None:
    principal.actor.require(Permission.HEALTH_INDEX)
    if principal.kind != "hospital":
        raise InstitutionNotHospital(institution=principal.code)


def check_operator(operator: str | None) -> str:
    """The hospital's own id of the doctor or clerk acting (audited with every grant and read)."""
    if not operator or len(operator) > OPERATOR_MAX or not all(c.isascii() and (c.isalnum() or c in "._-")
                                                               for c in operator):
        raise OperatorMissing()
    return operator


def _institution_name(session: Session, principal: InstitutionPrincipal) -> str:
    return session.get_one(Institution, principal.id).name


_ENCOUNTER_INSERT = insert(cast(Table, HealthEncounter.__table__)).inline()
_READ_INSERT = insert(cast(Table, HealthRead.__table__)).inline()
_UNIQUE_VIOLATION = (IntegrityError, psycopg.IntegrityError)  # through SQLAlchemy (SQLite) or the driver


def publish_encounter(db: Database, principal: InstitutionPrincipal, raw: bytes) -> Published:
    """Publish an encounter index entry. The contained Patient's card must be in normal use and its ID number the
    card holder's; a repeat with the same identifier and content answers the first entry, different content is
    HEALTH_ENTRY_CONFLICT. Nothing is written on any refusal.

    Written for round trips (bench/health_index.py): one query reads the card, its holder, their patient, an
    earlier entry with the same identifier and the institution (``records.publish_context``); the entry, its
    audit record and the chain head are then written in one statement, with those of concurrent callers
    (``audit.record_grouped``)."""
    require_hospital(principal)
    entry = profile.parse_encounter(raw, clock.local_date())
    with db.unit_of_work() as session:
        found = publish_context(session, principal, entry.card_no, entry.source_system, entry.source_value)
        if idnumber.parse(entry.id_number).value != found.id_number:
            raise PatientNotCardHolder(card_no=entry.card_no)
        if found.existing_sha256 is not None and found.existing_resource is not None:
            if found.existing_sha256 != entry.content_sha256:
                raise EntryConflict(identifier=entry.source_value)
            return Published(found.existing_resource, False, json.loads(found.existing_resource)["id"])
        grouped = found.patient_id is not None and found.pseudonym is not None
        if found.patient_id is not None and found.pseudonym is not None:
            patient_id, pseudonym = found.patient_id, found.pseudonym
        else:
            patient = patient_for(session, found.person_id, found.division)
            patient_id, pseudonym = patient.id, patient.pseudonym
        resource_id = secrets.token_hex(16)
        text = profile.dumps(profile.encounter_resource(entry, resource_id, pseudonym, principal.code,
                                                        found.institution_name, utcnow()))
        row = {"resource_id": resource_id, "patient_id": patient_id, "institution_code": principal.code,
               "source_system": entry.source_system, "source_value": entry.source_value,
               "encounter_date": entry.encounter_date, "encounter_type": entry.encounter_type,
               "department": entry.department, "diagnosis_code": entry.diagnosis_code,
               "content_sha256": entry.content_sha256, "resource": text}
        record = audit.Entry("health.encounter.publish", "health_encounter", resource_id, None,
                             {"patient": pseudonym, "type": entry.encounter_type,
                              "date": entry.encounter_date.isoformat()})
        if not grouped:  # the patient is new in this transaction: the entry commits with it, or neither does
            try:
                audit.record_with(session, principal.actor, record, [(_ENCOUNTER_INSERT, row)], commit=True)
            except _UNIQUE_VIOLATION:
                raise EntryConflict(identifier=entry.source_value) from None
            return Published(text, True, resource_id)
    # The transaction above only read: the entry and its record are committed with those of concurrent publishers
    # and readers, the chain head locked once for all of them (``audit.record_grouped``).
    try:
        audit.record_grouped(db, principal.actor, record, [(_ENCOUNTER_INSERT, row)])
    except _UNIQUE_VIOLATION:
        raise EntryConflict(identifier=entry.source_value) from None
    return Published(text, True, resource_id)


def publish_document(db: Database, principal: InstitutionPrincipal, raw: bytes) -> Published:
    """Publish where a document of one of this hospital's encounter entries is held."""
    require_hospital(principal)
    entry = profile.parse_document(raw)
    with db.unit_of_work() as session:
        check_key(session, principal)
        row = session.execute(select(HealthEncounter.id, HealthPatient.pseudonym, HealthEncounter.patient_id)
                              .join(HealthPatient, HealthPatient.id == HealthEncounter.patient_id)
                              .where(HealthEncounter.resource_id == entry.encounter_id,
                                     HealthEncounter.institution_code == principal.code)).first()
        if row is None:
            raise EncounterUnknown(encounter=entry.encounter_id[:64])
        encounter_id, pseudonym, patient_id = row
        if entry.subject_pseudonym is not None and entry.subject_pseudonym != pseudonym:
            raise FhirProfileViolation("subject is not the encounter's patient", element="subject")
        existing = session.execute(select(HealthDocument).where(
            HealthDocument.institution_code == principal.code, HealthDocument.source_system == entry.source_system,
            HealthDocument.source_value == entry.source_value)).scalar_one_or_none()
        if existing is not None:
            if existing.content_sha256 != entry.content_sha256:
                raise EntryConflict(identifier=entry.source_value)
            return Published(existing.resource, False, existing.resource_id)
        resource_id = secrets.token_hex(16)
        text = profile.dumps(profile.document_resource(entry, resource_id, pseudonym, principal.code,
                                                       _institution_name(session, principal), utcnow()))
        session.add(HealthDocument(resource_id=resource_id, patient_id=patient_id, encounter_id=encounter_id,
                                   institution_code=principal.code, source_system=entry.source_system,
                                   source_value=entry.source_value, content_sha256=entry.content_sha256,
                                   resource=text))
        try:
            session.flush()
        except IntegrityError:
            raise EntryConflict(identifier=entry.source_value) from None
        audit.record(session, principal.actor, "health.document.publish", "health_document", resource_id, None,
                     {"patient": pseudonym, "encounter": entry.encounter_id})
        return Published(text, True, resource_id)


class _Grant(NamedTuple):
    id: int
    grant_id: str
    purpose: str
    method: str


def _granted(session: Session, principal: InstitutionPrincipal, grant_id: str | None,
             patient: HealthPatient) -> _Grant:
    """The grant that lets this institution read this patient now, or the reason why not."""
    if not grant_id:
        raise GrantRequired()
    grant = session.execute(select(HealthGrant).where(HealthGrant.grant_id == grant_id[:64])).scalar_one_or_none()
    if grant is None:
        raise GrantUnknown()
    if grant.institution_code != principal.code:
        raise GrantOtherInstitution()
    if grant.patient_id != patient.id:
        raise GrantOtherPatient()
    if grant.revoked_at is not None:
        raise GrantRevoked()
    if grant.expires_at <= utcnow():
        raise GrantExpired(expired_at=grant.expires_at.isoformat())
    return _Grant(grant.id, grant.grant_id, grant.purpose, grant.method)


def _granted_in(session: Session, principal: InstitutionPrincipal, grant_id: str | None,
                found: ReadContext) -> _Grant:
    """``_granted`` on what ``read_context`` read with the patient (the same checks, in the same order)."""
    if not grant_id:
        raise GrantRequired()
    if found.grant_id is None or found.purpose is None or found.method is None:
        raise GrantUnknown()
    if found.grant_institution != principal.code:
        raise GrantOtherInstitution()
    if found.grant_patient_id != found.patient_id:
        raise GrantOtherPatient()
    if found.grant_revoked:
        raise GrantRevoked()
    if found.grant_expired:
        expired = session.execute(select(HealthGrant.expires_at).where(HealthGrant.id == found.grant_id)).scalar_one()
        raise GrantExpired(expired_at=expired.isoformat())
    return _Grant(found.grant_id, grant_id[:64], found.purpose, found.method)


def _read_record(principal: InstitutionPrincipal, operator: str, grant: _Grant, patient_id: int, pseudonym: str,
                 resource_type: str, count: int) -> tuple[audit.Entry, list[Write]]:
    """The read, as its audit record and its row in the holder's log."""
    return (audit.Entry("health.index.read", "health_patient", pseudonym, None,
                        audit.read_details(grant.purpose, institution=principal.code, operator=operator,
                                           grant=grant.grant_id, method=grant.method, resource=resource_type,
                                           count=count)),
            [(_READ_INSERT, {"patient_id": patient_id, "grant_id": grant.id, "institution_code": principal.code,
                             "operator": operator, "purpose": grant.purpose, "resource_type": resource_type,
                             "entries": count})])


def _log_read(session: Session, principal: InstitutionPrincipal, operator: str, grant: _Grant, patient_id: int,
              pseudonym: str, resource_type: str, count: int) -> None:
    """The read, in the holder's log and in the audit chain (one statement with the chain head locked, sent with
    COMMIT: the transaction's last step)."""
    record, writes = _read_record(principal, operator, grant, patient_id, pseudonym, resource_type, count)
    audit.record_with(session, principal.actor, record, writes, commit=True)


def _visible_filter(hidden: list[icd.SensitiveCategory]) -> Callable[[str], bool]:
    """``code -> bool``: whether an entry of that diagnosis code is shown. One ``category_of`` per distinct code
    of the search, not one per entry (a patient's ~100 entries repeat a few codes; the ranges scan was about a
    fifth of a search's CPU, bench/health_index.py)."""
    if not hidden:
        return lambda code: True
    seen: dict[str, bool] = {}

    def visible(code: str) -> bool:
        found = seen.get(code)
        if found is None:
            found = seen[code] = icd.category_of(code, hidden) is None
        return found

    return visible


def search(db: Database, principal: InstitutionPrincipal, resource_type: str, pseudonym: str | None,
           grant_id: str | None, operator: str | None, base: str) -> str:
    """``GET [base]/Encounter?patient=…`` or ``DocumentReference?patient=…`` under a grant: a searchset Bundle of
    the patient's entries, newest first, without the entries of sensitive categories the holder keeps hidden.
    The read is audited (institution, operator, grant, purpose, count) and logged for the holder.

    Written for round trips (bench/health_index.py): one query reads the key, patient, grant and hidden
    categories (``records.read_context``), one the entries; the Bundle is made before the read log and its
    audit record go in one statement, after, with those of concurrent callers (``audit.record_grouped``)."""
    require_hospital(principal)
    who = check_operator(operator)
    if not pseudonym:
        raise FhirProfileViolation("search needs patient=<id> (the Patient the grant names)", element="patient")
    pseudonym = pseudonym.removeprefix("Patient/")
    with db.unit_of_work() as session:
        found = read_context(session, principal, pseudonym, (grant_id or "")[:64], clock.local_date(), utcnow())
        grant = _granted_in(session, principal, grant_id, found)
        if resource_type == "Encounter":
            rows: Sequence[tuple[Any, ...]] = encounter_rows(session, found.patient_id)
        else:
            rows = session.execute(select(HealthDocument.resource_id, HealthDocument.resource,
                                          HealthEncounter.diagnosis_code)
                                   .join(HealthEncounter, HealthEncounter.id == HealthDocument.encounter_id)
                                   .where(HealthDocument.patient_id == found.patient_id)
                                   .order_by(HealthEncounter.encounter_date.desc(), HealthDocument.id.desc())).all()
        visible = _visible_filter(found.hidden)
        resources = [(rid, text) for rid, text, code in rows if visible(code)]
        bundle = profile.bundle(resource_type, resources, base, utcnow())
    # The transaction above only read; the read is logged and audited with concurrent callers' records
    # (``audit.record_grouped``), and the Bundle answered only once that is committed.
    record, writes = _read_record(principal, who, grant, found.patient_id, pseudonym, resource_type, len(resources))
    audit.record_grouped(db, principal.actor, record, writes)
    return bundle


def read_patient(db: Database, principal: InstitutionPrincipal, pseudonym: str, grant_id: str | None,
                 operator: str | None) -> str:
    """``GET [base]/Patient/<id>`` under a grant: the pseudonymous Patient (audited as a read)."""
    require_hospital(principal)
    who = check_operator(operator)
    with db.unit_of_work() as session:
        check_key(session, principal)
        patient = patient_by_pseudonym(session, pseudonym)
        grant = _granted(session, principal, grant_id, patient)
        _log_read(session, principal, who, grant, patient.id, patient.pseudonym, "Patient", 1)
        return profile.dumps(profile.patient_resource(patient.pseudonym))


def grant_window(now: dt.datetime, minutes: int) -> dt.datetime:
    return now + dt.timedelta(minutes=minutes)
