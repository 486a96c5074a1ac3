"""Bad input to the index: invalid FHIR, unknown codes, missing elements, an ICD-10 code that does not exist, a
patient who is not the card's holder → OperationOutcome with a stable code, and nothing written. The parser is
fuzzed: whatever the bytes, it answers a domain error or an entry, never anything else."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from health.index_world import document_body, encounter_body, outcome_code, post, publish
from medical.world import Hospital, NewId, insured_person
from sscard.audit.models import AuditRecord
from sscard.errors import DomainError
from sscard.health import icd, profile
from sscard.health.models import HealthDocument, HealthEncounter, HealthPatient
from support.city import City

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DROP:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return edit


_DROP = object()

ENCOUNTER_CASES: list[tuple[str, Edit, str]] = [
    ("wrong type", _set("status", 5), "FHIR_INVALID"),
    ("unknown element", _set("colour", "blue"), "FHIR_INVALID"),
    ("missing status", _set("status", _DROP), "FHIR_INVALID"),
    ("missing class", _set("class", _DROP), "FHIR_INVALID"),
    ("another resource", _set("resourceType", "Observation"), "FHIR_INVALID"),
    ("unknown status", _set("status", "done"), "FHIR_CODE_UNKNOWN"),
    ("unknown class", _set("class.code", "XYZ"), "FHIR_CODE_UNKNOWN"),
    ("unknown type", _set("type.0.coding.0.code", "surgery"), "FHIR_CODE_UNKNOWN"),
    ("class against type", _set("class.code", "IMP"), "FHIR_PROFILE_VIOLATION"),
    ("no identifier", _set("identifier", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("no department", _set("serviceType", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("no date", _set("period", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("future date", _set("period.start", (dt.date.today() + dt.timedelta(days=3)).isoformat()),
     "FHIR_PROFILE_VIOLATION"),
    ("no diagnosis", _set("reasonCode", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("diagnosis in another system", _set("reasonCode.0.coding.0.system", "http://snomed.info/sct"),
     "FHIR_PROFILE_VIOLATION"),
    ("ICD-10 code that does not exist", _set("reasonCode.0.coding.0.code", "J18.99"), "ICD10_CODE_UNKNOWN"),
    ("ICD-10 block, not a code", _set("reasonCode.0.coding.0.code", "A00-A09"), "ICD10_CODE_UNKNOWN"),
    ("undotted ICD-10", _set("reasonCode.0.coding.0.code", "J189"), "ICD10_CODE_UNKNOWN"),
    ("subject not contained", _set("subject.reference", "Patient/123"), "FHIR_PROFILE_VIOLATION"),
    ("no ID number", _set("contained.0.identifier", [{"system": profile.CARD_SYSTEM, "value": "A0000000"}]),
     "FHIR_PROFILE_VIOLATION"),
    ("unknown card", _set("contained.0.identifier.0.value", "A9999999X"), "HEALTH_CARD_NOT_USABLE"),
]


def _counts(city: City) -> tuple[int, ...]:
    with city.db.unit_of_work() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (HealthEncounter, HealthDocument, HealthPatient, AuditRecord))


@pytest.mark.parametrize(("case", "edit", "code"), ENCOUNTER_CASES, ids=[c[0] for c in ENCOUNTER_CASES])
def test_a_bad_encounter_is_refused_with_a_stable_code_and_nothing_written(
        city: City, hospital_a: Hospital, new_id: NewId, case: str, edit: Edit, code: str) -> None:
    who = insured_person(city, new_id)
    body = encounter_body(who)
    edit(body)
    before = _counts(city)
    response = post(hospital_a, "Encounter", body)
    assert 400 <= response.status_code < 500 and outcome_code(response) == code, response.text
    OperationOutcome.model_validate(response.json())
    assert _counts(city) == before


def test_a_patient_who_is_not_the_cards_holder_is_refused(city: City, hospital_a: Hospital,
                                                          new_id: NewId) -> None:
    who, other = insured_person(city, new_id), insured_person(city, new_id)
    before = _counts(city)
    response = post(hospital_a, "Encounter", encounter_body(who, id_number=other.id_number))
    assert response.status_code == 422 and outcome_code(response) == "PATIENT_NOT_CARD_HOLDER"
    assert _counts(city) == before


def test_not_json_and_a_missing_key_are_operation_outcomes(city: City, hospital_a: Hospital) -> None:
    assert outcome_code(post(hospital_a, "Encounter", b"{not json")) == "FHIR_INVALID"
    no_key = hospital_a.client.post("/api/v1/fhir/Encounter", content=b"{}",
                                    headers={"X-Institution-Key": "HX.nothing"})
    assert no_key.status_code == 401 and outcome_code(no_key) == "INSTITUTION_AUTH_FAILED"


def test_republishing_is_idempotent_and_different_content_conflicts(city: City, hospital_a: Hospital,
                                                                     new_id: NewId) -> None:
    who = insured_person(city, new_id)
    body = encounter_body(who, ident="V-1")
    first = publish(hospital_a, body)
    again = post(hospital_a, "Encounter", body)
    assert again.status_code == 200 and again.json() == first
    changed = copy.deepcopy(body)
    changed["reasonCode"][0]["coding"][0]["code"] = "J20.9"
    conflict = post(hospital_a, "Encounter", changed)
    assert conflict.status_code == 409 and outcome_code(conflict) == "HEALTH_ENTRY_CONFLICT"


DOCUMENT_CASES: list[tuple[str, Edit, str]] = [
    ("unknown status", _set("status", "final"), "FHIR_CODE_UNKNOWN"),
    ("no content", _set("content", _DROP), "FHIR_INVALID"),
    ("no url", _set("content.0.attachment.url", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("not a web url", _set("content.0.attachment.url", "file:///etc/passwd"), "FHIR_PROFILE_VIOLATION"),
    ("no encounter", _set("context", _DROP), "FHIR_PROFILE_VIOLATION"),
    ("unknown encounter", _set("context.encounter.0.reference", "Encounter/nope"), "HEALTH_ENCOUNTER_UNKNOWN"),
    ("another patient", _set("subject", {"reference": "Patient/someone"}), "FHIR_PROFILE_VIOLATION"),
]


@pytest.mark.parametrize(("case", "edit", "code"), DOCUMENT_CASES, ids=[c[0] for c in DOCUMENT_CASES])
def test_a_bad_document_is_refused_and_nothing_written(city: City, hospital_a: Hospital, hospital_b: Hospital,
                                                       new_id: NewId, case: str, edit: Edit, code: str) -> None:
    who = insured_person(city, new_id)
    encounter = publish(hospital_a, encounter_body(who))
    body = document_body(encounter["id"])
    edit(body)
    before = _counts(city)
    response = post(hospital_a, "DocumentReference", body)
    assert outcome_code(response) == code, response.text
    assert _counts(city) == before
    # Another hospital cannot attach documents to A's encounter.
    foreign = post(hospital_b, "DocumentReference", document_body(encounter["id"]))
    assert outcome_code(foreign) == "HEALTH_ENCOUNTER_UNKNOWN"


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)


def _valid_shape() -> dict[str, Any]:
    body = {"resourceType": "Encounter", "identifier": [{"system": "urn:x", "value": "1"}], "status": "finished",
            "class": {"system": profile.ACT_CODE, "code": "AMB"},
            "type": [{"coding": [{"system": profile.TYPE_SYSTEM, "code": "outpatient"}]}],
            "serviceType": {"text": "内科"}, "subject": {"reference": "#p"}, "period": {"start": "2026-01-02"},
            "reasonCode": [{"coding": [{"system": icd.SYSTEM, "code": "J18.9"}]}],
            "contained": [{"resourceType": "Patient", "id": "p",
                           "identifier": [{"system": profile.CARD_SYSTEM, "value": "A1"},
                                          {"system": profile.RESIDENT_ID_SYSTEM, "value": "X"}]}]}
    return body


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(_valid_shape())), value=_json, raw=st.binary(max_size=64))
def test_the_encounter_parser_answers_a_domain_error_or_an_entry(key: str, value: Any, raw: bytes) -> None:
    body = _valid_shape()
    body[key] = value
    for data in (json.dumps(body).encode(), raw):
        try:
            entry = profile.parse_encounter(data, dt.date(2026, 12, 2))
        except DomainError as exc:
            assert exc.code.startswith(("FHIR_", "ICD10_")), exc.code
        else:
            assert icd.is_code(entry.diagnosis_code) and entry.encounter_type in profile.TYPES


@settings(max_examples=200, deadline=None)
@given(code=st.text(max_size=8))
def test_icd_10_check_accepts_only_categories_and_subcategories(code: str) -> None:
    if icd.is_code(code):
        assert icd.SHAPE.match(code) and icd.title(code)


def test_icd_10_known_answers() -> None:
    assert icd.is_code("J18.9") and icd.is_code("F32") and icd.is_code("B20")
    assert not icd.is_code("J18.99") and not icd.is_code("U99.9") and not icd.is_code("XII")
    assert icd.title("J18.9") == "Pneumonia, unspecified"


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(document_body("e"))), value=_json)
def test_the_document_parser_answers_a_domain_error_or_an_entry(key: str, value: Any) -> None:
    body = document_body("e")
    body[key] = value
    try:
        entry = profile.parse_document(json.dumps(body).encode())
    except DomainError as exc:
        assert exc.code.startswith("FHIR_"), exc.code
    else:
        assert entry.url.startswith(("http://", "https://")) and entry.encounter_id
