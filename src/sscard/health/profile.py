"""The index's FHIR R4 profile: what a hospital's ``Encounter`` and ``DocumentReference`` must carry, parsed and
checked against the R4 models of ``fhir.resources`` (its ``R4B`` package, docs/health-index.md), and the
resources as the index emits them. Pure: no database, no clock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from sscard.health import icd
from sscard.health.errors import DiagnosisCodeUnknown, FhirCodeUnknown, FhirInvalid, FhirProfileViolation

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
CARD_SYSTEM = "urn:sscard:sid:card-no"  # 社会保障卡卡号
RESIDENT_ID_SYSTEM = "urn:sscard:sid:resident-id"  # 公民身份号码 (GB 11643)
PATIENT_SYSTEM = "urn:sscard:sid:health-index-patient"  # the index's pseudonym
INSTITUTION_SYSTEM = "urn:sscard:sid:institution"  # 定点医疗机构编码
TYPE_SYSTEM = "urn:sscard:CodeSystem:encounter-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# The index's encounter types, their Chinese names and the HL7 v3 encounter classes each may carry.
TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "outpatient": ("门诊", frozenset({"AMB"})),
    "inpatient": ("住院", frozenset({"IMP"})),
    "emergency": ("急诊", frozenset({"EMER"})),
    "exam": ("体检", frozenset({"AMB"})),
}
CLASS_DISPLAY = {"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency"}
# Required bindings of R4 (the models check types, not value sets).
ENCOUNTER_STATUS = frozenset({"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                              "entered-in-error", "unknown"})
DOCUMENT_STATUS = frozenset({"current", "superseded", "entered-in-error"})
MAX_TEXT = 50
_URL = re.compile(r"^https?://[^\s]{1,490}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")  # needs no escaping inside a JSON string (``bundle``)


@dataclass(frozen=True, slots=True)
class EncounterIn:
    """What the index keeps of a published Encounter."""

    source_system: str
    source_value: str
    status: str
    encounter_class: str
    encounter_type: str
    department: str
    encounter_date: dt.date
    diagnosis_code: str
    card_no: str
    id_number: str
    content_sha256: str


@dataclass(frozen=True, slots=True)
class DocumentIn:
    source_system: str
    source_value: str
    status: str
    type_text: str
    encounter_id: str
    subject_pseudonym: str | None
    url: str
    content_type: str
    title: str | None
    date: str | None
    content_sha256: str


def _load(raw: bytes, resource_type: str, model: type[Resource]) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise FhirInvalid("the body is not JSON") from None
    if not isinstance(data, dict):
        raise FhirInvalid("the body must be a JSON object (a FHIR resource)")
    if data.get("resourceType") != resource_type:
        raise FhirInvalid(f"resourceType must be {resource_type}", element="resourceType")
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirInvalid(f"{where}: {first.get('msg', '')}"[:300], element=where[:100],
                          errors=exc.error_count()) from None
    except (TypeError, ValueError) as exc:  # a model's own validators may raise these
        raise FhirInvalid(str(exc)[:300]) from None
    return data


def _obj(value: Any) -> dict[str, Any]:
    """An element as an object ({} when absent or null: the models accept null for an absent element)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _required(data: dict[str, Any], element: str) -> Any:
    """An element FHIR itself requires (1..1): absent or null is invalid FHIR."""
    value = data.get(element)
    if value is None:
        raise FhirInvalid(f"{element}: field required", element=element)
    return value


def _need(value: Any, element: str) -> Any:
    if value in (None, "", [], {}):
        raise FhirProfileViolation(f"{element} is required by the index", element=element)
    return value


def _text(value: Any, element: str, limit: int = MAX_TEXT) -> str:
    text = str(_need(value, element)).strip()
    if not text or len(text) > limit:
        raise FhirProfileViolation(f"{element}: 1 to {limit} characters", element=element)
    return text


