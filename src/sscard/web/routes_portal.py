"""Cardholder portal (网上服务), laid out for a phone first: login by card number or ID number with the query
password, the holder's page (card status and what can be done with the card, 参保状态 and 缴费年限, 缴费记录 with the
employer's and the holder's share, the medical account with settlement lines and its 划入 credits, benefit
payments), 临时挂失 after a confirmation, 网上解挂, 网上补换卡 (fee shown before committing, mailed or collected,
progress), 参保证明 / 缴费清单 as PDF with a verification code and the public page that checks it, updating phone
and address, changing the query password; the health index page (who may read it, who looked, revoking a
grant, showing or hiding sensitive diagnoses)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor
from sscard.db import utcnow
from sscard.errors import DomainError
from sscard.health import consent
from sscard.portal import documents, orders, reads
from sscard.portal import service as portal
from sscard.portal.errors import PortalLoginFailed
from sscard.web import portal_labels
from sscard.web.certificate_pdf import certificate_pdf
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
DONE = {"loss": N_("Your card is temporarily reported lost: it cannot be used until you lift the loss here or "
                   "at a service counter. Without a formal loss the temporary loss ends by itself after the "
                   "period shown."),
        "lift": N_("The temporary loss is lifted: your card can be used again."),
        "order": N_("Your application for a new card is accepted. You can follow it below."),
        "contact": N_("Your phone and address are updated."),
        "password": N_("Your query password is changed."),
        "ecard": N_("Your electronic social security card is activated.")}


def holder_context(request: Request, actor: Actor, kiosk: bool) -> dict[str, Any]:
    """Everything the holder's page shows (each read is audited by the portal service)."""
    db = db_of(request)
    params = request.query_params
    done = params.get("done")
    language = language_of(request)
    assert actor.person_id is not None
    return {"profile": reads.profile(db, actor), "medical": reads.medical(db, actor),
            "contrib_lines": documents.contribution_lines(db, actor, language),
            "standings": documents.standings(db, actor, actor.person_id),
            "benefits": reads.benefit_payments(db, actor, language),
            "orders": orders.my_orders(db, actor),
            "kiosk": kiosk, "done": DONE.get(done or ""), "done_key": done, "holder": actor,
            "pl": portal_labels}


def holder_page(request: Request, actor: Actor, errors: FormErrors | None = None, form_name: str = "",
                values: dict[str, str] | None = None, status: int = 200) -> Response:
    context = holder_context(request, actor, kiosk=False)
    context.update({"errors": errors or FormErrors(language_of(request)), "form_name": form_name,
                    "values": values or {}})
    return render(request, "portal.html", context, status=status)


def holder_render(request: Request, actor: Actor, template: str, context: dict[str, Any],
                  status: int = 200) -> Response:
    """A page of the holder's own (confirmations, the card order): the name in the header, the labels."""
    context = {"profile": reads.profile(db_of(request), actor), "holder": actor, "pl": portal_labels,
               "errors": FormErrors(language_of(request)), **context}
    return render(request, template, context, status=status)


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


@router.get("/portal/loss", response_class=HTMLResponse)
def confirm_loss(request: Request, actor: PortalHolder) -> Response:
    """临时挂失 asks first: what it does, and a button to go back."""
    card_no = request.query_params.get("card_no", "")
    card = next((c for c in reads.profile(db_of(request), actor).cards if c.card_no == card_no), None)
    if card is None or not card.can_report_loss:
        return RedirectResponse("/portal#cards", status_code=303)
    return holder_render(request, actor, "portal_confirm.html", {"card": card, "base": "/portal"})


