"""/funds/transfers: the transfer of the insurance relationship between cities (docs/transfer.md) for staff —
issue the 参保缴费凭证, file a transfer-in application with a voucher, confirm and pay a transfer out, resend
pending messages, read transfers and the reconciliation report; and ``partner``: the endpoint another city's
centre posts its signed messages to (authenticated by the message's signature, not by a bearer token, so it is
mounted outside /api/v1 and documented in docs/transfer.md rather than in the OpenAPI of the staff API)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor
from sscard.transfer import service, voucher_pdf
from sscard.transfer.client import PATH as PARTNER_PATH
from sscard.transfer.messages import MAX_BYTES
from sscard.transfer.schemas import CaseOut, ReconReport

router = APIRouter(prefix="/funds/transfers", tags=["transfers"])
partner = APIRouter(tags=["transfers"])
VoucherNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
JSON = "application/json"


def exchange(request: Request) -> service.Exchange:
    """One exchange per app (settings read once, the partner keystore re-read when it changes)."""
    found: service.Exchange | None = getattr(request.app.state, "transfer_exchange", None)
    if found is None:
        found = request.app.state.transfer_exchange = service.Exchange()
    return found


class VoucherIn(BaseModel):
    person_id: int = Field(ge=1, le=2**62)
    to_city: str = Field(pattern=r"^[1-9][0-9]{5}$", examples=["440100"])


class VoucherOut(BaseModel):
    case: CaseOut
    voucher: dict[str, Any] = Field(description="the signed voucher (docs/transfer.md): give it to the holder")


class Delivered(BaseModel):
    answered: int


@router.post("/vouchers", response_model=VoucherOut, status_code=201)
def issue(body: VoucherIn, actor: CurrentActor, db: DB, request: Request) -> VoucherOut:
    """开具参保缴费凭证 (sending city)."""
    case, raw = service.issue_voucher(db, actor, body.person_id, body.to_city, exchange(request))
    return VoucherOut(case=case, voucher=json.loads(raw))


@router.get("/vouchers/{voucher_no}", response_class=Response,
            responses={200: {"content": {JSON: {}}, "description": "the signed voucher, byte for byte"}})
def voucher(voucher_no: VoucherNo, actor: CurrentActor, db: DB) -> Response:
    _, raw = service.voucher_of(db, actor, voucher_no)
    return Response(raw, media_type=JSON)


@router.get("/vouchers/{voucher_no}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the printable voucher"}})
def voucher_as_pdf(voucher_no: VoucherNo, actor: CurrentActor, db: DB) -> Response:
    _, raw = service.voucher_of(db, actor, voucher_no)
    return Response(voucher_pdf.voucher_pdf(raw), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{voucher_no}.pdf"'})


@router.post("/applications", response_model=CaseOut, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object"}}},
                                            "description": "the signed voucher the holder presents, as issued"}})
async def apply(request: Request, actor: CurrentActor, db: DB) -> CaseOut:
    """转入申请 (receiving city): the voucher as the body; sends the contact letter."""
    raw = await request.body()
    return await run_in_threadpool(service.apply_in, db, actor, raw, exchange(request))


@router.post("/{voucher_no}/confirm", response_model=CaseOut)
def confirm(voucher_no: VoucherNo, actor: CurrentActor, db: DB, request: Request) -> CaseOut:
    """确认转出并划转资金 (sending city); repeat it after any failure: it continues and pays once."""
    return service.confirm_out(db, actor, voucher_no, exchange(request))


@router.post("/{voucher_no}/deliver", response_model=Delivered)
def deliver(voucher_no: VoucherNo, actor: CurrentActor, db: DB, request: Request,
            direction: Annotated[str, Query(pattern="^(out|in)$")] = "out") -> Delivered:
    """Send the transfer's unanswered messages again (same ids)."""
    return Delivered(answered=service.deliver(db, actor, voucher_no, exchange(request), direction=direction))


@router.get("", response_model=list[CaseOut])
def cases(actor: CurrentActor, db: DB, person_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
          open_only: bool = False) -> list[CaseOut]:
    return service.list_cases(db, actor, person_id, open_only)


@router.get("/reconciliation", response_model=ReconReport)
def reconciliation(actor: CurrentActor, db: DB, request: Request) -> ReconReport:
    """对账: sent = received to the fen, per transfer and in total."""
    return service.reconcile(db, actor, exchange(request))


@router.get("/{voucher_no}", response_model=CaseOut)
def case(voucher_no: VoucherNo, actor: CurrentActor, db: DB,
         direction: Annotated[str | None, Query(pattern="^(out|in)$")] = None) -> CaseOut:
    return service.get_case(db, actor, voucher_no, direction)


@partner.post(PARTNER_PATH, include_in_schema=False)
async def partner_message(request: Request, db: DB) -> Response:
    """A partner city's signed message; the answer is this centre's signed envelope."""
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES + 1]  # refused by the parser as too large
    answer = await run_in_threadpool(service.receive, db, raw, exchange(request))
    return Response(answer, media_type=JSON)
