"""Medical settlement API under /api/v1/medical: the institution interface (API key in ``X-Institution-Key``;
eligibility, 2206, 2207, 2208, 2601, 3201, 3202) and the administrator's interface (operator bearer token).

2207 (settlement), the busiest request, bypasses FastAPI's dependencies and body handling: it authenticates
from a per-process cache and lets the service re-check the key inside its transaction
(``institutions.authenticate_cached``), validates the raw body with pydantic's JSON parser, and answers with
bytes serialised once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sscard.api.deps import DB, CurrentActor, get_db
from sscard.api.fast import FastRoute, LoopLimiter
from sscard.api.routes_remote import exchange as remote_exchange
from sscard.medical import config, institutions, presence, reconciliation, service
from sscard.medical.catalogue import CatalogueItem
from sscard.medical.errors import InstitutionAuthFailed
from sscard.medical.institutions import InstitutionPrincipal
from sscard.medical.policy import Policy
from sscard.medical.reconciliation import DetailsIn, DifferenceOut, RunOut, TotalsIn
from sscard.medical.schemas import (
    EligibilityIn,
    EligibilityOut,
    PositionOut,
    ReversalOut,
    ReverseIn,
    SettleIn,
    SettlementOut,
    VoidIn,
    VoidOut,
)
from sscard.medical.terms import PersonType, Scheme
from sscard.remote import faults
from sscard.remote import service as remote

router = APIRouter(prefix="/medical", tags=["medical"])
_key = APIKeyHeader(name="X-Institution-Key", auto_error=False,
                    description="the institution's API key (issued by an administrator)")


def current_institution(request: Request, key: Annotated[str | None, Depends(_key)]) -> InstitutionPrincipal:
    if not key:
        raise InstitutionAuthFailed("missing X-Institution-Key")
    principal = institutions.authenticate(get_db(request), key)
    request.state.actor = principal.actor
    return principal


# Settlements run on a few threads of their own per event loop (a RunVar: TestClient starts a loop per request),
# ``settings.settle_threads`` of them (default 2). Why few: every settlement locks the pool and payable
# accounts, and a thread that waits for the GIL while holding those locks stalls all the others; with 4 threads
# per worker instead of anyio's 40, bench/settlement.py measured about 30 % more settlements per second and a
# lower p99, and 2 threads instead of 4 another 6 % with 17 % less PostgreSQL CPU per settlement (A/B medians).
_limiter = LoopLimiter("sscard_settle_limiter")


Inst = Annotated[InstitutionPrincipal, Depends(current_institution)]


# ------------------------------------------------------------------------------------------ institution interface


@router.post("/eligibility", response_model=EligibilityOut)
def eligibility(body: EligibilityIn, inst: Inst, db: DB) -> EligibilityOut:
    """人员待遇检查: by card (must be 正常), or by ID number for a formally lost or not-yet-made card."""
    return service.eligibility(db, inst, body)


PresenceHeader = Annotated[str | None, Header(alias=presence.HEADER, description="proof of card presence for a "
                                              "request by card, bound to this body (docs/settlement.md)")]


@router.post("/pre-settlements", response_model=SettlementOut)
async def pre_settle(request: Request, body: SettleIn, inst: Inst, db: DB,
                     card_presence: PresenceHeader = None) -> SettlementOut:
    """2206 预结算: the split, nothing stored. By card (or e-card code) with the proof of card presence
    (``X-Card-Presence`` over the exact body, as 2207: the split tells what the personal account would pay)."""
    by_card = body.card_no is not None or body.ecard_code is not None
    proof = presence.parse(card_presence, await request.body()) if by_card else None
    return await to_thread.run_sync(service.pre_settle, db, inst, body, proof, presence_verifier(request))


async def _cached_institution(request: Request) -> InstitutionPrincipal:
    """As ``current_institution``, from the cache: only for services that re-check the key themselves."""
    key = request.headers.get("x-institution-key")
    if not key:
        raise InstitutionAuthFailed("missing X-Institution-Key")
    db = get_db(request)
    principal = institutions.cached_principal(db, key)
    if principal is None:
        principal = await to_thread.run_sync(institutions.authenticate_cached, db, key, limiter=_limiter())
    request.state.actor = principal.actor
    return principal


def _json_body(content_type: str | None, raw: bytes) -> SettleIn:
    """The body validated straight from its bytes (pydantic's JSON parser, no ``json.loads`` + dict pass); errors
    in FastAPI's shape (``loc`` starts with "body"), so clients see the usual 422."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        raise RequestValidationError([{"type": "model_attributes_type", "loc": ("body",), "input": None,
                                       "msg": "Input should be a valid dictionary or object to extract fields from"}])
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return SettleIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


