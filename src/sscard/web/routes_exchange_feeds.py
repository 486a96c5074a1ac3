"""The supervisor's page of the department feeds: the files imported and refused (with their codes) and the open
exceptions and review cases. Read only; each part calls one service of ``sscard.exchange.feeds``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sscard.access import Permission
from sscard.exchange.feeds import service as feeds
from sscard.money import yuan
from sscard.web.pages import WebActor, db_of, render, require

router = APIRouter(include_in_schema=False)


@router.get("/exchange/feeds", response_class=HTMLResponse)
def overview(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.EXCHANGE_FEED_READ)
    db = db_of(request)
    return render(request, "exchange_feeds.html", {"files": feeds.files(db, actor, limit=200),
                                                   "cases": feeds.cases(db, actor), "yuan": yuan})