def _identifier(ident: Any, element: str) -> tuple[str, str]:
    if not isinstance(ident, dict):
        raise FhirProfileViolation(f"{element} is required by the index", element=element)
    system, value = _text(ident.get("system"), f"{element}.system", 200), ident.get("value")
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise FhirProfileViolation(f"{element}.value: 1 to 64 letters, digits or . _ : / -", element=element)
    return system, value


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _holder(data: dict[str, Any]) -> tuple[str, str]:
    """The contained Patient the subject points to: its card number and ID number."""
    reference = str(_obj(data.get("subject")).get("reference") or "")
    if not reference.startswith("#"):
        raise FhirProfileViolation("subject must reference a contained Patient (#id) with the card number and "
                                   "ID number", element="subject")
    found = [r for r in _list(data.get("contained")) if isinstance(r, dict) and r.get("resourceType") == "Patient"
             and r.get("id") == reference[1:]]
    if len(found) != 1:
        raise FhirProfileViolation("subject: no contained Patient with that id", element="subject")
    values: dict[str, str] = {}
    for ident in _list(found[0].get("identifier")):
        if (isinstance(ident, dict) and ident.get("system") in (CARD_SYSTEM, RESIDENT_ID_SYSTEM)
                and isinstance(ident.get("value"), str)):
            values[ident["system"]] = ident["value"]
    if set(values) != {CARD_SYSTEM, RESIDENT_ID_SYSTEM}:
        raise FhirProfileViolation(f"the contained Patient needs identifiers {CARD_SYSTEM} and "
                                   f"{RESIDENT_ID_SYSTEM}", element="contained.identifier")
    return values[CARD_SYSTEM], values[RESIDENT_ID_SYSTEM]


def _concept_text(concept: Any, element: str) -> str:
    """A CodeableConcept's text, or the display of its first coding that has one."""
    found = _obj(_need(concept, element))
    text = found.get("text") or next((c.get("display") for c in _list(found.get("coding"))
                                      if isinstance(c, dict) and c.get("display")), None)
    return _text(text, f"{element}.text")


def _coding(concept: Any, system: str, element: str) -> dict[str, Any]:
    codings = [c for c in _list(_obj(concept).get("coding")) if isinstance(c, dict) and c.get("system") == system]
    if len(codings) != 1 or not codings[0].get("code"):
        raise FhirProfileViolation(f"{element} needs one coding of {system}", element=element)
    coding: dict[str, Any] = codings[0]
    return coding


def parse_encounter(raw: bytes, today: dt.date) -> EncounterIn:
    """A hospital's Encounter → the index entry; FHIR_INVALID, FHIR_CODE_UNKNOWN, FHIR_PROFILE_VIOLATION or
    ICD10_CODE_UNKNOWN otherwise."""
    data = _load(raw, "Encounter", Encounter)
    identifiers = _list(_need(data.get("identifier"), "identifier"))
    source_system, source_value = _identifier(identifiers[0] if identifiers else None, "identifier[0]")
    status = _required(data, "status")
    if status not in ENCOUNTER_STATUS:
        raise FhirCodeUnknown(f"status: {status!r} is not an EncounterStatus", element="status")
    klass = _obj(_required(data, "class"))
    if klass.get("system") != ACT_CODE or klass.get("code") not in CLASS_DISPLAY:
        raise FhirCodeUnknown(f"class: {ACT_CODE} AMB, IMP or EMER", element="class")
    types = _list(_need(data.get("type"), "type"))
    kind = _coding(types[0] if types else None, TYPE_SYSTEM, "type[0]")["code"]
    if kind not in TYPES:
        raise FhirCodeUnknown(f"type: one of {', '.join(TYPES)}", element="type")
    if klass["code"] not in TYPES[kind][1]:
        raise FhirProfileViolation(f"class {klass['code']} does not fit type {kind}", element="class")
    department = _concept_text(data.get("serviceType"), "serviceType")
    start = str(_need(_obj(data.get("period")).get("start"), "period.start"))
    try:
        day = dt.date.fromisoformat(start[:10])
    except ValueError:
        raise FhirInvalid("period.start: a date", element="period.start") from None
    if day > today:
        raise FhirProfileViolation("period.start is in the future", element="period.start")
    reasons = _list(_need(data.get("reasonCode"), "reasonCode"))
    code = str(_coding(reasons[0] if reasons else None, icd.SYSTEM, "reasonCode[0]")["code"])
    if not icd.is_code(code):
        raise DiagnosisCodeUnknown(f"{code[:20]} is not a WHO ICD-10 category or subcategory (dotted, e.g. J18.9)",
                                   element="reasonCode[0]")
    card_no, id_number = _holder(data)
    kept = {"identifier": [source_system, source_value], "status": status, "class": klass["code"], "type": kind,
            "department": department, "date": day.isoformat(), "code": code, "card": card_no, "id": id_number}
    return EncounterIn(source_system, source_value, status, klass["code"], kind, department, day, code, card_no,
                       id_number, _digest(kept))


