"""The e-card on the holder's phone (/portal/ecard, laid out for a 390 px screen): activation, the dynamic QR
code that the page's script refreshes before it expires, the card's and the e-card's status, and the family
members (added with the member's own card number and query password as consent). The kiosk logs in with a
scanned code; the counter's search takes one too (routes_counter)."""

from __future__ import annotations

from typing import Annotated, Any, cast

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor
from sscard.ecard import service as ecard
from sscard.ecard.errors import EcardFamilyInvalid
from sscard.ecard.schemas import IssuedCode, Relation
from sscard.errors import DomainError
from sscard.portal import ecards, reads
from sscard.portal import service as portal
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.holder import PortalHolder
from sscard.web.i18n import N_, language_of
from sscard.web.pages import Form, db_of, render
from sscard.web.routes_portal import done_url
from sscard.web.security import client_address, set_holder_session

router = APIRouter(include_in_schema=False)
RELATIONS: dict[str, str] = {"parent": N_("Parent"), "child": N_("Child"), "spouse": N_("Spouse"),
                             "grandparent": N_("Grandparent"), "grandchild": N_("Grandchild")}
REFRESH_MARGIN = 10  # seconds before expiry the page asks for a new code
DONE = {"activated": N_("Your electronic social security card is activated."),
        "family": N_("The family member is added.")}


def qr_image(text: str) -> str:
    """The code as an SVG data URI (the page's CSP allows data: images), error correction M."""
    return segno.make_qr(text, error="m").svg_data_uri(scale=6, border=4)


def _code_json(issued: IssuedCode) -> dict[str, Any]:
    return {"image": qr_image(issued.text), "issued_at": issued.issued_at, "expires_at": issued.expires_at,
            "refresh_in": max(1, issued.validity_seconds - REFRESH_MARGIN)}


def _page(request: Request, actor: Actor, errors: FormErrors | None = None, values: dict[str, str] | None = None,
          status: int = 200) -> Response:
    db = db_of(request)
    assert actor.person_id is not None
    mine = ecard.status_of(db, actor, actor.person_id)
    code = None
    if mine is not None and mine.status == "active":
        code = _code_json(ecard.issue_code(db, actor, actor.person_id))
    done = request.query_params.get("done")
    return render(request, "ecard.html", {
        "profile": reads.profile(db, actor), "holder": actor, "ecard": mine, "code": code,
        "family": ecard.family_of(db, actor), "relations": RELATIONS, "done": DONE.get(done or ""),
        "seq": request.query_params.get("seq"), "errors": errors or FormErrors(language_of(request)),
        "values": values or {}}, status=status)


@router.get("/portal/ecard", response_class=HTMLResponse)
def page(request: Request, actor: PortalHolder) -> Response:
    return _page(request, actor)


@router.get("/portal/ecard/code")
def code(request: Request, actor: PortalHolder,
         member: Annotated[int | None, Query(alias="for", ge=1)] = None) -> Response:
    """A fresh code (JSON: the QR image, its times, when to ask again) for the holder or a family member."""
    assert actor.person_id is not None
    try:
        issued = ecard.issue_code(db_of(request), actor, member or actor.person_id)
    except DomainError as err:
        return JSONResponse({"error": err.to_dict(language_of(request))}, status_code=err.http_status,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse(_code_json(issued), headers={"Cache-Control": "no-store"})


@router.post("/portal/ecard/activate")
def activate(request: Request, actor: PortalHolder, form: Form) -> Response:
    try:
        ecards.activate_ecard(db_of(request), actor)
    except DomainError as err:
        errors = FormErrors(language_of(request))
        errors.add_domain(err, {err.code: GENERAL})
        return _page(request, actor, errors, status=err.http_status)
    return RedirectResponse(done_url("/portal/ecard", "activated"), status_code=303)


@router.post("/portal/ecard/family")
def add_family(request: Request, actor: PortalHolder, form: Form) -> Response:
    errors = FormErrors(language_of(request))
    errors.required(form, "member", "member_password", "relation")
    relation = form.get("relation", "")
    if not errors:
        try:
            if relation not in RELATIONS:
                raise EcardFamilyInvalid("unknown relation")
            seq = ecards.add_family_member(db_of(request), actor, form["member"], form["member_password"],
                                           cast(Relation, relation), address=client_address(request))
        except DomainError as err:
            errors.add_domain(err, {err.code: GENERAL, "PORTAL_LOGIN_FAILED": "member_password"})
        else:
            return RedirectResponse(done_url("/portal/ecard", "family", seq), status_code=303)
    return _page(request, actor, errors, {"member": form.get("member", ""), "relation": relation}, status=422)


@router.post("/kiosk/ecard")
def kiosk_login(request: Request, form: Form) -> Response:
    """扫码登录: the kiosk's scanner types the code into the start page's field."""
    try:
        issued = portal.login_by_ecard_code(db_of(request), form.get("code", "")[:400])
    except DomainError as err:
        errors = FormErrors(language_of(request))
        errors.add_domain(err, {err.code: GENERAL})
        return render(request, "kiosk_start.html", {"kiosk": True, "errors": errors,
                                                    "has_reader": getattr(request.app.state, "kiosk_reader", None)
                                                    is not None}, status=err.http_status)
    response = RedirectResponse("/kiosk/home", status_code=303)
    set_holder_session(response, request, issued.token, issued.expires_at.timestamp())
    return response