_SETTLE_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettleIn"}}}},
    "security": [{"APIKeyHeader": []}],
    "parameters": [{"name": presence.HEADER, "in": "header", "required": False,
                    "schema": {"type": "string", "maxLength": 512},
                    "description": "proof of card presence for a settlement by card, bound to this body "
                                   "(docs/settlement.md): v=1;method=arqc;alg=sm4;kv=1;atc=…;aip=…;iad=…;ac=… "
                                   "or v=1;method=pin;pin=…"}],
}


def presence_verifier(request: Request) -> presence.Verifier:
    """The app's verifier of chip cryptograms: over ``app.state.key_manager`` when the app has one, else the
    keystore at ``$SSCARD_KEYSTORE`` (one per process, with its cache of per-card keys)."""
    state = request.app.state
    verifier: presence.Verifier | None = getattr(state, "presence_verifier", None)
    if verifier is None:
        keys = getattr(state, "key_manager", None)
        verifier = presence.Verifier(lambda: keys) if keys is not None else service.presence_verifier()
        state.presence_verifier = verifier
    return verifier


@router.post("/settlements", response_model=SettlementOut, openapi_extra=_SETTLE_OPENAPI)
async def settle(request: Request) -> Response:  # served by ``fast_routes`` (below); declared here for /docs
    """2207 结算. A repeated msg_id returns the first answer (``replayed: true``).

    The busiest request, so it skips FastAPI's per-request machinery: no dependencies (the key from the header,
    the database from the app), the body validated from its raw bytes, the answer serialised once to bytes and
    not re-validated against the response model (still declared, for the OpenAPI document)."""
    principal = await _cached_institution(request)
    raw = await request.body()
    body = _json_body(request.headers.get("content-type"), raw)
    if body.insuplc_admdvs is not None and body.insuplc_admdvs != remote_exchange(request).region:
        return await _settle_remote(request, principal, body)
    by_card = body.card_no is not None or body.ecard_code is not None  # an e-card code stands for the card
    proof = presence.parse(request.headers.get(presence.HEADER), raw) if by_card else None
    _, answer = await to_thread.run_sync(service.settle_json, get_db(request), principal, body, proof,
                                         presence_verifier(request), limiter=_limiter())
    return Response(answer, media_type="application/json")


async def _settle_remote(request: Request, principal: InstitutionPrincipal, body: SettleIn) -> Response:
    """2207 for a card of another 统筹区: through the provincial hub (docs/cross-region.md)."""
    out = await to_thread.run_sync(remote.settle, get_db(request), principal, body, remote_exchange(request))
    if faults.enabled() and faults.drop("centre_answer"):
        return JSONResponse({"error": {"code": "TEST_ANSWER_DROPPED"}}, status_code=503)
    return Response(out.model_dump_json(), media_type="application/json")


def fast_routes(prefix: str) -> list[FastRoute]:
    """2207 as a plain route put first in the application's routes (``api.fast``): FastAPI matched it through
    every included router and wrapped it in endpoint machinery this endpoint does not use (about a twelfth of
    a worker's interpreter time, py-spy, bench/settlement.py)."""
    return [FastRoute(f"{prefix}{router.prefix}/settlements", settle, "POST")]


@router.get("/settlements/{setl_id}")
def get_settlement(setl_id: str, inst: Inst, db: DB) -> dict[str, Any]:
    return service.settlement_record(db, inst, setl_id)


@router.post("/reversals", response_model=ReversalOut)
def reverse(body: ReverseIn, inst: Inst, db: DB, request: Request) -> ReversalOut:
    """2208 结算撤销 by settlement id (same settlement year only); a remote settlement's id (R…) is reversed
    through the hub with the insured's home city (docs/cross-region.md)."""
    if body.setl_id.startswith("R"):
        return remote.reverse(db, inst, body, remote_exchange(request))
    return service.reverse(db, inst, body)


@router.post("/voids", response_model=VoidOut)
def void(body: VoidIn, inst: Inst, db: DB) -> VoidOut:
    """2601 冲正 by the original message id."""
    return service.void_message(db, inst, body)


@router.post("/reconciliation/totals", response_model=RunOut)
def reconcile_totals(body: TotalsIn, inst: Inst, db: DB) -> RunOut:
    """3201 对总账 for one day and scheme."""
    return reconciliation.submit_totals(db, inst, body)


@router.post("/reconciliation/{run_id}/details", response_model=RunOut)
def reconcile_details(run_id: int, body: DetailsIn, inst: Inst, db: DB) -> RunOut:
    """3202 对明细账 for an unbalanced run."""
    return reconciliation.submit_details(db, inst, run_id, body)


@router.get("/reconciliation/{run_id}/result.csv", response_class=PlainTextResponse)
def reconcile_result(run_id: int, inst: Inst, db: DB) -> str:
    return reconciliation.institution_result_csv(db, inst, run_id)


# ------------------------------------------------------------------------------------------ administrator interface


class InstitutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=20)
    name: str = Field(max_length=100)
    kind: str = Field(pattern="^(hospital|pharmacy)$")
    level: str | None = Field(default=None, max_length=10)
    services: list[str] = Field(max_length=4)


