"""异地就医备案 and cross-region settlement figures (docs/cross-region.md): the counter files a registration for
a person found by ID number (``/counter/remote``), the holder files and sees their own (``/portal/remote``), the
dashboard shows remote settlements in and out and the clearing positions (``/dashboard/remote``). Each page
calls one service function, which authorises and audits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from sscard.errors import DomainError
from sscard.remote import service
from sscard.remote.config import RemoteSettings
from sscard.remote.models import KIND_NAMES
from sscard.remote.regions import city_name, treating_city_choices
from sscard.remote.schemas import RegistrationIn
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import PortalHolder
from sscard.web.i18n import N_, language_of
from sscard.web.pages import Form, WebActor, db_of, render

router = APIRouter(include_in_schema=False)
KINDS = [(code, name) for code, name in KIND_NAMES.items()]
STATUS = {"active": N_("Active"), "cancelled": N_("Cancelled")}


def _request(form: dict[str, str], person_id: int) -> RegistrationIn:
    documents = [d.strip() for d in form.get("documents", "").split(",") if d.strip()]
    return RegistrationIn.model_validate({
        "person_id": person_id, "kind": form.get("kind", ""), "treating_region": form.get("treating_region", ""),
        "starts_on": form.get("starts_on", ""), "ends_on": form.get("ends_on") or None, "documents": documents})


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    language = language_of(request)
    return render(request, template, {
        "kinds": KINDS, "status_names": STATUS, "values": {}, "errors": FormErrors(language),
        "cities": treating_city_choices(RemoteSettings().region, language),
        "city_name": lambda code: city_name(code, language), **context}, status=status)


def _confirmed(form: dict[str, str]) -> bool:
    return form.get("confirmed") == "yes"


def _failed(errors: FormErrors, err: DomainError | ValidationError) -> None:
    if isinstance(err, ValidationError):
        errors.add_validation(err)
    else:
        errors.add_domain(err, {err.code: GENERAL})


@router.get("/counter/remote", response_class=HTMLResponse)
def counter_page(request: Request, actor: WebActor) -> Response:
    return _page(request, "counter_remote.html", {"regs": None})


@router.post("/counter/remote")
def counter_register(request: Request, actor: WebActor, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "id_number")
    errors.choice(form, "kind", list(KIND_NAMES))
    errors.required(form, "treating_region")
    errors.required(form, "starts_on")
    if errors:
        return _page(request, "counter_remote.html", {"regs": None, "errors": errors, "values": form}, 422)
    db = db_of(request)
    try:
        person_id = service.person_by_id_number(db, actor, form["id_number"])
        done = service.register(db, actor, _request(form, person_id))
        regs = service.list_registrations(db, actor, person_id)
    except (DomainError, ValidationError) as err:
        _failed(errors, err)
        return _page(request, "counter_remote.html", {"regs": None, "errors": errors, "values": form},
                     getattr(err, "http_status", 422))
    return _page(request, "counter_remote.html", {"regs": regs, "done": done})


@router.post("/counter/remote/{reg_no}/cancel")
def counter_cancel(request: Request, actor: WebActor, form: Form, reg_no: str) -> Response:
    """撤销备案 at the counter: a confirmation first, then the cancellation sent to the treating city."""
    db = db_of(request)
    try:
        person_id = service.person_of_registration(db, actor, reg_no)
        cancelled = service.cancel_registration(db, actor, reg_no) if _confirmed(form) else None
        regs = service.list_registrations(db, actor, person_id)
    except DomainError as err:
        errors = FormErrors(language_of(request))
        _failed(errors, err)
        return _page(request, "counter_remote.html", {"regs": None, "errors": errors}, err.http_status)
    confirm = None if cancelled else next((r for r in regs if r.reg_no == reg_no and r.status == "active"), None)
    return _page(request, "counter_remote.html", {"regs": regs, "cancelled": cancelled, "confirm": confirm})


@router.get("/portal/remote", response_class=HTMLResponse)
def holder_page(request: Request, actor: PortalHolder) -> Response:
    assert actor.person_id is not None
    regs = service.list_registrations(db_of(request), actor, actor.person_id)
    return _page(request, "portal_remote.html", {"regs": regs})


@router.post("/portal/remote")
def holder_register(request: Request, actor: PortalHolder, form: Form) -> Response:
    assert actor.person_id is not None
    errors = FormErrors(language_of(request))
    errors.choice(form, "kind", list(KIND_NAMES))
    errors.required(form, "treating_region")
    errors.required(form, "starts_on")
    db = db_of(request)
    done = None
    if not errors:
        try:
            done = service.register(db, actor, _request(form, actor.person_id))
        except (DomainError, ValidationError) as err:
            _failed(errors, err)
    regs = service.list_registrations(db, actor, actor.person_id)
    status = 422 if errors else 200
    return _page(request, "portal_remote.html", {"regs": regs, "done": done, "errors": errors,
                                                 "values": form if errors else {}}, status)


@router.post("/portal/remote/{reg_no}/cancel")
def holder_cancel(request: Request, actor: PortalHolder, form: Form, reg_no: str) -> Response:
    """The holder cancels their own registration, after a confirmation."""
    assert actor.person_id is not None
    db = db_of(request)
    regs = service.list_registrations(db, actor, actor.person_id)
    mine = next((r for r in regs if r.reg_no == reg_no and r.status == "active"), None)
    if mine is None:
        return RedirectResponse("/portal/remote", status_code=303)
    if not _confirmed(form):
        return _page(request, "portal_remote.html", {"regs": regs, "confirm": mine})
    cancelled = service.cancel_registration(db, actor, reg_no)
    return _page(request, "portal_remote.html", {"regs": service.list_registrations(db, actor, actor.person_id),
                                                 "cancelled": cancelled})


@router.get("/dashboard/remote", response_class=HTMLResponse)
def dashboard(request: Request, actor: WebActor) -> Response:
    return _page(request, "dashboard_remote.html", {"figures": service.figures(db_of(request), actor)})
