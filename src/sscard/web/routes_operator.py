"""Operator pages beyond the person: the data-comparison exceptions queue (resolve: take the register's
value, accept a flag, reject, send back), production batches, enrolment of the optional TOTP factor, and the
login locks a supervisor lifts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor, Permission
from sscard.auth import service as auth
from sscard.auth import totp
from sscard.errors import DomainError
from sscard.production import batches
from sscard.production import service as production
from sscard.production.schemas import ExceptionOut, Resolution
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.i18n import N_, language_of
from sscard.web.pages import Form, WebActor, db_of, error_page, render, require

router = APIRouter(include_in_schema=False)


def resolutions(exc: ExceptionOut) -> list[str]:
    """The decisions that make sense for this exception (the service refuses the others anyway)."""
    return [r.value for r in production.resolutions_for(exc.field or None, exc.register_value, exc.reason_code)]


def _exceptions_page(request: Request, actor: Actor, errors: FormErrors | None = None, failed_id: int = 0,
                     values: dict[str, str] | None = None, status: int = 200) -> Response:
    found = production.review_queue(db_of(request), actor, limit=200)
    params = request.query_params
    result: dict[str, Any] | None = None
    if params.get("done"):
        result = {"id": params.get("done"), "resolution": params.get("resolution", ""), "seq": params.get("seq"),
                  "record_status": params.get("record_status", "")}
    return render(request, "exceptions.html", {
        "rows": [(r, resolutions(r.exception)) for r in found], "result": result, "failed_id": failed_id,
        "errors": errors or FormErrors(language_of(request)), "values": values or {}}, status=status)


@router.get("/counter/exceptions", response_class=HTMLResponse)
def exceptions(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.PRODUCTION_RESOLVE)
    return _exceptions_page(request, actor)


@router.post("/counter/exceptions/{exception_id}")
def resolve(request: Request, actor: WebActor, form: Form, exception_id: int) -> Response:
    require(actor, Permission.PRODUCTION_RESOLVE)
    errors = FormErrors(language_of(request))
    errors.choice(form, "resolution", [r.value for r in Resolution])
    if not errors:
        db = db_of(request)
        try:
            out = production.resolve_exception(db, actor, exception_id, Resolution(form["resolution"]))
        except DomainError as err:
            errors.add_domain(err, {err.code: "resolution" if err.code == "RESOLUTION_INVALID" else GENERAL})
            return _exceptions_page(request, actor, errors, exception_id, form, status=err.http_status)
        query = urlencode({"done": exception_id, "resolution": form["resolution"], "seq": out.audit_seq,
                           "record_status": out.record_status})
        return RedirectResponse(f"/counter/exceptions?{query}", status_code=303)
    return _exceptions_page(request, actor, errors, exception_id, form, status=422)


@router.get("/counter/batches", response_class=HTMLResponse)
def batch_list(request: Request, actor: WebActor,
               stage: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    require(actor, Permission.PRODUCTION_BATCH)
    db = db_of(request)
    found = batches.list_batches(db, actor, stage=stage or None, limit=200)
    return render(request, "batches.html", {"batches": found, "stage": stage or "",
                                            "banks": batches.bank_names(db, actor)})


@router.get("/counter/batches/{batch_no}", response_class=HTMLResponse)
def batch_detail(request: Request, actor: WebActor, batch_no: str) -> Response:
    """One batch: its figures and the cards the bank or the card maker returned as failed, with their holders."""
    require(actor, Permission.PRODUCTION_BATCH)
    db = db_of(request)
    try:
        batch = batches.get_batch(db, actor, batch_no)
        failures = batches.batch_failures(db, actor, batch_no)
    except DomainError:
        return error_page(request, 404, N_("Not found"), N_("No such production batch."))
    return render(request, "batch.html", {"b": batch, "failures": failures, "banks": batches.bank_names(db, actor)})


# ------------------------------------------------------------------------------------------------ TOTP


def _totp_page(request: Request, actor: Actor, errors: FormErrors | None = None, enrolment: Any = None,
               status: int = 200) -> Response:
    return render(request, "totp.html", {
        "state": totp.state(db_of(request), actor.operator_id), "enrolment": enrolment,
        "done": request.query_params.get("done"), "errors": errors or FormErrors(language_of(request))},
        status=status)


@router.get("/account/totp", response_class=HTMLResponse)
def totp_page(request: Request, actor: WebActor) -> Response:
    return _totp_page(request, actor)


@router.post("/account/totp/start", response_class=HTMLResponse)
def totp_start(request: Request, actor: WebActor, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    try:
        enrolment = totp.start_enrolment(db_of(request), actor)
    except DomainError as err:
        errors.add_domain(err, {err.code: GENERAL})
        return _totp_page(request, actor, errors, status=err.http_status)
    return _totp_page(request, actor, enrolment=enrolment)


@router.post("/account/totp/{step}")
def totp_confirm(request: Request, actor: WebActor, form: Form, step: str) -> Response:
    if step not in ("confirm", "disable"):
        return RedirectResponse("/account/totp", status_code=303)
    errors = FormErrors(language_of(request))
    errors.required(form, "code")
    if not errors:
        try:
            (totp.confirm_enrolment if step == "confirm" else totp.disable)(db_of(request), actor, form["code"])
        except DomainError as err:
            errors.add_domain(err, {"TOTP_INVALID": "code", "TOTP_NOT_ENROLLED": GENERAL})
        else:
            return RedirectResponse(f"/account/totp?done={step}", status_code=303)
    return _totp_page(request, actor, errors, status=422)



# ------------------------------------------------------------------------------------------ login locks


def _locks_page(request: Request, actor: Actor, errors: FormErrors | None = None, status: int = 200) -> Response:
    return render(request, "locks.html", {
        "locks": auth.list_locks(db_of(request), actor), "done": request.query_params.get("done"),
        "errors": errors or FormErrors(language_of(request))}, status=status)


@router.get("/account/locks", response_class=HTMLResponse)
def locks_page(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.OPERATOR_UNLOCK)
    return _locks_page(request, actor)


@router.post("/account/locks/unlock")
def unlock(request: Request, actor: WebActor, form: Form) -> Response:
    require(actor, Permission.OPERATOR_UNLOCK)
    errors = FormErrors(language_of(request))
    errors.required(form, "name")
    errors.choice(form, "kind", ["account", "address"])
    if not errors:
        try:
            if form["kind"] == "account":
                auth.unlock_operator(db_of(request), actor, form["name"])
            else:
                auth.unlock_address(db_of(request), actor, form["name"])
        except DomainError as err:
            errors.add_domain(err, {err.code: GENERAL})
            return _locks_page(request, actor, errors, status=err.http_status)
        return RedirectResponse("/account/locks?" + urlencode({"done": form["name"]}), status_code=303)
    return _locks_page(request, actor, errors, status=422)
