"""Kiosk mode of the portal (自助终端, a portrait touch screen): insert the card (its number is read from the chip
through the terminal) — a lost, cancelled or unactivated card is refused at once, before any password — type the
query password on the on-screen keypad, then a tile menu in large print: card status (临时挂失 after a
confirmation, 解挂), 参保状态, 缴费记录, the medical account, benefit payments, printing 参保证明 and 缴费清单
(PDF to the kiosk's printer), 资格认证, changing the card's PIN (with the card in the reader), the e-card. The
session ends after ``portal.kiosk_idle_seconds`` without a touch: the page's script logs out and says to take
the card, and the server refuses the session anyway."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor
from sscard.errors import DomainError
from sscard.funds.benefits import entitlements
from sscard.portal import ecards, reads
from sscard.portal import service as portal
from sscard.portal.errors import CardNotForKiosk, CardUnreadable
from sscard.terminal.station import KioskReader, NoCard
from sscard.web import portal_labels, security
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import KioskHolder, holder_token
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, db_of, render
from sscard.web.routes_portal import certificate_response, done_url, holder_context
from sscard.web.security import clear_holder_session, client_address, set_holder_session

router = APIRouter(include_in_schema=False)
CARD_COOKIE = "sscard_kiosk_card"
CARD_SECONDS = 120  # the card read stays good for the password step only
SECTIONS = ("card", "standing", "contributions", "medical", "benefits", "print", "certify", "pin")
BYE = {"idle": N_("You were logged out because nothing was touched for a while."),
       "out": N_("You are logged out.")}
KIOSK_DONE = {"certify": N_("Your certification is recorded. Your pension continues to be paid."),
              "pin": N_("The card's password is changed. Use the new one from now on."),
              "loss": N_("Your card is temporarily reported lost: it cannot be used until the loss is lifted."),
              "lift": N_("The temporary loss is lifted: your card can be used again."),
              "ecard": N_("Your electronic social security card is activated.")}


def _reader(request: Request) -> KioskReader | None:
    reader: KioskReader | None = getattr(request.app.state, "kiosk_reader", None)
    return reader


def _start(request: Request, errors: FormErrors | None = None, status: int = 200, refused: bool = False) -> Response:
    bye = BYE.get(request.query_params.get("bye", ""))
    return render(request, "kiosk_start.html", {"kiosk": True, "has_reader": _reader(request) is not None,
                                                "errors": errors or FormErrors(language_of(request)),
                                                "bye": bye, "refused": refused},
                  status=status)


@router.get("/kiosk", response_class=HTMLResponse)
def start(request: Request) -> Response:
    return _start(request)


@router.post("/kiosk/card")
def read_card(request: Request, form: Form) -> Response:
    """Touch "continue" with the card inserted: read the card number from the chip and check the card at once."""
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
    try:
        portal.check_kiosk_card(db_of(request), card_no)
    except CardNotForKiosk as err:
        errors.add_domain(err, {err.code: GENERAL})
        return _start(request, errors, status=err.http_status, refused=True)
    response = RedirectResponse("/kiosk/password", status_code=303)
    response.set_cookie(CARD_COOKIE, security.session_value(card_no, time.time() + CARD_SECONDS),
                        max_age=CARD_SECONDS, httponly=True, samesite="strict", secure=security.is_https(request),
                        path="/kiosk")
    return response


def _card_no(request: Request) -> str | None:
    return security.session_token(request.cookies.get(CARD_COOKIE))


def _masked(card_no: str) -> str:
    return card_no[:2] + "*" * (len(card_no) - 4) + card_no[-2:]


def _password_page(request: Request, card_no: str, errors: FormErrors, status: int = 200) -> Response:
    return render(request, "kiosk_password.html", {"kiosk": True, "card_masked": _masked(card_no), "errors": errors},
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


def _kiosk_render(request: Request, actor: Actor, template: str, context: dict[str, Any],
                  status: int = 200) -> Response:
    db = db_of(request)
    done = request.query_params.get("done", "")
    base = {"kiosk": True, "holder": actor, "pl": portal_labels, "idle_seconds": portal.kiosk_idle_seconds(db),
            "errors": FormErrors(language_of(request)), "done": KIOSK_DONE.get(done), "form_name": "",
            "values": {}}
    return render(request, template, {**base, **context}, status=status)


def _home(request: Request, actor: KioskHolder, errors: FormErrors | None = None, status: int = 200) -> Response:
    profile = reads.profile(db_of(request), actor)
    return _kiosk_render(request, actor, "kiosk_home.html", {"profile": profile, **(
        {"errors": errors} if errors else {})}, status=status)


@router.get("/kiosk/home", response_class=HTMLResponse)
def home(request: Request, actor: KioskHolder) -> Response:
    return _home(request, actor)


def _section(request: Request, actor: Actor, section: str, errors: FormErrors | None = None,
             status: int = 200) -> Response:
    db = db_of(request)
    context: dict[str, Any] = {"section": section}
    if section in ("card", "print"):
        context["profile"] = reads.profile(db, actor)
    else:
        context.update(holder_context(request, actor, kiosk=True))
    if section == "certify":
        assert actor.person_id is not None
        context["certification"] = entitlements.certification_standing(db, actor, actor.person_id)
    context["done"] = KIOSK_DONE.get(request.query_params.get("done", ""))
    if errors:
        context["errors"] = errors
    return _kiosk_render(request, actor, "kiosk_page.html", context, status=status)


@router.get("/kiosk/s/{section}", response_class=HTMLResponse)
def section_page(request: Request, actor: KioskHolder, section: str) -> Response:
    if section not in SECTIONS:
        return RedirectResponse("/kiosk/home", status_code=303)
    return _section(request, actor, section)


def _failed(request: Request, actor: Actor, section: str, err: DomainError, field: str = GENERAL) -> Response:
    errors = FormErrors(language_of(request))
    errors.add_domain(err, {err.code: field})
    return _section(request, actor, section, errors, status=err.http_status)


@router.get("/kiosk/loss", response_class=HTMLResponse)
def confirm_loss(request: Request, actor: KioskHolder) -> Response:
    card_no = request.query_params.get("card_no", "")
    card = next((c for c in reads.profile(db_of(request), actor).cards if c.card_no == card_no), None)
    if card is None or not card.can_report_loss:
        return RedirectResponse("/kiosk/s/card", status_code=303)
    return _kiosk_render(request, actor, "portal_confirm.html", {"card": card, "base": "/kiosk",
                                                                 "profile": reads.profile(db_of(request), actor)})


@router.post("/kiosk/loss")
def report_loss(request: Request, actor: KioskHolder, form: Form) -> Response:
    try:
        portal.report_temporary_loss(db_of(request), actor, form.get("card_no", ""))
    except DomainError as err:
        return _failed(request, actor, "card", err)
    return RedirectResponse(done_url("/kiosk/s/card", "loss"), status_code=303)


@router.post("/kiosk/lift")
def lift_loss(request: Request, actor: KioskHolder, form: Form) -> Response:
    try:
        portal.lift_temporary_loss(db_of(request), actor, form.get("card_no", ""))
    except DomainError as err:
        return _failed(request, actor, "card", err)
    return RedirectResponse(done_url("/kiosk/s/card", "lift"), status_code=303)


@router.post("/kiosk/certificate")
def print_certificate(request: Request, actor: KioskHolder, form: Form) -> Response:
    """参保证明 / 缴费清单 as a PDF, which the kiosk's browser sends to its printer."""
    try:
        return certificate_response(request, actor, form.get("kind", ""), "kiosk")
    except DomainError as err:
        return _failed(request, actor, "print", err)


