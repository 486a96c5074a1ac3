"""Helpers for the health-index tests: FHIR bodies a hospital publishes, and the hospital's calls (publish, grant
through the terminal with card + PIN, break-the-glass, search), over the medical test world's hospitals/cards."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from medical import world
from medical.world import Hospital, Insured
from sscard import clock
from sscard.health import icd, profile
from sscard.medical import presence
from sscard.registry import idnumber

FHIR = "/api/v1/fhir"
OPERATOR = "dr.wang-01"


def encounter_body(who: Insured, code: str = "J18.9", kind: str = "outpatient", klass: str = "AMB",
                   ident: str | None = None, day: str | None = None, id_number: str | None = None) -> dict[str, Any]:
    """An Encounter as a hospital's HIS sends it: the contained Patient carries card and ID number."""
    return {
        "resourceType": "Encounter",
        "contained": [{"resourceType": "Patient", "id": "p",
                       "identifier": [{"system": profile.CARD_SYSTEM, "value": who.card_no},
                                      {"system": profile.RESIDENT_ID_SYSTEM, "value": id_number or who.id_number}]}],
        "identifier": [{"system": "urn:hospital:his:visit", "value": ident or uuid.uuid4().hex[:20]}],
        "status": "finished",
        "class": {"system": profile.ACT_CODE, "code": klass},
        "type": [{"coding": [{"system": profile.TYPE_SYSTEM, "code": kind}]}],
        "serviceType": {"text": "呼吸内科"},
        "subject": {"reference": "#p"},
        "period": {"start": day or clock.local_date().isoformat()},
        "reasonCode": [{"coding": [{"system": icd.SYSTEM, "code": code}]}],
    }


def document_body(encounter_id: str, ident: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:hospital:emr:doc", "value": ident or uuid.uuid4().hex[:20]},
        "status": "current",
        "type": {"text": "门诊病历"},
        "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
        "content": [{"attachment": {"contentType": "application/pdf",
                                    "url": "https://emr.hospital-a.example/documents/4711", "title": "门诊病历"}}],
    }


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def post(hospital: Hospital, path: str, body: dict[str, Any] | bytes,
         headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else raw(body)
    return hospital.client.post(f"{FHIR}/{path}", content=content,
                                headers={**hospital.headers, "Content-Type": profile.FHIR_JSON, **(headers or {})})


def publish(hospital: Hospital, body: dict[str, Any]) -> dict[str, Any]:
    response = post(hospital, body["resourceType"], body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(profile.FHIR_JSON)
    data: dict[str, Any] = response.json()
    return data


def grant_response(hospital: Hospital, who: Insured, pin: str = world.PIN, card: bool = True) -> httpx.Response:
    """The terminal reads the card, the card makes its cryptogram over the request body, the holder types the
    PIN: ``POST $grant``."""
    assert who.card_no is not None
    body = raw({"card_no": who.card_no, "nonce": uuid.uuid4().hex})
    headers = {"X-Health-Operator": OPERATOR, "X-Card-Pin": pin}
    if card:
        headers[presence.HEADER] = world.presence_header(who.card_no, body, clock.local_date())
    return post(hospital, "$grant", body, headers)


def grant(hospital: Hospital, who: Insured) -> tuple[str, str]:
    """(grant id, patient id) of a new card + PIN grant."""
    response = grant_response(hospital, who)
    assert response.status_code == 201, response.text
    consent = response.json()
    return consent["id"], consent["patient"]["reference"].removeprefix("Patient/")


def search(hospital: Hospital, resource_type: str, patient: str, grant_id: str | None) -> httpx.Response:
    headers = {**hospital.headers, "X-Health-Operator": OPERATOR}
    if grant_id is not None:
        headers["X-Health-Grant"] = grant_id
    return hospital.client.get(f"{FHIR}/{resource_type}", params={"patient": patient}, headers=headers)


def outcome_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith(profile.FHIR_JSON), response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    code: str = body["issue"][0]["details"]["coding"][0]["code"]
    return code


def masked_id(who: Insured) -> str:
    return idnumber.mask(who.id_number)