def parse_document(raw: bytes) -> DocumentIn:
    """A hospital's DocumentReference → the index entry (the encounter it belongs to is checked by the service)."""
    data = _load(raw, "DocumentReference", DocumentReference)
    source_system, source_value = _identifier(data.get("masterIdentifier"), "masterIdentifier")
    status = _required(data, "status")
    if status not in DOCUMENT_STATUS:
        raise FhirCodeUnknown(f"status: {status!r} is not a DocumentReferenceStatus", element="status")
    type_text = _concept_text(data.get("type"), "type")
    encounters = _list(_need(_obj(data.get("context")).get("encounter"), "context.encounter"))
    reference = str(_obj(encounters[0] if encounters else None).get("reference") or "")
    if not reference.startswith("Encounter/") or len(reference) > 80:
        raise FhirProfileViolation("context.encounter[0] must reference Encounter/<id> of the index",
                                   element="context.encounter")
    subject = _obj(data.get("subject")).get("reference")
    if subject is not None and not str(subject).startswith("Patient/"):
        raise FhirProfileViolation("subject, if given, is Patient/<id> of the index", element="subject")
    contents = _list(_required(data, "content"))
    attachment = _obj(_obj(contents[0] if contents else None).get("attachment"))
    url = str(_need(attachment.get("url"), "content[0].attachment.url"))
    if not _URL.match(url):
        raise FhirProfileViolation("content[0].attachment.url: an http(s) URL up to 500 characters",
                                   element="content[0].attachment.url")
    content_type = _text(attachment.get("contentType"), "content[0].attachment.contentType", 100)
    title = attachment.get("title")
    kept = {"id": [source_system, source_value], "status": status, "type": type_text, "encounter": reference,
            "subject": subject, "url": url, "contentType": content_type, "title": title, "date": data.get("date")}
    return DocumentIn(source_system, source_value, status, type_text, reference.removeprefix("Encounter/"),
                      str(subject).removeprefix("Patient/") if subject else None, url, content_type,
                      str(title)[:200] if title else None, data.get("date"), _digest(kept))


def stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def encounter_resource(entry: EncounterIn, resource_id: str, pseudonym: str, institution_code: str,
                       institution_name: str, at: dt.datetime) -> dict[str, Any]:
    """The Encounter as the index serves it: the patient as the index's pseudonym, no card or ID number."""
    zh = TYPES[entry.encounter_type][0]
    return {
        "resourceType": "Encounter", "id": resource_id, "meta": {"lastUpdated": stamp(at)},
        "identifier": [{"system": entry.source_system, "value": entry.source_value}],
        "status": entry.status,
        "class": {"system": ACT_CODE, "code": entry.encounter_class, "display": CLASS_DISPLAY[entry.encounter_class]},
        "type": [{"coding": [{"system": TYPE_SYSTEM, "code": entry.encounter_type, "display": zh}]}],
        "serviceType": {"text": entry.department},
        "subject": {"reference": f"Patient/{pseudonym}"},
        "period": {"start": entry.encounter_date.isoformat()},
        "reasonCode": [{"coding": [{"system": icd.SYSTEM, "code": entry.diagnosis_code,
                                    "display": icd.title(entry.diagnosis_code)}]}],
        "serviceProvider": {"identifier": {"system": INSTITUTION_SYSTEM, "value": institution_code},
                            "display": institution_name},
    }


def document_resource(entry: DocumentIn, resource_id: str, pseudonym: str, institution_code: str,
                      institution_name: str, at: dt.datetime) -> dict[str, Any]:
    attachment: dict[str, Any] = {"contentType": entry.content_type, "url": entry.url}
    if entry.title:
        attachment["title"] = entry.title
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference", "id": resource_id, "meta": {"lastUpdated": stamp(at)},
        "masterIdentifier": {"system": entry.source_system, "value": entry.source_value},
        "status": entry.status,
        "type": {"text": entry.type_text},
        "subject": {"reference": f"Patient/{pseudonym}"},
        "date": entry.date or stamp(at),
        "custodian": {"identifier": {"system": INSTITUTION_SYSTEM, "value": institution_code},
                      "display": institution_name},
        "content": [{"attachment": attachment}],
        "context": {"encounter": [{"reference": f"Encounter/{entry.encounter_id}"}]},
    }
    return resource