@router.post("/portal/lift")
def lift_loss(request: Request, actor: PortalHolder, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    try:
        portal.lift_temporary_loss(db_of(request), actor, form.get("card_no", ""))
    except DomainError as err:
        errors.add_domain(err, {err.code: GENERAL})
        return holder_page(request, actor, errors, "loss", status=err.http_status)
    return RedirectResponse(done_url("/portal", "lift"), status_code=303)


ORDER_FIELDS = {"CARD_ORDER_INVALID": "delivery", "CARD_ORDER_OUTLET_UNKNOWN": "outlet_code",
                "ADDRESS_INVALID": "address"}


def _order_page(request: Request, actor: Actor, values: dict[str, str], errors: FormErrors | None = None,
                review: Any = None, status: int = 200) -> Response:
    db = db_of(request)
    return holder_render(request, actor, "portal_order.html", {
        "values": values, "errors": errors or FormErrors(language_of(request)), "review": review,
        "outlets": orders.outlets(db, actor), "key": secrets.token_urlsafe(18)}, status=status)


@router.get("/portal/card-order", response_class=HTMLResponse)
def order_form(request: Request, actor: PortalHolder) -> Response:
    params = request.query_params
    profile = reads.profile(db_of(request), actor)
    card = next((c for c in profile.cards if c.card_no == params.get("card_no")), None)
    if card is None or not (card.can_replace or card.can_exchange):
        return RedirectResponse("/portal#cards", status_code=303)
    business = "replacement" if card.can_replace and card.app_status == "2" else "exchange"
    return _order_page(request, actor, {"card_no": card.card_no, "business": business, "delivery": "pickup",
                                        "address": profile.address or ""})


def _checked_order(request: Request, actor: Actor, form: dict[str, str]) -> tuple[FormErrors, Any]:
    errors = FormErrors(language_of(request))
    lang = language_of(request)
    if form.get("business") == "exchange" and form.get("reason") not in portal_labels.EXCHANGE_REASON:
        errors.add("reason", gettext(lang, N_("Choose why the card is exchanged.")))
    if form.get("delivery") not in portal_labels.DELIVERY:
        errors.add("delivery", gettext(lang, N_("Choose how you receive the new card.")))
    elif form.get("delivery") == "mail" and not form.get("address"):
        errors.add("address", gettext(lang, N_("Give the address to mail the card to.")))
    elif form.get("delivery") == "pickup" and form.get("outlet_code") not in {
            o.code for o in orders.outlets(db_of(request), actor)}:
        errors.add("outlet_code", gettext(lang, N_("Choose the outlet to collect the card at.")))
    quote = None
    if not errors:
        try:
            portal.check_address(form.get("address") if form.get("delivery") == "mail" else None)
            quote = orders.quote(db_of(request), actor, form.get("business", ""), form.get("reason"))
        except DomainError as err:
            errors.add_domain(err, ORDER_FIELDS)
    return errors, quote


ORDER_KEEP = ("card_no", "business", "reason", "delivery", "address", "outlet_code")


@router.post("/portal/card-order/review", response_class=HTMLResponse)
def order_review(request: Request, actor: PortalHolder, form: Form) -> Response:
    """The second step: what will be done, where the card goes and the fee, before anything is committed."""
    values = {k: form.get(k, "") for k in ORDER_KEEP}
    errors, quote = _checked_order(request, actor, form)
    if errors:
        return _order_page(request, actor, values, errors, status=422)
    outlet = next((o for o in orders.outlets(db_of(request), actor) if o.code == values["outlet_code"]), None)
    return _order_page(request, actor, values, review={"quote": quote, "outlet": outlet})


@router.post("/portal/card-order")
def order_card(request: Request, actor: PortalHolder, form: Form) -> Response:
    values = {k: form.get(k, "") for k in ORDER_KEEP}
    errors, _ = _checked_order(request, actor, form)
    if not errors:
        try:
            orders.order(db_of(request), actor, values["card_no"], values["business"], values["reason"] or None,
                         values["delivery"], values["address"] or None, values["outlet_code"] or None,
                         form.get("idempotency_key", ""))
        except DomainError as err:
            errors.add_domain(err, {**ORDER_FIELDS, err.code: ORDER_FIELDS.get(err.code, GENERAL)})
        else:
            return RedirectResponse(done_url("/portal", "order") + "#orders", status_code=303)
    return _order_page(request, actor, values, errors, status=422)


def certificate_response(request: Request, actor: Actor, kind: str, channel: str) -> Response:
    language = language_of(request)
    cert = documents.issue(db_of(request), actor, kind, channel, language)
    pdf = certificate_pdf(cert, language, str(request.base_url).rstrip("/") + "/portal/verify")
    name = f"{kind}-{cert.code}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/portal/certificate")
def print_certificate(request: Request, actor: PortalHolder, form: Form) -> Response:
    try:
        return certificate_response(request, actor, form.get("kind", ""), "portal")
    except DomainError as err:
        errors = FormErrors(language_of(request))
        errors.add_domain(err, {err.code: GENERAL})
        return holder_page(request, actor, errors, "certificate", status=err.http_status)


@router.get("/portal/verify", response_class=HTMLResponse)
def verify_certificate(request: Request) -> Response:
    """The public check of a certificate's verification code (no login)."""
    raw = request.query_params.get("code")
    check, error = None, None
    if raw is not None:
        try:
            check = documents.verify(db_of(request), raw)
        except DomainError as err:
            error = err.to_dict(language_of(request))["message"]
    return render(request, "portal_verify.html", {"check": check, "error": error, "code": (raw or "")[:40],
                                                  "pl": portal_labels}, status=404 if error else 200)


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
