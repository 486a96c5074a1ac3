"""Public employment services as pages (docs/employment.md): the counter (``/counter/employment``: find a person
by ID number, 求职登记 / 失业登记, 注销 with a reason), the kiosk with the card (``/kiosk/employment``: register
oneself) and the portal (``/portal/employment``: one's registrations, and 灵活就业人员参保登记 and 缴费申报).
Each form calls one service function, which authorises and audits; ID numbers are shown masked only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from sscard.access import Actor
from sscard.employment import flexible, service
from sscard.employment.schemas import CloseIn, DeclarationIn, FlexibleIn, RegistrationIn, RegistrationOut
from sscard.employment.states import CloseReason, RegistrationKind, RegistrationOp, registration_allows
from sscard.errors import DomainError
from sscard.portal import reads
from sscard.portal import service as portal
from sscard.web import portal_labels
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import KioskHolder, PortalHolder
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, WebActor, db_of, render

router = APIRouter(include_in_schema=False)

KIND = {RegistrationKind.JOB_SEEKER.value: N_("Job-seeker registration"),
        RegistrationKind.UNEMPLOYMENT.value: N_("Unemployment registration")}
STATUS = {"open": N_("Open"), "closed": N_("Closed")}
REASON = {CloseReason.REEMPLOYED.value: N_("Re-employed"), CloseReason.FLEXIBLE.value: N_("Flexibly employed"),
          CloseReason.SELF_EMPLOYED.value: N_("Started a business"), CloseReason.ENLISTED.value: N_("Enlisted"),
          CloseReason.RETIRED.value: N_("Reached retirement"), CloseReason.STUDYING.value: N_("Went back to study"),
          CloseReason.EMIGRATED.value: N_("Moved abroad"), CloseReason.DECEASED.value: N_("Deceased"),
          CloseReason.WITHDRAWN.value: N_("Withdrawn at own request")}
DONE = {"registered": N_("The registration is recorded."), "closed": N_("The registration is closed."),
        "flexible": N_("You are registered as a flexible worker."),
        "declared": N_("Your contribution base is declared.")}
LABELS = {"kind": KIND, "status": STATUS, "reason": REASON}


def _can_close(reg: RegistrationOut) -> bool:
    return registration_allows(reg.status, RegistrationOp.CLOSE)


def _counter(request: Request, regs: list[RegistrationOut] | None = None, errors: FormErrors | None = None,
             values: dict[str, str] | None = None, done: str | None = None, status: int = 200) -> Response:
    return render(request, "counter_employment.html", {
        "regs": regs, "errors": errors or FormErrors(language_of(request)), "values": values or {},
        "done": DONE.get(done or ""), "can_close": _can_close, **LABELS}, status=status)


def _not_accepted(errors: FormErrors, name: str) -> None:
    errors.add(name, gettext(errors.language, N_("This value is not accepted.")))


def _failed(errors: FormErrors, err: DomainError | ValidationError) -> None:
    if isinstance(err, ValidationError):
        errors.add_validation(err)
    else:
        errors.add_domain(err, {err.code: GENERAL})


@router.get("/counter/employment", response_class=HTMLResponse)
def counter_page(request: Request, actor: WebActor) -> Response:
    return _counter(request)


@router.post("/counter/employment/search")
def counter_search(request: Request, actor: WebActor, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "id_number")
    if errors:
        return _counter(request, errors=errors, values=form, status=422)
    try:
        regs = service.registrations_by_id_number(db_of(request), actor, form["id_number"])
    except DomainError as err:
        _failed(errors, err)
        return _counter(request, errors=errors, values=form, status=err.http_status)
    return _counter(request, regs, values={})


@router.post("/counter/employment/register")
def counter_register(request: Request, actor: WebActor, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "id_number")
    errors.choice(form, "kind", list(KIND))
    if errors:
        return _counter(request, errors=errors, values=form, status=422)
    db = db_of(request)
    try:
        reg = service.register(db, actor, RegistrationIn(id_number=form["id_number"], kind=form["kind"]),
                               channel="counter", idempotency_key=form.get("key") or None)
        regs = service.registrations_of(db, actor, reg.person_id)
    except (DomainError, ValidationError) as err:
        _failed(errors, err)
        return _counter(request, errors=errors, values=form, status=getattr(err, "http_status", 422))
    return _counter(request, regs, done="registered")


@router.post("/counter/employment/close")
def counter_close(request: Request, actor: WebActor, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.choice(form, "reason", list(REASON))
    raw_id = form.get("registration_id", "")
    if not raw_id.isdigit():
        _not_accepted(errors, GENERAL)
    if errors:
        return _counter(request, errors=errors, status=422)
    db = db_of(request)
    try:
        reg = service.close_registration(db, actor, int(raw_id), CloseIn(reason=form["reason"]))
        regs = service.registrations_of(db, actor, reg.person_id)
    except (DomainError, ValidationError) as err:
        _failed(errors, err)
        return _counter(request, errors=errors, status=getattr(err, "http_status", 422))
    return _counter(request, regs, done="closed")


# ----------------------------------------------------------------------------------------------- the cardholder


def _holder_page(request: Request, actor: Actor, kiosk: bool, errors: FormErrors | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Response:
    db = db_of(request)
    assert actor.person_id is not None
    context: dict[str, Any] = {
        "regs": service.registrations_of(db, actor, actor.person_id), "kiosk": kiosk, "holder": actor,
        "profile": reads.profile(db, actor),
        "pl": portal_labels, "errors": errors or FormErrors(language_of(request)), "values": values or {},
        "done": DONE.get(request.query_params.get("done", "")), "base": "/kiosk" if kiosk else "/portal",
        "open_kinds": set(), **LABELS}
    context["open_kinds"] = {r.kind for r in context["regs"] if r.status == "open"}
    if kiosk:
        context["idle_seconds"] = portal.kiosk_idle_seconds(db)
    return render(request, "holder_employment.html", context, status=status)


def _register_own(request: Request, actor: Actor, form: Form, kiosk: bool) -> Response:
    base = "/kiosk" if kiosk else "/portal"
    try:
        service.register_own(db_of(request), actor, form.get("kind", ""), channel="kiosk" if kiosk else "portal")
    except DomainError as err:
        errors = FormErrors(language_of(request))
        _failed(errors, err)
        return _holder_page(request, actor, kiosk, errors, status=err.http_status)
    return RedirectResponse(f"{base}/employment?done=registered", status_code=303)


@router.get("/kiosk/employment", response_class=HTMLResponse)
def kiosk_page(request: Request, actor: KioskHolder) -> Response:
    return _holder_page(request, actor, kiosk=True)


@router.post("/kiosk/employment/register")
def kiosk_register(request: Request, actor: KioskHolder, form: Form) -> Response:
    return _register_own(request, actor, form, kiosk=True)


@router.get("/portal/employment", response_class=HTMLResponse)
def portal_page(request: Request, actor: PortalHolder) -> Response:
    return _holder_page(request, actor, kiosk=False)


@router.post("/portal/employment/register")
def portal_register(request: Request, actor: PortalHolder, form: Form) -> Response:
    return _register_own(request, actor, form, kiosk=False)


def _ratio_bp(raw: str) -> int | None:
    """The base as typed: a percentage of the average wage (60–300), kept to two decimals."""
    try:
        return round(float(raw) * 100)
    except ValueError:
        return None


@router.post("/portal/employment/flexible")
def portal_flexible(request: Request, actor: PortalHolder, form: Form) -> Response:
    """灵活就业人员参保登记 with the first 缴费申报."""
    errors = FormErrors(language_of(request))
    ratio = _ratio_bp(form.get("base_percent", ""))
    if ratio is None:
        _not_accepted(errors, "base_percent")
        return _holder_page(request, actor, False, errors, form, status=422)
    try:
        flexible.register_flexible(db_of(request), actor, FlexibleIn(
            pension=form.get("pension") == "1", medical=form.get("medical") == "1", base_ratio_bp=ratio))
    except (DomainError, ValidationError) as err:
        _failed(errors, err)
        return _holder_page(request, actor, False, errors, form, status=getattr(err, "http_status", 422))
    return RedirectResponse("/portal/employment?done=flexible", status_code=303)


@router.post("/portal/employment/declare")
def portal_declare(request: Request, actor: PortalHolder, form: Form) -> Response:
    """缴费申报: a new base from a month on."""
    errors = FormErrors(language_of(request))
    ratio = _ratio_bp(form.get("declare_percent", ""))
    if ratio is None:
        _not_accepted(errors, "declare_percent")
        return _holder_page(request, actor, False, errors, form, status=422)
    try:
        flexible.declare_base(db_of(request), actor, DeclarationIn(base_ratio_bp=ratio,
                                                                   from_period=form.get("from_period", "")))
    except (DomainError, ValidationError) as err:
        _failed(errors, err)
        return _holder_page(request, actor, False, errors, form, status=getattr(err, "http_status", 422))
    return RedirectResponse("/portal/employment?done=declared", status_code=303)