def patient_resource(pseudonym: str) -> dict[str, Any]:
    """The index's Patient: only its pseudonymous identifier (no name, no card or ID number)."""
    return {"resourceType": "Patient", "id": pseudonym,
            "identifier": [{"system": PATIENT_SYSTEM, "value": pseudonym}], "active": True}


def dumps(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def bundle(resource_type: str, resources: list[tuple[str, str]], base: str, at: dt.datetime) -> str:
    """A searchset Bundle around resources already serialised (stored as emitted, joined as text), each given
    with its id: (id, resource)."""
    # The JSON string of the URL prefix once, not of each whole URL: the ids the index gives are hex (``_PLAIN``),
    # which need no escaping; any other id is encoded in full (bench/health_index.py, ~100 entries a search).
    prefix = f"{base}/{resource_type}/"
    quoted = json.dumps(prefix)[:-1]

    def url(rid: str) -> str:
        return f'{quoted}{rid}"' if _PLAIN.fullmatch(rid) else json.dumps(prefix + rid)

    entries = ",".join(f'{{"fullUrl":{url(rid)},"resource":{r},"search":{{"mode":"match"}}}}' for rid, r in resources)
    return (f'{{"resourceType":"Bundle","meta":{{"lastUpdated":"{stamp(at)}"}},"type":"searchset",'
            f'"total":{len(resources)},"entry":[{entries}]}}')


ISSUE_TYPE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict", 413: "too-costly",
              422: "invalid", 429: "throttled"}
ERROR_SYSTEM = "urn:sscard:CodeSystem:error-code"


def operation_outcome(code: str, status: int, message_zh: str, message_en: str, diagnostics: str | None,
                      element: str | None = None) -> dict[str, Any]:
    """An error as FHIR ``OperationOutcome``: the stable code in ``details.coding``, the messages in its text."""
    issue_type = {"FHIR_CODE_UNKNOWN": "code-invalid", "ICD10_CODE_UNKNOWN": "code-invalid",
                  "FHIR_PROFILE_VIOLATION": "required", "HEALTH_GRANT_EXPIRED": "expired"}.get(
        code, ISSUE_TYPE.get(status, "processing"))
    issue: dict[str, Any] = {"severity": "error", "code": issue_type,
                             "details": {"coding": [{"system": ERROR_SYSTEM, "code": code}],
                                         "text": f"{message_zh} / {message_en}"}}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    if element:
        issue["expression"] = [element]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def capability_statement(base: str, software_version: str) -> dict[str, Any]:
    """What this FHIR endpoint serves (``GET [base]/metadata``)."""
    search_patient = {"name": "patient", "type": "reference",
                      "documentation": "Patient/<id> as a grant names it; required"}
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-02", "kind": "instance",
        "publisher": "sscard",
        "software": {"name": "sscard health index", "version": software_version},
        "implementation": {"description": "居民健康信息索引 (FHIR R4): encounter and document index entries keyed "
                                          "by the social security card, read with the holder's consent",
                           "url": base},
        "fhirVersion": FHIR_VERSION, "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "Hospitals authenticate with X-Institution-Key; reads need X-Health-Grant "
                                        "(a grant from $grant or $break-glass) and X-Health-Operator"},
            "resource": [
                {"type": "Encounter", "interaction": [{"code": "create"}, {"code": "search-type"}],
                 "searchParam": [search_patient]},
                {"type": "DocumentReference", "interaction": [{"code": "create"}, {"code": "search-type"}],
                 "searchParam": [search_patient]},
                {"type": "Patient", "interaction": [{"code": "read"}]},
            ],
            "operation": [
                {"name": "grant", "definition": "urn:sscard:OperationDefinition:grant",
                 "documentation": "the holder's card (X-Card-Presence) and PIN (X-Card-Pin): a Consent"},
                {"name": "break-glass", "definition": "urn:sscard:OperationDefinition:break-glass",
                 "documentation": "emergency access with a mandatory reason, flagged for review: a Consent"},
            ],
        }],
    }
