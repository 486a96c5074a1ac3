"""The health index's FHIR R4 interface under /api/v1/fhir (``application/fhir+json``; every error an
``OperationOutcome`` with a stable code), and its administrators' JSON interface under /api/v1/health."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from sscard import __version__
from sscard.api.deps import DB, CurrentActor, get_db
from sscard.api.fast import FastRoute
from sscard.api.routes_medical import presence_verifier
from sscard.errors import DomainError
from sscard.health import consent, profile, service, stats
from sscard.health.errors import FhirInvalid
from sscard.health.schemas import EmergencyIn, GrantIn, GrantOut, SensitiveCategoriesIn, StatsCellOut
from sscard.medical import institutions, presence
from sscard.medical.errors import InstitutionAuthFailed
from sscard.medical.institutions import InstitutionPrincipal

GRANT_HEADER = "X-Health-Grant"
OPERATOR_HEADER = "X-Health-Operator"
PIN_HEADER = "X-Card-Pin"


def fhir_response(body: str | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else profile.dumps(body)
    return Response(text.encode(), status_code=status, media_type=profile.FHIR_JSON, headers=headers)


def outcome(exc: DomainError) -> Response:
    element = exc.context.get("element")
    return fhir_response(profile.operation_outcome(exc.code, exc.http_status, exc.message_zh, exc.message_en,
                                                   exc.detail, element if isinstance(element, str) else None),
                         exc.http_status)


class FhirRoute(APIRoute):
    """Every failure of a FHIR route — a domain error, a bad query, the institution's key — as OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return outcome(exc)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return outcome(FhirInvalid(f"{where}: {first.get('msg', '')}", element=where))

        return handle


class FhirResponse(Response):
    media_type = profile.FHIR_JSON


_RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
_FHIR_CONTENT = {profile.FHIR_JSON: {"schema": _RESOURCE}}
_ERROR_OUT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
# Every error of a FHIR route is an OperationOutcome; a 401 for a body without any credential and a 413 for a body
# over the limit come from the body-limit middleware before the route, in the API's JSON error shape.
OPENAPI_OUTCOMES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a FHIR resource", "content": _FHIR_CONTENT},
    **{status: {"description": f"{what}: OperationOutcome with a stable code", "content": _FHIR_CONTENT}
       for status, what in ((400, "Refused"), (403, "Not allowed (no or a wrong grant, not a hospital)"),
                            (404, "Not found"), (409, "Conflict"), (422, "Invalid FHIR or input"),
                            (429, "Too many attempts"))},
    **{status: {"description": what, "content": {**_FHIR_CONTENT, **_ERROR_OUT}}
       for status, what in ((401, "Missing or wrong X-Institution-Key"), (413, "Body over the limit"))},
}
_BODY = {"requestBody": {"required": True, "content": {profile.FHIR_JSON: {"schema": _RESOURCE},
                                                       "application/json": {"schema": _RESOURCE}}}}
_PUBLISHED: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same entry was published before", "content": _FHIR_CONTENT},
    201: {"description": "published", "content": _FHIR_CONTENT}}


router = APIRouter(prefix="/fhir", tags=["health index (FHIR)"], route_class=FhirRoute,
                   default_response_class=FhirResponse)
admin_router = APIRouter(prefix="/health", tags=["health index (administration)"])


async def _institution(request: Request) -> InstitutionPrincipal:
    key = request.headers.get("x-institution-key")
    if not key:
        raise InstitutionAuthFailed("missing X-Institution-Key")
    db = get_db(request)
    found = institutions.cached_principal(db, key)
    if found is None:
        found = await to_thread.run_sync(institutions.authenticate_cached, db, key)
    request.state.actor = found.actor
    return found


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1/fhir"


