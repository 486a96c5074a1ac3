"""The supervisor's page of the department feeds: the files imported and refused (with their codes) and the open
exceptions and review cases, each closed here (已处理 / 无需处理, or for a cremation public security did not report,
确认死亡 after a confirmation). Each part calls one service of ``sscard.exchange.feeds``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Permission
from sscard.errors import DomainError
from sscard.exchange.feeds import service as feeds
from sscard.money import yuan
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.i18n import language_of
from sscard.web.labels import FEED_RESOLUTION
from sscard.web.pages import Form, WebActor, db_of, render, require

router = APIRouter(include_in_schema=False)


def _page(request: Request, actor: WebActor, context: dict[str, Any], status: int = 200) -> Response:
    require(actor, Permission.EXCHANGE_FEED_READ)
    db = db_of(request)
    return render(request, "exchange_feeds.html", {
        "files": feeds.files(db, actor, limit=200), "cases": feeds.cases(db, actor), "yuan": yuan,
        "done": request.query_params.get("done"), "confirm": None, "error": None,
        "can_resolve": actor.can(Permission.EXCHANGE_FEED_RESOLVE), **context}, status=status)


@router.get("/exchange/feeds", response_class=HTMLResponse)
def overview(request: Request, actor: WebActor) -> Response:
    return _page(request, actor, {})


@router.post("/exchange/feeds/cases/{case_id}")
def resolve(request: Request, actor: WebActor, form: Form, case_id: int) -> Response:
    require(actor, Permission.EXCHANGE_FEED_RESOLVE)
    errors = FormErrors(language_of(request))
    errors.choice(form, "resolution", list(FEED_RESOLUTION))
    if errors:
        return _page(request, actor, {"error": errors.get("resolution")}, 422)
    resolution = form["resolution"]
    if resolution == "apply_death" and form.get("confirmed") != "yes":
        return _page(request, actor, {"confirm": case_id})
    try:
        feeds.resolve(db_of(request), actor, case_id, resolution)
    except DomainError as err:
        errors.add_domain(err, {err.code: GENERAL})
        return _page(request, actor, {"error": errors.get(GENERAL)}, err.http_status)
    return RedirectResponse("/exchange/feeds?" + urlencode({"done": str(case_id)}), status_code=303)
