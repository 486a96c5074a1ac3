"""/exchange: data sharing with other departments (docs/exchange.md).

``signed``: what a department calls, authenticated by its signed headers (X-Dept-Key, X-Timestamp, X-Nonce,
X-Signature over the exact request), not by a bearer token — verification (核验), query, bulk verification.
``router``: the administrators' side with a bearer token — catalogue, departments, keys, agreements (request,
approve, reject, revoke), usage report, outbox delivery, a person's data-use record."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from sscard.api.deps import DB, CurrentActor, get_db
from sscard.api.fast import FastRoute
from sscard.api.grouping import GroupCommit
from sscard.exchange import service as exchange
from sscard.exchange.errors import ExchangeRequestMalformed
from sscard.exchange.schemas import (
    AccessOut,
    AgreementIn,
    AgreementOut,
    DeliveryReport,
    DepartmentIn,
    DepartmentOut,
    IssuedKey,
    ItemOut,
    KeyOut,
    QueryIn,
    QueryOut,
    Reason,
    UsageReport,
    VerifyIn,
    VerifyOut,
)

router = APIRouter(prefix="/exchange", tags=["exchange"])
signed = APIRouter(prefix="/exchange", tags=["exchange (departments)"])
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")]
Number = Annotated[str, Path(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9-]+$")]
SIGNED_DOC = ("Signed with the department's key (docs/exchange.md): headers X-Dept-Key, X-Timestamp, X-Nonce, "
              "X-Signature. Refusals: EXCHANGE_SIGNATURE_INVALID, EXCHANGE_CLOCK_SKEW, EXCHANGE_REPLAY, "
              "EXCHANGE_DEPARTMENT_UNKNOWN, EXCHANGE_AGREEMENT_MISSING, EXCHANGE_AGREEMENT_EXPIRED, "
              "EXCHANGE_ITEM_NOT_AGREED, EXCHANGE_QUOTA_EXCEEDED (429).")


async def _signed_request(request: Request) -> exchange.SignedRequest:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        path = bytes(raw_path).decode("ascii")
    except UnicodeDecodeError as exc:
        raise ExchangeRequestMalformed("the path is not ASCII") from exc
    return exchange.SignedRequest(request.method, path, bytes(request.scope.get("query_string", b"")),
                                  dict(request.headers), await request.body())


def _body(model: type[VerifyIn] | type[QueryIn]) -> dict[str, object]:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


@signed.post("/verify", response_model=VerifyOut, description=SIGNED_DOC,
             openapi_extra=_body(VerifyIn))
async def verify(request: Request, db: DB) -> VerifyOut:
    """核验: yes or no and a reason code (e.g. this ID number and name hold a card in normal use)."""
    return await run_in_threadpool(exchange.verify, db, await _signed_request(request))


async def verify_fast(request: Request) -> Response:
    """``verify`` as a plain route (``api.fast``; served in its place, same answer and errors): FastAPI matched
    it through every included router and solved its dependencies, about half of a worker's CPU per request
    (cProfile, bench/exchange.py's request in-process)."""
    req = await _signed_request(request)
    out = await _group_of(request).submit(req)
    return Response(out.model_dump_json(), media_type="application/json")


def _group_of(request: Request) -> GroupCommit[exchange.SignedRequest, VerifyOut]:
    """The application's group commit of verifications (``api.grouping``; ``exchange.verify_many``)."""
    state = request.app.state
    group: GroupCommit[exchange.SignedRequest, VerifyOut] | None = getattr(state, "exchange_verify_group", None)
    if group is None:
        db = get_db(request)
        group = state.exchange_verify_group = GroupCommit(lambda reqs: exchange.verify_many(db, reqs))
    return group


def fast_routes(prefix: str) -> list[FastRoute]:
    """The departments' verification, the busiest signed request, first in the application's routes."""
    return [FastRoute(f"{prefix}{signed.prefix}/verify", verify_fast, "POST")]


@signed.post("/query", response_model=QueryOut, description=SIGNED_DOC,
             openapi_extra=_body(QueryIn))
async def query(request: Request, db: DB) -> QueryOut:
    """查询: the item's minimal fields, masked unless the agreement says otherwise."""
    return await run_in_threadpool(exchange.query, db, await _signed_request(request))


@signed.post("/bulk/verify", response_class=StreamingResponse, description=SIGNED_DOC,
             responses={200: {"content": {"text/csv": {}}, "description": "line,result,reason — one per line"}},
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
                 "type": "string", "description": "id_number,name — one per line, UTF-8"}}}}})
