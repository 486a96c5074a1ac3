"""Kiosk mode of the portal (自助终端): insert the card (its number is read from the chip through the
terminal), type the query password on the on-screen keypad, see the same information in large print,
report a temporary loss. The session ends after ``portal.kiosk_idle_seconds`` without a touch: the page's
script logs out, and the server refuses the session anyway."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.errors import DomainError
from sscard.portal import ecards
from sscard.portal import service as portal
from sscard.portal.errors import CardUnreadable
from sscard.terminal.station import KioskReader, NoCard
from sscard.web import security
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import KioskHolder, holder_token
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, db_of, render
from sscard.web.routes_portal import done_url, holder_context
from sscard.web.security import clear_holder_session, client_address, set_holder_session

router = APIRouter(include_in_schema=False)
CARD_COOKIE = "sscard_kiosk_card"
CARD_SECONDS = 120  # the card read stays good for the password step only


def _reader(request: Request) -> KioskReader | None:
    reader: KioskReader | None = getattr(request.app.state, "kiosk_reader", None)
    return reader


def _start(request: Request, errors: FormErrors | None = None, status: int = 200) -> Response:
    return render(request, "kiosk_start.html", {"kiosk": True, "has_reader": _reader(request) is not None,
                                                "errors": errors or FormErrors(language_of(request))},
                  status=status)


@router.get("/kiosk", response_class=HTMLResponse)
def start(request: Request) -> Response:
    return _start(request)


@router.post("/kiosk/card")
def read_card(request: Request, form: Form) -> Response:
    """Touch "continue" with the card inserted: read the card number from the chip."""
    errors = FormErrors(language_of(request))
    reader = _reader(request)
    if reader is None:
        errors.add(GENERAL, gettext(language_of(request), N_("This kiosk has no card reader.")))
        return _start(request, errors, status=503)
    try:
        card_no = reader.read_card_no()
    except NoCard:
        errors.add_domain(CardUnreadable(), {CardUnreadable.code: GENERAL})
        return _start(request, errors, status=422)
    response = RedirectResponse("/kiosk/password", status_code=303)
    response.set_cookie(CARD_COOKIE, security.session_value(card_no, time.time() + CARD_SECONDS),
                        max_age=CARD_SECONDS, httponly=True, samesite="strict", secure=security.is_https(request),
                        path="/kiosk")
    return response


def _card_no(request: Request) -> str | None:
    return security.session_token(request.cookies.get(CARD_COOKIE))


def _password_page(request: Request, card_no: str, errors: FormErrors, status: int = 200) -> Response:
    masked = card_no[:2] + "*" * (len(card_no) - 4) + card_no[-2:]
    return render(request, "kiosk_password.html", {"kiosk": True, "card_masked": masked, "errors": errors},
                  status=status)


@router.get("/kiosk/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    card_no = _card_no(request)
    if card_no is None:
        return RedirectResponse("/kiosk", status_code=303)
    return _password_page(request, card_no, FormErrors(language_of(request)))


@router.post("/kiosk/login")
def login(request: Request, form: Form) -> Response:
    card_no = _card_no(request)
    if card_no is None:
        return RedirectResponse("/kiosk", status_code=303)
    errors = FormErrors(language_of(request))
    errors.required(form, "password")
    if not errors:
        try:
            issued = portal.login(db_of(request), card_no, form["password"], kiosk=True,
                                  address=client_address(request))
        except DomainError as err:
            errors.add_domain(err, {err.code: "password"} if err.code == "PORTAL_LOGIN_FAILED" else {err.code: GENERAL})
        else:
            response = RedirectResponse("/kiosk/home", status_code=303)
            set_holder_session(response, request, issued.token, issued.expires_at.timestamp())
            response.delete_cookie(CARD_COOKIE, path="/kiosk")
            return response
    return _password_page(request, card_no, errors, status=401 if form.get("password") else 422)


def _home(request: Request, actor: KioskHolder, errors: FormErrors | None = None, status: int = 200) -> Response:
    context = holder_context(request, actor, kiosk=True)
    context.update({"errors": errors or FormErrors(language_of(request)), "form_name": "loss", "values": {},
                    "idle_seconds": portal.kiosk_idle_seconds(db_of(request))})
    return render(request, "portal.html", context, status=status)


@router.get("/kiosk/home", response_class=HTMLResponse)
def home(request: Request, actor: KioskHolder) -> Response:
    return _home(request, actor)


@router.post("/kiosk/loss")
def report_loss(request: Request, actor: KioskHolder, form: Form) -> Response:
    db = db_of(request)
    try:
        card = portal.report_temporary_loss(db, actor, form.get("card_no", ""))
    except DomainError as err:
        errors = FormErrors(language_of(request))
        errors.add_domain(err, {err.code: GENERAL})
        return _home(request, actor, errors, status=err.http_status)
    return RedirectResponse(done_url("/kiosk/home", "loss", card.audit_seq), status_code=303)


@router.post("/kiosk/ecard/activate")
def activate_ecard(request: Request, actor: KioskHolder, form: Form) -> Response:
    """开通电子社保卡 at the kiosk: the session already proves the card in the reader and the query password."""
    try:
        ecards.activate_ecard(db_of(request), actor, kiosk=True)
    except DomainError as err:
        errors = FormErrors(language_of(request))
        errors.add_domain(err, {err.code: GENERAL})
        return _home(request, actor, errors, status=err.http_status)
    return RedirectResponse(done_url("/kiosk/home", "ecard"), status_code=303)


@router.post("/kiosk/logout")
def logout(request: Request, form: Form) -> Response:
    token = holder_token(request)
    if token:
        portal.logout(db_of(request), token)
    response = RedirectResponse("/kiosk", status_code=303)
    clear_holder_session(response)
    response.delete_cookie(CARD_COOKIE, path="/kiosk")
    return response