class KeyOut(BaseModel):
    institution: str
    api_key: str = Field(description="shown once; only its SHA-256 is stored")


class TerminalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terminal_no: str = Field(max_length=20)
    description: str = Field(default="", max_length=100)


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(max_length=18)
    scheme: Scheme
    person_type: PersonType


class CreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(max_length=18)
    amount_fen: int = Field(strict=True, gt=0, le=10**12)
    transfer_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")


class CreditOut(BaseModel):
    balance_fen: int


class CatalogueImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(default="upload.csv", max_length=100)
    csv: str = Field(max_length=50_000_000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(ge=1, le=2)
    note: str = Field(max_length=500)


@router.post("/admin/institutions", response_model=KeyOut, status_code=201)
def create_institution(body: InstitutionIn, actor: CurrentActor, db: DB) -> KeyOut:
    issued = institutions.create_institution(db, actor, body.code, body.name, body.kind, body.level, body.services)
    return KeyOut(institution=issued.institution, api_key=issued.api_key)


@router.post("/admin/institutions/{code}/keys", response_model=KeyOut, status_code=201)
def issue_key(code: str, actor: CurrentActor, db: DB, revoke_others: bool = False) -> KeyOut:
    issued = institutions.issue_key(db, actor, code, revoke_others)
    return KeyOut(institution=issued.institution, api_key=issued.api_key)


@router.post("/admin/institutions/{code}/terminals", status_code=201)
def add_terminal(code: str, body: TerminalIn, actor: CurrentActor, db: DB) -> dict[str, str]:
    institutions.add_terminal(db, actor, code, body.terminal_no, body.description)
    return {"institution": code, "terminal_no": body.terminal_no}


@router.post("/admin/enrolments", status_code=201)
def enrol(body: EnrolIn, actor: CurrentActor, db: DB) -> dict[str, str]:
    service.enrol(db, actor, body.id_number, body.scheme, body.person_type)
    return {"scheme": body.scheme.value, "person_type": body.person_type.value}


@router.post("/admin/account-credits", response_model=CreditOut)
def credit_account(body: CreditIn, actor: CurrentActor, db: DB) -> CreditOut:
    """个人账户划入 (for tests and the demo until the funds issue posts real allocations)."""
    return CreditOut(balance_fen=service.credit_personal_account(db, actor, body.id_number, body.amount_fen,
                                                                 body.transfer_id))


@router.get("/admin/positions/{id_number}", response_model=PositionOut)
def position(id_number: str, actor: CurrentActor, db: DB, year: int | None = None) -> PositionOut:
    return service.position(db, actor, id_number, year)


@router.put("/admin/catalogue", status_code=204)
def put_catalogue_item(body: CatalogueItem, actor: CurrentActor, db: DB) -> None:
    config.put_catalogue_item(db, actor, body)


@router.post("/admin/catalogue/import")
def import_catalogue(body: CatalogueImportIn, actor: CurrentActor, db: DB) -> dict[str, int]:
    return config.import_catalogue_csv(db, actor, body.csv, body.source)


@router.get("/admin/catalogue", response_model=list[CatalogueItem])
def list_catalogue(actor: CurrentActor, db: DB, code_prefix: str = "", limit: int = 200) -> list[CatalogueItem]:
    return config.list_catalogue(db, actor, code_prefix, limit)


@router.put("/admin/policies", status_code=200)
def put_policy(body: Policy, actor: CurrentActor, db: DB) -> dict[str, Any]:
    return {"policy_id": body.policy_id, "version": config.put_policy(db, actor, body)}


@router.post("/admin/policies/{policy_id}/end", status_code=200)
def end_policy(policy_id: str, effective_to: dt.date, actor: CurrentActor, db: DB) -> dict[str, Any]:
    return {"policy_id": policy_id, "version": config.end_policy(db, actor, policy_id, effective_to)}


@router.get("/admin/policies", response_model=list[Policy])
def list_policies(actor: CurrentActor, db: DB) -> list[Policy]:
    return config.list_policies(db, actor)


@router.get("/admin/reconciliation/{run_id}/differences", response_model=list[DifferenceOut])
def list_differences(run_id: int, actor: CurrentActor, db: DB) -> list[DifferenceOut]:
    return reconciliation.differences(db, actor, run_id)


@router.post("/admin/reconciliation/differences/{difference_id}/resolve", response_model=DifferenceOut)
def resolve_difference(difference_id: int, body: ResolveIn, actor: CurrentActor, db: DB) -> DifferenceOut:
    return reconciliation.resolve(db, actor, difference_id, body.status, body.note)


@router.get("/admin/reconciliation/{run_id}/result.csv", response_class=PlainTextResponse)
def admin_reconcile_result(run_id: int, actor: CurrentActor, db: DB) -> str:
    return reconciliation.result_csv(db, actor, run_id)
