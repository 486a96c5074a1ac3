"""Use cases of the health index: hospitals publish Encounter and DocumentReference entries; a hospital holding
a grant searches a patient's entries (sensitive categories hidden unless the holder opted in), every read
written to the audit chain and to the log the holder sees. Grants themselves: ``consent``."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Permission
from sscard.audit import service as audit
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
from sscard.health.records import hidden_categories, holder_of, patient_by_pseudonym, patient_for
from sscard.medical.institutions import InstitutionPrincipal, check_key
from sscard.medical.models import Institution
from sscard.registry import idnumber

OPERATOR_MAX = 40


@dataclass(frozen=True, slots=True)
class Published:
    resource: str  # the resource as served (JSON)
    created: bool  # False: the same entry was published before (idempotent repeat)


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


def publish_encounter(db: Database, principal: InstitutionPrincipal, raw: bytes) -> Published:
    """Publish an encounter index entry. The contained Patient's card must be in normal use and its ID number the
    card holder's; a repeat with the same identifier and content answers the first entry, different content is
    HEALTH_ENTRY_CONFLICT. Nothing is written on any refusal."""
    require_hospital(principal)
    entry = profile.parse_encounter(raw, clock.local_date())
    with db.unit_of_work() as session:
        check_key(session, principal)
        person_id, id_number, division = holder_of(session, entry.card_no)
        if idnumber.parse(entry.id_number).value != id_number:
            raise PatientNotCardHolder(card_no=entry.card_no)
        existing = session.execute(select(HealthEncounter).where(
            HealthEncounter.institution_code == principal.code, HealthEncounter.source_system == entry.source_system,
            HealthEncounter.source_value == entry.source_value)).scalar_one_or_none()
        if existing is not None:
            if existing.content_sha256 != entry.content_sha256:
                raise EntryConflict(identifier=entry.source_value)
            return Published(existing.resource, False)
        patient = patient_for(session, person_id, division)
        resource_id = secrets.token_hex(16)
        text = profile.dumps(profile.encounter_resource(entry, resource_id, patient.pseudonym, principal.code,
                                                        _institution_name(session, principal), utcnow()))
        session.add(HealthEncounter(
            resource_id=resource_id, patient_id=patient.id, institution_code=principal.code,
            source_system=entry.source_system, source_value=entry.source_value, encounter_date=entry.encounter_date,
            encounter_type=entry.encounter_type, department=entry.department, diagnosis_code=entry.diagnosis_code,
            content_sha256=entry.content_sha256, resource=text))
        try:
            session.flush()
        except IntegrityError:
            raise EntryConflict(identifier=entry.source_value) from None
        audit.record(session, principal.actor, "health.encounter.publish", "health_encounter", resource_id, None,
                     {"patient": patient.pseudonym, "type": entry.encounter_type,
                      "date": entry.encounter_date.isoformat()})
        return Published(text, True)


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
            return Published(existing.resource, False)
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
        return Published(text, True)


def _granted(session: Session, principal: InstitutionPrincipal, grant_id: str | None,
             patient: HealthPatient) -> HealthGrant:
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
    return grant


def _log_read(session: Session, principal: InstitutionPrincipal, operator: str, grant: HealthGrant,
              patient: HealthPatient, resource_type: str, count: int) -> None:
    session.add(HealthRead(patient_id=patient.id, grant_id=grant.id, institution_code=principal.code,
                           operator=operator, purpose=grant.purpose, resource_type=resource_type, entries=count))
    audit.record_read(session, principal.actor, "health.index.read", "health_patient", patient.pseudonym,
                      purpose=grant.purpose, institution=principal.code, operator=operator, grant=grant.grant_id,
                      method=grant.method, resource=resource_type, count=count)


def _visible(code: str, hidden: list[icd.SensitiveCategory]) -> bool:
    return icd.category_of(code, hidden) is None


def search(db: Database, principal: InstitutionPrincipal, resource_type: str, pseudonym: str | None,
           grant_id: str | None, operator: str | None, base: str) -> str:
    """``GET [base]/Encounter?patient=…`` or ``DocumentReference?patient=…`` under a grant: a searchset Bundle of
    the patient's entries, newest first, without the entries of sensitive categories the holder keeps hidden.
    The read is audited (institution, operator, grant, purpose, count) and logged for the holder."""
    require_hospital(principal)
    who = check_operator(operator)
    if not pseudonym:
        raise FhirProfileViolation("search needs patient=<id> (the Patient the grant names)", element="patient")
    pseudonym = pseudonym.removeprefix("Patient/")
    with db.unit_of_work() as session:
        check_key(session, principal)
        patient = patient_by_pseudonym(session, pseudonym)
        grant = _granted(session, principal, grant_id, patient)
        hidden = hidden_categories(session, patient.person_id, clock.local_date())
        if resource_type == "Encounter":
            rows = session.execute(select(HealthEncounter.resource, HealthEncounter.diagnosis_code)
                                   .where(HealthEncounter.patient_id == patient.id)
                                   .order_by(HealthEncounter.encounter_date.desc(), HealthEncounter.id.desc())).all()
        else:
            rows = session.execute(select(HealthDocument.resource, HealthEncounter.diagnosis_code)
                                   .join(HealthEncounter, HealthEncounter.id == HealthDocument.encounter_id)
                                   .where(HealthDocument.patient_id == patient.id)
                                   .order_by(HealthEncounter.encounter_date.desc(), HealthDocument.id.desc())).all()
        resources = [text for text, code in rows if _visible(code, hidden)]
        _log_read(session, principal, who, grant, patient, resource_type, len(resources))
        return profile.bundle(resource_type, resources, base, utcnow())


def read_patient(db: Database, principal: InstitutionPrincipal, pseudonym: str, grant_id: str | None,
                 operator: str | None) -> str:
    """``GET [base]/Patient/<id>`` under a grant: the pseudonymous Patient (audited as a read)."""
    require_hospital(principal)
    who = check_operator(operator)
    with db.unit_of_work() as session:
        check_key(session, principal)
        patient = patient_by_pseudonym(session, pseudonym)
        grant = _granted(session, principal, grant_id, patient)
        _log_read(session, principal, who, grant, patient, "Patient", 1)
        return profile.dumps(profile.patient_resource(patient.pseudonym))


def grant_window(now: dt.datetime, minutes: int) -> dt.datetime:
    return now + dt.timedelta(minutes=minutes)
