"""Transfers of the insurance relationship between cities (docs/transfer.md) as the holder sees them in the
portal (``/portal/transfers``: in progress and done, with the months and amounts) and as counter staff see them
(``/counter/transfers``). Each page calls one service function (``sscard.transfer.service.list_cases``), which
authorises and audits the read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sscard.transfer import service as transfer
from sscard.web.holder import PortalHolder
from sscard.web.i18n import N_
from sscard.web.pages import WebActor, db_of, render

router = APIRouter(include_in_schema=False)

STATUS = {"issued": N_("Voucher issued"), "applying": N_("Contact letter being sent"),
          "applied": N_("Applied for, waiting for the funds"), "paying": N_("Funds being paid"),
          "paid": N_("Funds paid, waiting for the other city"), "completed": N_("Transferred out"),
          "credited": N_("Transferred in and credited"), "refused": N_("Refused by the other city")}
DIRECTION = {"out": N_("To another city"), "in": N_("From another city")}
IN_PROGRESS = ("issued", "applying", "applied", "paying", "paid")


@router.get("/portal/transfers", response_class=HTMLResponse)
def holder_transfers(request: Request, actor: PortalHolder) -> Response:
    cases = transfer.list_cases(db_of(request), actor)
    return render(request, "portal_transfers.html", {"cases": cases, "status": STATUS, "direction": DIRECTION,
                                                     "in_progress": IN_PROGRESS})


@router.get("/counter/transfers", response_class=HTMLResponse)
def counter_transfers(request: Request, actor: WebActor,
                      open_only: Annotated[bool, Query(alias="open")] = True) -> Response:
    cases = transfer.list_cases(db_of(request), actor, open_only=open_only)
    return render(request, "counter_transfers.html", {"cases": cases, "status": STATUS, "direction": DIRECTION,
                                                      "open_only": open_only})
