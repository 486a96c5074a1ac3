"""Performing card operations from the counter's person page; failures come back next to the form's fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from sscard.access import Actor, Permission
from sscard.cards import counter as card_counter
from sscard.cards import service as cards
from sscard.cards.operations import PERMISSION, Operation
from sscard.cards.states import (
    Business,
    CancelReason,
    ExchangeReason,
    ProductionStatus,
    Source,
)
from sscard.db import Database
from sscard.errors import DomainError
from sscard.portal import service as portal
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.web import labels, security
from sscard.web.forms import FormErrors
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, WebActor, db_of, error_page, render, require
from sscard.web.person import EXPIRED, person_page, person_url

router = APIRouter(include_in_schema=False)

SECRET_FIELDS = ("pin", "new_pin", "password", "query_password", "csrf_token")
QUERY_PASSWORD_FIELD = {"QUERY_PASSWORD_INVALID": "query_password"}


def _check(form: dict[str, str], action: str, errors: FormErrors) -> None:
    if action == "apply_exchange":
        errors.choice(form, "reason", [r.value for r in ExchangeReason])
    elif action == "cancel":
        errors.choice(form, "reason", labels.CANCEL_CHOICES)
    elif action == "production":
        errors.choice(form, "to_status", [s.value for s in ProductionStatus])
    elif action == "activate":
        errors.required(form, "pin")
    elif action == "portal_password":
        errors.required(form, "query_password")
    if action in ("activate", "portal_password") and form.get("query_password"):
        # Checked with the form's other fields, so that every mistake shows at once (the service checks it too).
        try:
            portal.check_query_password(form["query_password"])
        except DomainError as err:
            errors.add_domain(err, QUERY_PASSWORD_FIELD)


def _perform(db: Database, actor: Actor, id_number: str, card_no: str, action: str,
             form: dict[str, str]) -> dict[str, Any]:
    """Run the use case on the card of the person on the page; return what the result banner shows (and where
    its audit record is)."""
    cards.require_holder(db, actor, card_no, id_number)
    if action in ("apply_replacement", "apply_exchange"):
        applied = (cards.apply_replacement(db, actor, card_no) if action == "apply_replacement" else
                   cards.apply_exchange(db, actor, card_no, ExchangeReason(form["reason"])))
        return {"card": applied.card.card_no, "app": applied.application.id, "seq": applied.audit_seq}
    if action == "production":
        card = cards.advance_production(db, actor, card_no, ProductionStatus(form["to_status"]),
                                        outlet_code=form.get("outlet_code") or None)
    elif action == "pickup":
        card = cards.pick_up(db, actor, card_no)
    elif action == "activate" and form.get("query_password"):
        card = portal.activate_with_password(db, actor, card_no, form["pin"], form["query_password"])
    elif action == "activate":
        card = cards.activate(db, actor, card_no, form["pin"])
    elif action == "portal_password":
        return {"card": card_no, "seq": portal.set_query_password(db, actor, card_no, form["query_password"])}
    elif action == "temp_loss":
        card = cards.report_temporary_loss(db, actor, card_no)
    elif action == "formal_loss":
        card = cards.report_formal_loss(db, actor, card_no)
    elif action == "lift_loss":
        card = cards.lift_loss(db, actor, card_no)
    elif action == "unlock":
        card = cards.unlock(db, actor, card_no, form.get("new_pin") or None)
    else:
        card = cards.cancel(db, actor, card_no, CancelReason(form["reason"]))
    return {"card": card.card_no, "seq": card.audit_seq}


def _failed(request: Request, actor: Actor, form: dict[str, str], errors: FormErrors, card_no: str, action: str,
            status: int) -> Response:
    kept = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
    return person_page(request, actor, form.get("ref", ""), errors, (card_no, action), kept, status)


def _confirm_page(request: Request, actor: Actor, id_number: str, card_no: str, action: str,
                  form: dict[str, str]) -> Response:
    """The step before an operation that cannot simply be taken back (注销, 正式挂失, 临时挂失, 补卡): who, which
    card, what happens, and the fee, with a button that sends the same form again, confirmed. A page rather
    than a script's dialog: it works without JavaScript and a screen reader reads it like any page."""
    db = db_of(request)
    language = language_of(request)
    cards.require_holder(db, actor, card_no, id_number)
    person = registry.get(db, actor, id_number)
    fee = card_counter.fee_before(db, actor, Business.REPLACEMENT) if action == "apply_replacement" else None
    reason = ""
    if action == "cancel":
        reason = gettext(language, labels.CANCEL_REASON[form["reason"]])
    kept = {k: v for k, v in form.items() if k not in SECRET_FIELDS and k != "confirmed"}
    return render(request, "confirm.html", {
        "action": action, "card_no": card_no, "person": person, "id_masked": idnumber.mask(person.id_number),
        "fee": fee, "reason": reason, "fields": kept, "back": person_url(id_number)})


@router.post("/counter/cards/{card_no}/{action}")
def card_action(request: Request, actor: WebActor, form: Form, card_no: str, action: str) -> Response:
    if action not in PERMISSION:
        return error_page(request, 404, N_("Not found"), N_("No such operation."))
    require(actor, PERMISSION[Operation(action)])
    id_number = security.open_person_ref(form.get("ref", ""))
    if id_number is None:
        return error_page(request, 404, N_("Not found"), EXPIRED)
    errors = FormErrors(language_of(request))
    _check(form, action, errors)
    if not errors and action in labels.CONFIRM_ACTIONS and form.get("confirmed") != "yes":
        try:
            return _confirm_page(request, actor, id_number, card_no, action, form)
        except DomainError as err:
            errors.add_domain(err, QUERY_PASSWORD_FIELD)
            return _failed(request, actor, form, errors, card_no, action, err.http_status)
    if not errors:
        try:
            result = _perform(db_of(request), actor, id_number, card_no, action, form)
        except DomainError as err:
            errors.add_domain(err, QUERY_PASSWORD_FIELD)
            return _failed(request, actor, form, errors, card_no, action, err.http_status)
        return RedirectResponse(person_url(id_number, done=action, **result), status_code=303)
    return _failed(request, actor, form, errors, card_no, action, 422)


@router.post("/counter/apply")
def apply_new(request: Request, actor: WebActor, form: Form) -> Response:
    require(actor, Permission.CARD_APPLY)
    id_number = security.open_person_ref(form.get("ref", ""))
    if id_number is None:
        return error_page(request, 404, N_("Not found"), EXPIRED)
    errors = FormErrors(language_of(request))
    errors.choice(form, "source", [s.value for s in Source])
    if form.get("source") == Source.EMPLOYER.value:
        errors.required(form, "employer_uscc")
    if not errors:
        db = db_of(request)
        try:
            applied = cards.apply_new(db, actor, id_number, Source(form["source"]),
                                      form.get("employer_uscc") or None)
        except DomainError as err:
            errors.add_domain(err)
            return _failed(request, actor, form, errors, "", "apply_new", err.http_status)
        return RedirectResponse(person_url(id_number, done="apply_new", card=applied.card.card_no,
                                           app=applied.application.id, seq=applied.audit_seq), status_code=303)
    return _failed(request, actor, form, errors, "", "apply_new", 422)
