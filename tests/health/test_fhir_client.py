"""A FHIR client we did not write reads the index: plain httpx against the application served by uvicorn on
loopback, every answer parsed by the R4 models of ``fhir.resources``. The same run checks that the files under
docs/examples/health-index/ are what the server emits (pretty-printed; ids, instants and the port aside).

``SSCARD_WRITE_EXAMPLES=1`` rewrites those files from this run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.operationoutcome import OperationOutcome

from health.index_world import OPERATOR, document_body, encounter_body, raw
from medical import world
from medical.world import KEYS, NewId, ensure_config, insured_person
from sscard import clock
from sscard.api.app import create_app
from sscard.medical import institutions, presence
from support.city import City
from support.loopback import serve

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "health-index"
FHIR_JSON = "application/fhir+json"


def _normal(text: str) -> str:
    """What varies between runs replaced: resource ids, instants, today's date, the server's address."""
    text = re.sub(r"[0-9a-f]{32}", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<instant>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d", "<date>", text)
    return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:8000", text)


def _check_example(name: str, response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith(FHIR_JSON)
    pretty = json.dumps(response.json(), ensure_ascii=False, indent=2) + "\n"
    path = EXAMPLES / name
    if os.environ.get("SSCARD_WRITE_EXAMPLES") == "1":
        path.write_text(pretty.replace(str(response.url).split("/api/")[0], "http://127.0.0.1:8000"),
                        encoding="utf-8")
    assert _normal(path.read_text(encoding="utf-8")) == _normal(pretty), name


def test_a_plain_http_client_reads_the_index_with_the_r4_models(fresh_city: City, new_id: NewId) -> None:
    city = fresh_city
    ensure_config(city.db)
    keys = {}
    for code, name in (("H441802001", "清远市人民医院"), ("H441802002", "清远市中医院")):
        keys[code] = institutions.create_institution(city.db, city.admin, code, name, "hospital", "3",
                                                     ["outpatient", "inpatient"]).api_key
    app = create_app(city.db)
    app.state.key_manager = KEYS
    who = insured_person(city, new_id)
    assert who.card_no is not None
    with serve(app, "the health index") as base, httpx.Client(base_url=base + "/api/v1/fhir") as fhir:
        a = {"X-Institution-Key": keys["H441802001"], "Content-Type": FHIR_JSON}
        b = {"X-Institution-Key": keys["H441802002"], "X-Health-Operator": OPERATOR}

        metadata = fhir.get("/metadata")
        CapabilityStatement.model_validate_json(metadata.content)
        _check_example("capability-statement.json", metadata)

        published = fhir.post("/Encounter", content=raw(encounter_body(who, ident="MZ20261202-000123")), headers=a)
        assert published.status_code == 201, published.text
        encounter = Encounter.model_validate_json(published.content)
        assert published.headers["location"].endswith(f"/Encounter/{encounter.id}")
        _check_example("encounter.json", published)

        document = fhir.post("/DocumentReference", content=raw(document_body(str(encounter.id), "EMR-000456")),
                             headers=a)
        assert document.status_code == 201, document.text
        DocumentReference.model_validate_json(document.content)
        _check_example("document-reference.json", document)

        patient = encounter.subject.reference.removeprefix("Patient/")  # type: ignore[union-attr]
        refused = fhir.get("/Encounter", params={"patient": patient}, headers=b)
        assert refused.status_code == 403
        outcome = OperationOutcome.model_validate_json(refused.content)
        assert outcome.issue[0].details.coding[0].code == "HEALTH_GRANT_REQUIRED"  # type: ignore[index,union-attr]
        _check_example("operation-outcome.json", refused)

        body = raw({"card_no": who.card_no, "nonce": "terminal-7-000001"})
        granted = fhir.post("/$grant", content=body, headers={
            **b, "Content-Type": "application/json", "X-Card-Pin": world.PIN,
            presence.HEADER: world.presence_header(who.card_no, body, clock.local_date())})
        assert granted.status_code == 201, granted.text
        consent = Consent.model_validate_json(granted.content)
        _check_example("consent.json", granted)

        found = fhir.get("/Encounter", params={"patient": f"Patient/{patient}"},
                         headers={**b, "X-Health-Grant": str(consent.id)})
        bundle = Bundle.model_validate_json(found.content)
        assert bundle.total == 1 and bundle.entry[0].resource.id == encounter.id  # type: ignore[index,union-attr]
        _check_example("search-bundle.json", found)

        patient_read = fhir.get(f"/Patient/{patient}", headers={**b, "X-Health-Grant": str(consent.id)})
        assert patient_read.status_code == 200 and patient_read.json()["identifier"][0]["value"] == patient


def test_the_examples_are_the_documented_ones() -> None:
    docs = (EXAMPLES.parent.parent / "health-index.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in EXAMPLES.glob("*.json"))
    assert names == ["capability-statement.json", "consent.json", "document-reference.json", "encounter.json",
                     "operation-outcome.json", "search-bundle.json"]
    for name in names:
        assert f"examples/health-index/{name}" in docs, name
        data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
        assert data["resourceType"]
