"""/remote: cross-region medical settlement (docs/cross-region.md) for staff and cardholders — 异地就医备案
(file, list, cancel), the remote settlements and one by its message id, the nightly close and the dashboard
figures; and ``partner``: the endpoint the provincial hub posts relayed messages to (authenticated by the
message's signature, mounted outside /api/v1). A hospital's 2207/2208 for another city's card go through the
same /api/v1/medical endpoints (``routes_medical``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor, get_db
from sscard.api.fast import FastRoute, LoopLimiter
from sscard.remote import faults, service
from sscard.remote.client import CENTRE_PATH
from sscard.remote.messages import MAX_BYTES
from sscard.remote.schemas import Figures, RegistrationIn, RegistrationOut, RemoteSettlementOut

router = APIRouter(prefix="/remote", tags=["remote"])
partner = APIRouter(tags=["remote"])
RegNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]
MsgId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Month = Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
JSON = "application/json"


def exchange(request: Request) -> service.Exchange:
    """One exchange per app (settings read once, the partner keystore re-read when it changes)."""
    found: service.Exchange | None = getattr(request.app.state, "remote_exchange", None)
    if found is None:
        found = request.app.state.remote_exchange = service.Exchange()
    return found


class CloseIn(BaseModel):
    older_than_seconds: int = Field(default=600, ge=0, le=30 * 86400)


@router.post("/registrations", response_model=RegistrationOut, status_code=201)
def register(body: RegistrationIn, actor: CurrentActor, db: DB, request: Request) -> RegistrationOut:
    """异地就医备案 (home city): recorded and distributed through the hub to the treating city."""
    return service.register(db, actor, body, exchange(request))


@router.get("/registrations", response_model=list[RegistrationOut])
def registrations(actor: CurrentActor, db: DB, person_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                  role: Annotated[str | None, Query(pattern="^(home|treating)$")] = None) -> list[RegistrationOut]:
    return service.list_registrations(db, actor, person_id, role)


@router.post("/registrations/{reg_no}/cancel", response_model=RegistrationOut)
def cancel(reg_no: RegNo, actor: CurrentActor, db: DB, request: Request) -> RegistrationOut:
    return service.cancel_registration(db, actor, reg_no, exchange(request))


@router.get("/settlements", response_model=list[RemoteSettlementOut])
def settlements(actor: CurrentActor, db: DB, month: Month = None) -> list[RemoteSettlementOut]:
    return service.list_settlements(db, actor, month)


@router.get("/settlements/by-message/{msg_id}", response_model=RemoteSettlementOut)
def by_message(msg_id: MsgId, actor: CurrentActor, db: DB) -> RemoteSettlementOut:
    """The settlement a cross-region message id made, as this city holds it."""
    return service.settlement_by_msg(db, actor, msg_id)


@router.post("/close-pending")
def close_pending(body: CloseIn, actor: CurrentActor, db: DB, request: Request) -> dict[str, int]:
    """The nightly close of half-known messages (also ``sscard remote close-pending``)."""
    return service.close_pending(db, actor, dt.timedelta(seconds=body.older_than_seconds), exchange(request))


@router.get("/figures", response_model=Figures)
def figures(actor: CurrentActor, db: DB, request: Request) -> Figures:
    return service.figures(db, actor, exchange(request))


# The hub's messages run on a few threads of their own per event loop (as 2207 does, routes_medical): each
# settles in one transaction that ends on the busy fund pool and payable rows, and a thread that waits for the
# interpreter lock while holding them stalls the others.
_limiter = LoopLimiter("sscard_remote_receive_limiter")


@partner.post(CENTRE_PATH, include_in_schema=False)
async def partner_message(request: Request) -> Response:
    """The hub's relayed message; the answer is this centre's signed envelope. Served by ``fast_routes``
    (a plain route first in the application's routes: no dependencies to solve, no router to match through);
    declared here as well so that the route is documented in one place."""
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES + 1]
    answer = await to_thread.run_sync(service.receive, get_db(request), raw, exchange(request), limiter=_limiter())
    if faults.enabled() and faults.drop("home_answer"):
        return JSONResponse({"error": {"code": "TEST_ANSWER_DROPPED"}}, status_code=503)
    return Response(answer, media_type=JSON)


def fast_routes() -> list[FastRoute]:
    """The partner endpoint as a plain route (``api.fast``): every remote settlement passes it once."""
    return [FastRoute(CENTRE_PATH, partner_message, "POST")]


@partner.post(CENTRE_PATH.rsplit("/", 1)[0] + "/test/faults", include_in_schema=False)
def set_faults(body: dict[str, Any]) -> Response:
    """Loss injection (dev and demo modes only; 404 in production): ``sscard.remote.faults``."""
    if not faults.enabled():
        return Response(status_code=404)
    drops = {k: int(v) for k, v in body.items() if k in faults.HOPS and isinstance(v, int)}
    return JSONResponse(faults.set_faults(drops, int(body.get("home_delay_ms", 0) or 0)))