async def bulk_verify(request: Request, db: DB,
                      item: Annotated[str, Query(min_length=1, max_length=40)] = "card_status") -> StreamingResponse:
    """批量核验: a file of ``id_number,name`` lines in, an answer file out (streamed)."""
    req = await _signed_request(request)
    try:
        req.body.decode("utf-8")  # checked whole; the lines are then decoded as they are read
    except UnicodeDecodeError as exc:
        err = ExchangeRequestMalformed("the file is not UTF-8")
        await run_in_threadpool(exchange.refuse_bulk, db, req, err, item)
        raise err from exc
    granted = await run_in_threadpool(exchange.bulk_start, db, req, item)
    lines = io.TextIOWrapper(io.BytesIO(req.body), encoding="utf-8", newline="\n")
    return StreamingResponse(exchange.bulk_answer(db, granted, lines), media_type="text/csv",
                             headers={"X-Agreement": granted.agreement_no})


# --------------------------------------------------------------------------------------------- administrators


@router.get("/catalogue", response_model=list[ItemOut])
def catalogue(actor: CurrentActor, db: DB) -> list[ItemOut]:
    return exchange.catalogue(db, actor)


@router.get("/departments", response_model=list[DepartmentOut])
def departments(actor: CurrentActor, db: DB) -> list[DepartmentOut]:
    return exchange.list_departments(db, actor)


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(body: DepartmentIn, actor: CurrentActor, db: DB) -> DepartmentOut:
    return exchange.create_department(db, actor, body)


@router.post("/departments/{code}/keys", response_model=IssuedKey, status_code=201)
def issue_key(code: Code, actor: CurrentActor, db: DB) -> IssuedKey:
    """A new key id and secret: the secret is in this answer only."""
    return exchange.issue_key(db, actor, code)


@router.get("/departments/{code}/keys", response_model=list[KeyOut])
def keys(code: Code, actor: CurrentActor, db: DB) -> list[KeyOut]:
    return exchange.list_keys(db, actor, code)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(key_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{4,64}$")], actor: CurrentActor,
               db: DB) -> KeyOut:
    return exchange.revoke_key(db, actor, key_id)


@router.get("/agreements", response_model=list[AgreementOut])
def agreements(actor: CurrentActor, db: DB, department: Annotated[str | None, Query(max_length=20)] = None,
               status: Annotated[str | None, Query(pattern="^(requested|approved|rejected|revoked)$")] = None,
               ) -> list[AgreementOut]:
    return exchange.list_agreements(db, actor, department, status)


@router.post("/agreements", response_model=AgreementOut, status_code=201)
def request_agreement(body: AgreementIn, actor: CurrentActor, db: DB) -> AgreementOut:
    """A department's request for an agreement (the maker); a supervisor who is not the requester approves it."""
    return exchange.request_agreement(db, actor, body)


@router.get("/agreements/{agreement_no}", response_model=AgreementOut)
def agreement(agreement_no: Number, actor: CurrentActor, db: DB) -> AgreementOut:
    return exchange.get_agreement(db, actor, agreement_no)


@router.post("/agreements/{agreement_no}/approve", response_model=AgreementOut)
def approve(agreement_no: Number, actor: CurrentActor, db: DB) -> AgreementOut:
    return exchange.approve(db, actor, agreement_no)


@router.post("/agreements/{agreement_no}/reject", response_model=AgreementOut)
def reject(agreement_no: Number, body: Reason, actor: CurrentActor, db: DB) -> AgreementOut:
    return exchange.reject(db, actor, agreement_no, body.reason)


@router.post("/agreements/{agreement_no}/revoke", response_model=AgreementOut)
def revoke(agreement_no: Number, body: Reason, actor: CurrentActor, db: DB) -> AgreementOut:
    """Ends the agreement at once."""
    return exchange.revoke(db, actor, agreement_no, body.reason)


@router.get("/usage", response_model=UsageReport)
def usage(actor: CurrentActor, db: DB, month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
          department: Annotated[str | None, Query(max_length=20)] = None) -> UsageReport:
    """Monthly usage per department and agreement."""
    return exchange.usage_report(db, actor, month, department)


@router.post("/outbox/deliver", response_model=DeliveryReport)
def deliver(actor: CurrentActor, db: DB) -> DeliveryReport:
    """Deliver the due subscribed events now (the worker does this on its own: ``sscard exchange deliver-outbox``)."""
    return exchange.deliver(db, actor)


@router.get("/persons/{person_id}/uses", response_model=list[AccessOut])
def uses(person_id: Annotated[int, Path(ge=1, le=2**62)], actor: CurrentActor, db: DB) -> list[AccessOut]:
    """Which department used the person's data, when and why (数据使用记录)."""
    return exchange.holder_uses(db, actor, person_id)