def _body(raw: bytes, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirInvalid(f"{where}: {first.get('msg', '')}", element=where) from None


@router.get("/metadata", summary="CapabilityStatement")
async def metadata(request: Request) -> Response:
    return fhir_response(profile.capability_statement(_base(request), __version__))


async def _publish(request: Request, use_case: Callable[..., service.Published], kind: str) -> Response:
    principal = await _institution(request)
    raw = await request.body()
    published = await to_thread.run_sync(use_case, get_db(request), principal, raw)
    return fhir_response(published.resource, 201 if published.created else 200,
                         {"Location": f"{_base(request)}/{kind}/{published.resource_id}"})


@router.post("/Encounter", summary="publish an encounter index entry", status_code=201, responses=_PUBLISHED,
             openapi_extra=_BODY)
async def create_encounter(request: Request) -> Response:
    return await _publish(request, service.publish_encounter, "Encounter")


@router.post("/DocumentReference", summary="publish where a document of an encounter is held", status_code=201,
             responses=_PUBLISHED, openapi_extra=_BODY)
async def create_document(request: Request) -> Response:
    return await _publish(request, service.publish_document, "DocumentReference")


async def _search(request: Request, resource_type: str, patient: str | None) -> Response:
    principal = await _institution(request)
    text = await to_thread.run_sync(service.search, get_db(request), principal, resource_type, patient,
                                    request.headers.get(GRANT_HEADER), request.headers.get(OPERATOR_HEADER),
                                    _base(request))
    return fhir_response(text)


PATIENT_MAX = 80
PatientParam = Annotated[str | None, Query(max_length=PATIENT_MAX, description="Patient/<id> (or <id>) a grant names")]


@router.get("/Encounter", summary="a patient's encounter entries (needs a grant)")
async def search_encounters(request: Request, patient: PatientParam = None) -> Response:
    return await _search(request, "Encounter", patient)


@router.get("/DocumentReference", summary="a patient's document entries (needs a grant)")
async def search_documents(request: Request, patient: PatientParam = None) -> Response:
    return await _search(request, "DocumentReference", patient)


@router.get("/Patient/{pseudonym}", summary="the index's pseudonymous Patient (needs a grant)")
async def read_patient(request: Request, pseudonym: Annotated[str, Path(max_length=64)]) -> Response:
    principal = await _institution(request)
    text = await to_thread.run_sync(service.read_patient, get_db(request), principal, pseudonym,
                                    request.headers.get(GRANT_HEADER), request.headers.get(OPERATOR_HEADER))
    return fhir_response(text)


def fast_routes(prefix: str) -> list[FastRoute]:
    """Publishing and searching, the index's busy requests, as plain routes put first in the application's routes
    (``api.fast``; bench/health_index.py): each answers exactly as its FastAPI route above (which stays for the
    OpenAPI document), failures as OperationOutcome, the patient parameter bounded as declared."""

    def outcomes(endpoint: Callable[[Request], Coroutine[Any, Any, Response]]
                 ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def answer(request: Request) -> Response:
            try:
                return await endpoint(request)
            except DomainError as exc:
                return outcome(exc)

        return answer

    def search(resource_type: str) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def endpoint(request: Request) -> Response:
            patient = request.query_params.get("patient")
            if patient is not None and len(patient) > PATIENT_MAX:
                raise FhirInvalid(f"query.patient: String should have at most {PATIENT_MAX} characters",
                                  element="query.patient")
            return await _search(request, resource_type, patient)

        return endpoint

    base = f"{prefix}{router.prefix}"
    return [FastRoute(f"{base}/Encounter", outcomes(create_encounter), "POST"),
            FastRoute(f"{base}/Encounter", outcomes(search("Encounter")), "GET"),
            FastRoute(f"{base}/DocumentReference", outcomes(create_document), "POST"),
            FastRoute(f"{base}/DocumentReference", outcomes(search("DocumentReference")), "GET")]


_GRANT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": GrantIn.model_json_schema()}}}}
_EMERGENCY_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": EmergencyIn.model_json_schema()}}}}


@router.post("/$grant", summary="the holder's card and PIN at this hospital's terminal: a Consent",
             status_code=201, openapi_extra=_GRANT_BODY)
async def grant(request: Request) -> Response:
    principal = await _institution(request)
    raw = await request.body()
    body: GrantIn = _body(raw, GrantIn)
    proof = presence.parse(request.headers.get(presence.HEADER), raw)
    resource = await to_thread.run_sync(consent.grant_by_card, get_db(request), principal, body.card_no,
                                        request.headers.get(OPERATOR_HEADER), proof,
                                        request.headers.get(PIN_HEADER), presence_verifier(request))
    return fhir_response(resource, 201)


@router.post("/$break-glass", summary="emergency access with a reason, flagged for review: a Consent",
             status_code=201, openapi_extra=_EMERGENCY_BODY)
async def break_glass(request: Request) -> Response:
    principal = await _institution(request)
    body: EmergencyIn = _body(await request.body(), EmergencyIn)
    resource = await to_thread.run_sync(consent.grant_emergency, get_db(request), principal, body.card_no,
                                        request.headers.get(OPERATOR_HEADER), body.reason)
    return fhir_response(resource, 201)


# ------------------------------------------------------------------------------------- administrators (bearer)


def _grant_out(g: consent.GrantView) -> GrantOut:
    return GrantOut(grant_id=g.grant_id, institution_code=g.institution_code, operator=g.operator, method=g.method,
                    purpose=g.purpose, reason=g.reason, granted_at=g.granted_at, expires_at=g.expires_at,
                    revoked_at=g.revoked_at, needs_review=g.needs_review)


@admin_router.get("/emergency-grants", response_model=list[GrantOut])
def emergency_grants(actor: CurrentActor, db: DB, all: bool = False) -> list[GrantOut]:
    """Break-the-glass grants awaiting review (``all=true``: reviewed ones too)."""
    return [_grant_out(g) for g in consent.emergency_grants(db, actor, unreviewed_only=not all)]


@admin_router.post("/emergency-grants/{grant_id}/review", response_model=GrantOut)
def review_emergency(grant_id: Annotated[str, Path(max_length=64)], actor: CurrentActor, db: DB) -> GrantOut:
    return _grant_out(consent.review_emergency(db, actor, grant_id))


@admin_router.put("/sensitive-categories")
def put_sensitive_categories(body: SensitiveCategoriesIn, actor: CurrentActor, db: DB) -> dict[str, int]:
    """A new list of sensitive diagnosis categories from ``effective_from`` (today or later)."""
    return {"version": consent.set_sensitive_categories(db, actor, body.categories, body.effective_from)}


@admin_router.get("/stats/encounters", response_model=list[StatsCellOut])
def encounter_stats(actor: CurrentActor, db: DB, first: dt.date, last: dt.date) -> list[StatsCellOut]:
    """Encounters by division, month and type, de-identified (small cells suppressed)."""
    return [StatsCellOut(division=c.division, month=c.month, encounter_type=c.encounter_type, count=c.count)
            for c in stats.encounter_counts(db, actor, first, last)]
