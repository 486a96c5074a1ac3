"""Data sharing with other departments on the web (docs/exchange.md): the cardholder's data-use record
(``/portal/data-use``, 数据使用记录: which department used their data, when, under which agreement and why, and who
read their health index) and the administrators' page (``/exchange``: departments and agreements, a supervisor
approves or revokes what another operator requested). Each page calls the services, which authorise and audit."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Permission
from sscard.db import utcnow
from sscard.errors import DomainError
from sscard.exchange import service as exchange
from sscard.health import consent
from sscard.web.holder import PortalHolder
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, WebActor, db_of, render, require

router = APIRouter(include_in_schema=False)

MODE = {"verification": N_("Verification (yes or no)"), "query": N_("Query"), "bulk": N_("Bulk verification"),
        "subscription": N_("Notification of a change")}


@router.get("/portal/data-use", response_class=HTMLResponse)
def data_use(request: Request, actor: PortalHolder) -> Response:
    assert actor.person_id is not None
    db = db_of(request)
    uses = exchange.holder_uses(db, actor, actor.person_id)
    health = consent.holder_overview(db, actor, actor.person_id)
    return render(request, "portal_data_use.html", {"uses": uses, "overview": health, "mode": MODE,
                                                    "now": utcnow()})


def _done(message: str) -> RedirectResponse:
    return RedirectResponse("/exchange?" + urlencode({"done": message}), status_code=303)


def _page(request: Request, actor: WebActor, error: str | None = None, status: int = 200) -> Response:
    require(actor, Permission.EXCHANGE_READ)
    db = db_of(request)
    return render(request, "exchange.html", {
        "departments": exchange.list_departments(db, actor), "agreements": exchange.list_agreements(db, actor),
        "items": {i.code: i for i in exchange.catalogue(db, actor)}, "mode": MODE,
        "done": request.query_params.get("done"), "error": error}, status=status)


@router.get("/exchange", response_class=HTMLResponse)
def overview(request: Request, actor: WebActor) -> Response:
    return _page(request, actor)


@router.post("/exchange/agreements/{agreement_no}/{decision}")
def decide(request: Request, actor: WebActor, form: Form, agreement_no: str, decision: str) -> Response:
    """approve / reject / revoke (a supervisor other than the requester)."""
    require(actor, Permission.EXCHANGE_APPROVE)
    language = language_of(request)
    db = db_of(request)
    reason = form.get("reason", "").strip()
    try:
        if decision == "approve":
            done = exchange.approve(db, actor, agreement_no)
            message = N_("Agreement approved")
        elif decision in ("reject", "revoke") and len(reason) >= 2:
            done = (exchange.reject if decision == "reject" else exchange.revoke)(db, actor, agreement_no, reason)
            message = N_("Agreement rejected") if decision == "reject" else N_("Agreement revoked")
        else:
            return _page(request, actor, gettext(language, N_("Give a reason (at least two characters).")), 422)
    except DomainError as err:
        return _page(request, actor, err.to_dict("en" if language == "en" else "zh")["message"], err.http_status)
    return _done(f"{gettext(language, message)}: {done.agreement_no}")
