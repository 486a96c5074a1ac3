"""Tables of the health index: pseudonymous patients, encounter and document entries (the FHIR resource as
served, beside the columns searches and statistics use), consent grants, the holder's opt-ins to sensitive
categories, the read log the holder sees, and the effective-dated list of sensitive categories."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class HealthPatient(Base):
    """The index's own identifier of a person (``Patient/<pseudonym>``): random, never the card or ID number,
    so an answer of the index names nobody to whoever intercepts it. ``division`` is the person's region code
    (县区) at first publication, for the department's de-identified statistics."""

    __tablename__ = "health_patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    division: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthEncounter(Base):
    """An encounter index entry. One per (institution, the institution's own encounter identifier): a repeated
    publication with the same content answers the first entry (idempotent)."""

    __tablename__ = "health_encounters"
    __table_args__ = (UniqueConstraint("institution_code", "source_system", "source_value"),
                      Index("ix_health_encounters_patient_date", "patient_id", "encounter_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("health_patients.id"))
    institution_code: Mapped[str] = mapped_column(String(20))
    source_system: Mapped[str] = mapped_column(String(200))
    source_value: Mapped[str] = mapped_column(String(64))
    encounter_date: Mapped[dt.date] = mapped_column(Date)
    encounter_type: Mapped[str] = mapped_column(String(12))  # outpatient, inpatient, emergency, exam
    department: Mapped[str] = mapped_column(String(50))
    diagnosis_code: Mapped[str] = mapped_column(String(8))
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the published body's index elements
    resource: Mapped[str] = mapped_column(Text)  # the Encounter as the server emits it (JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthDocument(Base):
    """A document index entry: where a document of an encounter is held (its URL at the hospital)."""

    __tablename__ = "health_documents"
    __table_args__ = (UniqueConstraint("institution_code", "source_system", "source_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("health_patients.id"), index=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("health_encounters.id"), index=True)
    institution_code: Mapped[str] = mapped_column(String(20))
    source_system: Mapped[str] = mapped_column(String(200))
    source_value: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthGrant(Base):
    """A time-limited grant for one institution to read one patient's index.

    ``method``: ``card_pin`` (the holder's card cryptogram and PIN at the institution's terminal) or
    ``emergency`` (break-the-glass: no holder present, a mandatory reason, flagged for review); a scanned e-card
    code becomes a third method. The card's ATC is kept under a unique index: one cryptogram grants once."""

    __tablename__ = "health_grants"
    __table_args__ = (UniqueConstraint("card_no", "presence_atc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("health_patients.id"), index=True)
    institution_code: Mapped[str] = mapped_column(String(20))
    operator: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(12))  # HL7 v3 PurposeOfUse: TREAT, ETREAT
    reason: Mapped[str | None] = mapped_column(String(500))
    card_no: Mapped[str | None] = mapped_column(String(20))
    presence_atc: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None]


class HealthOptIn(Base):
    """The holder's choice to show entries of a sensitive category to institutions they grant access."""

    __tablename__ = "health_opt_ins"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    opted_in_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthRead(Base):
    """One read of a patient's index, for the holder to see (beside the audit record of the same read)."""

    __tablename__ = "health_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("health_patients.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("health_grants.id"))
    institution_code: Mapped[str] = mapped_column(String(20))
    operator: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(12))
    resource_type: Mapped[str] = mapped_column(String(30))
    entries: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthSensitivePolicy(Base):
    """The list of sensitive categories (JSON: name, labels, code ranges) in effect from a date; appended,
    never rewritten (a database trigger refuses UPDATE and DELETE), as the policy parameters are."""

    __tablename__ = "health_sensitive_policies"
    __table_args__ = (UniqueConstraint("effective_from", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    categories: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