@router.post("/kiosk/certify")
def certify(request: Request, actor: KioskHolder, form: Form) -> Response:
    """资格认证 (pension certification): the card in the reader and its query password identify the person."""
    try:
        entitlements.certify_own_at_kiosk(db_of(request), actor)
    except DomainError as err:
        return _failed(request, actor, "certify", err)
    return RedirectResponse(done_url("/kiosk/s/certify", "certify"), status_code=303)


PIN_FIELDS = {"PIN_FORMAT_INVALID": "new_pin", "PIN_TOO_WEAK": "new_pin", "QUERY_PASSWORD_MISMATCH": "repeat_pin",
              "CARD_LOCKED": GENERAL}


@router.post("/kiosk/pin")
def change_pin(request: Request, actor: KioskHolder, form: Form) -> Response:
    """修改社保卡密码: the card is read again from the reader (the card being changed is the one inserted)."""
    lang = language_of(request)
    errors = FormErrors(lang)
    errors.required(form, "old_pin", "new_pin", "repeat_pin")
    if errors:
        return _section(request, actor, "pin", errors, status=422)
    reader = _reader(request)
    try:
        card_no = reader.read_card_no() if reader is not None else None
    except NoCard:
        card_no = None
    if card_no is None:
        return _failed(request, actor, "pin", CardUnreadable())
    try:
        changed = portal.change_card_pin(db_of(request), actor, card_no, form["old_pin"], form["new_pin"],
                                         form["repeat_pin"])
    except DomainError as err:
        return _failed(request, actor, "pin", err, PIN_FIELDS.get(err.code, GENERAL))
    if not changed:
        errors.add("old_pin", gettext(lang, N_("The present card password is wrong. Too many wrong tries lock the "
                                               "card; it is then unlocked at a service counter.")))
        return _section(request, actor, "pin", errors, status=422)
    return RedirectResponse(done_url("/kiosk/s/pin", "pin"), status_code=303)


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
    reason = "idle" if form.get("reason") == "idle" else "out"
    response = RedirectResponse(f"/kiosk?bye={reason}", status_code=303)
    clear_holder_session(response)
    response.delete_cookie(CARD_COOKIE, path="/kiosk")
    return response
