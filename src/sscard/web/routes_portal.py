"""Cardholder portal (网上服务): login by card number or ID number with the query password, the holder's
page (card status, masked personal data, contributions, medical account and settlements, benefit payments),
reporting a temporary loss, updating phone and address, changing the query password; the health index page (who
may read it, who looked, revoking a grant, showing or hiding sensitive diagnoses)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor
from sscard.db import utcnow
from sscard.errors import DomainError
from sscard.health import consent
from sscard.portal import reads
from sscard.portal import service as portal
from sscard.portal.errors import PortalLoginFailed
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import PortalHolder, holder_token
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, db_of, render
from sscard.web.security import clear_holder_session, client_address, set_holder_session

router = APIRouter(include_in_schema=False)

SECRET_FIELDS = ("password", "old_password", "new_password", "repeat_password", "csrf_token")
PORTAL_FIELDS = {"QUERY_PASSWORD_INVALID": "new_password", "QUERY_PASSWORD_MISMATCH": "repeat_password",
                 "PORTAL_LOGIN_FAILED": "old_password", "PHONE_INVALID": "phone",
                 "ADDRESS_INVALID": "address"}
DONE = {"loss": N_("Temporary loss reported. Counters see it at once; it lapses by itself unless you "
                   "report a formal loss or lift it at a counter with the card."),
        "contact": N_("Your phone and address are updated."),
        "password": N_("Your query password is changed."),
        "ecard": N_("Your electronic social security card is activated.")}


def holder_context(request: Request, actor: Actor, kiosk: bool) -> dict[str, Any]:
    """Everything the holder's page shows (each read is audited by the portal service)."""
    db = db_of(request)
    params = request.query_params
    done = params.get("done")
    return {"profile": reads.profile(db, actor), "medical": reads.medical(db, actor),
            "contributions": reads.contributions(db, actor, language_of(request)),
            "benefits": reads.benefit_payments(db, actor, language_of(request)),
            "kiosk": kiosk, "done": DONE.get(done or ""), "done_key": done, "seq": params.get("seq"),
            "holder": actor}


def holder_page(request: Request, actor: Actor, errors: FormErrors | None = None, form_name: str = "",
                values: dict[str, str] | None = None, status: int = 200) -> Response:
    context = holder_context(request, actor, kiosk=False)
    context.update({"errors": errors or FormErrors(language_of(request)), "form_name": form_name,
                    "values": values or {}})
    return render(request, "portal.html", context, status=status)


def _login_page(request: Request, values: dict[str, str], errors: FormErrors, status: int = 200) -> Response:
    return render(request, "portal_login.html", {"values": values, "errors": errors}, status=status)


@router.get("/portal/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _login_page(request, {}, FormErrors(language_of(request)))


@router.post("/portal/login", response_class=HTMLResponse)
def login(request: Request, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "identifier", "password")
    if not errors:
        try:
            issued = portal.login(db_of(request), form["identifier"], form["password"],
                                  address=client_address(request))
        except DomainError as err:
            errors.add_domain(err, {err.code: "password"})
        else:
            response = RedirectResponse("/portal", status_code=303)
            set_holder_session(response, request, issued.token, issued.expires_at.timestamp())
            return response
    return _login_page(request, {"identifier": form.get("identifier", "")}, errors, status=401 if form.get(
        "password") else 422)


@router.post("/portal/logout")
def logout(request: Request, form: Form) -> Response:
    token = holder_token(request)
    if token:
        portal.logout(db_of(request), token)
    response = RedirectResponse("/portal/login", status_code=303)
    clear_holder_session(response)
    return response


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, actor: PortalHolder) -> Response:
    return holder_page(request, actor)


def done_url(base: str, done: str, seq: int | None = None) -> str:
    return f"{base}?" + urlencode({"done": done, **({"seq": seq} if seq is not None else {})})


@router.post("/portal/loss")
def report_loss(request: Request, actor: PortalHolder, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "card_no")
    if not errors:
        db = db_of(request)
        try:
            card = portal.report_temporary_loss(db, actor, form["card_no"])
        except DomainError as err:
            errors.add_domain(err, {err.code: GENERAL})
            return holder_page(request, actor, errors, "loss", status=err.http_status)
        return RedirectResponse(done_url("/portal", "loss", card.audit_seq), status_code=303)
    return holder_page(request, actor, errors, "loss", status=422)


@router.post("/portal/contact")
def update_contact(request: Request, actor: PortalHolder, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    if not form.get("phone") and not form.get("address"):
        errors.add("phone", gettext(language_of(request), N_("Give a phone number, an address or both.")))
    if not errors:
        db = db_of(request)
        try:
            seq = portal.update_contact(db, actor, form.get("phone"), form.get("address"))
        except DomainError as err:
            errors.add_domain(err, PORTAL_FIELDS)
        else:
            return RedirectResponse(done_url("/portal", "contact", seq), status_code=303)
    kept = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
    return holder_page(request, actor, errors, "contact", kept, status=422)


@router.post("/portal/password")
def change_password(request: Request, actor: PortalHolder, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "old_password", "new_password", "repeat_password")
    if not errors:
        db = db_of(request)
        try:
            issued = portal.change_password(db, actor, form["old_password"], form["new_password"],
                                            form["repeat_password"], address=client_address(request))
        except PortalLoginFailed:
            errors.add("old_password", gettext(language_of(request), N_(
                "The current query password is wrong, or locked for a while after too many wrong tries.")))
        except DomainError as err:
            errors.add_domain(err, PORTAL_FIELDS)
        else:
            # Every session of the holder ended with the change; this browser continues in the new one.
            response = RedirectResponse(done_url("/portal", "password", issued.audit_seq), status_code=303)
            set_holder_session(response, request, issued.token, issued.expires_at.timestamp())
            return response
    return holder_page(request, actor, errors, "password", {}, status=422)


HEALTH_DONE = {"revoked": N_("The grant is revoked: that hospital reads nothing more with it."),
               "sensitive": N_("Your choice for sensitive diagnoses is saved.")}


def health_page(request: Request, actor: Actor, error: str | None = None, status: int = 200) -> Response:
    assert actor.person_id is not None
    overview = consent.holder_overview(db_of(request), actor, actor.person_id)
    return render(request, "portal_health.html",
                  {"overview": overview, "now": utcnow(), "done": HEALTH_DONE.get(request.query_params.get("done", "")),
                   "error": error}, status=status)


@router.get("/portal/health", response_class=HTMLResponse)
def health(request: Request, actor: PortalHolder) -> Response:
    return health_page(request, actor)


@router.post("/portal/health/revoke")
def revoke_grant(request: Request, actor: PortalHolder, form: Form) -> Response:
    assert actor.person_id is not None
    try:
        consent.revoke(db_of(request), actor, actor.person_id, form.get("grant_id", ""))
    except DomainError as err:
        return health_page(request, actor, err.to_dict(language_of(request))["message"], err.http_status)
    return RedirectResponse("/portal/health?done=revoked", status_code=303)


@router.post("/portal/health/sensitive")
def choose_sensitive(request: Request, actor: PortalHolder, form: Form) -> Response:
    assert actor.person_id is not None
    try:
        consent.set_opt_in(db_of(request), actor, actor.person_id, form.get("category", ""), form.get("show") == "1")
    except DomainError as err:
        return health_page(request, actor, err.to_dict(language_of(request))["message"], err.http_status)
    return RedirectResponse("/portal/health?done=sensitive", status_code=303)
