"""Counter workstation (柜面): find and register persons, the person's page with cards, receipts."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from sscard.access import Permission
from sscard.cards import counter as card_counter
from sscard.cards import receipts
from sscard.cards import service as cards
from sscard.config import get_settings
from sscard.ecard import payload as ecard_payload
from sscard.ecard import service as ecard
from sscard.errors import DomainError
from sscard.pdffont import PdfFontMissing
from sscard.production import service as production
from sscard.registry import ethnicity, idnumber
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.terminal.station import KioskReader, NoCard
from sscard.web import labels, security
from sscard.web.forms import FormErrors
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, WebActor, db_of, error_page, render, require
from sscard.web.person import person_page, person_url
from sscard.web.receipt_pdf import receipt_pdf

router = APIRouter(include_in_schema=False)
_ID_LIKE = re.compile(r"^[0-9]{15}$|^[0-9]{17}[0-9Xx]$")
_ALMOST_ID = re.compile(r"^[0-9]{10,20}[Xx]?$")  # digits but not an ID number's 15 or 18: say so, not "nobody"
UNREADABLE = N_("The card could not be read, or it is not a card of this system.")


@router.get("/counter", response_class=HTMLResponse)
def home(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.PERSON_READ)
    return render(request, "counter.html", {"q": "", "results": None, "errors": FormErrors(language_of(request))})


@router.post("/counter/search", response_class=HTMLResponse)
def search(request: Request, actor: WebActor, form: Form) -> Response:
    """An ID number or a scanned e-card code opens the person; anything else searches names. htmx asks for the
    results only.

    A POST form: the query (often a full ID number) travels in the body, never in a URL, a log line or the
    browser's history. A failed query answers htmx with 200 and the error in the fragment (htmx swaps no 4xx
    response, so the previous results would stay on screen as if they answered the new query); the full page
    keeps its 422."""
    require(actor, Permission.PERSON_READ)
    errors = FormErrors(language_of(request))
    partial = request.headers.get("HX-Request") == "true"
    results: list[dict[str, object]] | None = None
    q = form.get("q", "").strip()[:400]  # the field's maxlength (an e-card code is 136 characters)
    target: str | None = None
    if q.startswith(ecard_payload.PREFIX):  # a scanned e-card code finds its holder
        try:
            target = person_url(ecard.find_by_code(db_of(request), actor, q).id_number)
        except DomainError as err:
            errors.add_domain(err, {err.code: "q"})
        q = ""  # the code is not echoed back into the page
    elif _ID_LIKE.match(q):
        try:
            target = person_url(registry.get(db_of(request), actor, q).id_number)
        except DomainError as err:
            errors.add_domain(err, {"PERSON_NOT_FOUND": "q", "ID_FORMAT_INVALID": "q",
                                    "ID_CHECK_DIGIT_INVALID": "q", "ID_BIRTH_DATE_INVALID": "q",
                                    "ID_REGION_UNKNOWN": "q"})
    elif card_counter.looks_like_card_no(q):  # 社会保障卡卡号 (9 characters, the check character verified)
        try:
            target = person_url(card_counter.holder_of_card(db_of(request), actor, q).id_number)
        except DomainError as err:
            errors.add_domain(err, {err.code: "q"})
    elif _ALMOST_ID.match(q):
        errors.add("q", gettext(language_of(request), N_(
            "An ID number has 18 characters (or 15 on old cards); this one has %(n)s. Check the number and try "
            "again."), n=len(q)))
    elif q:
        db = db_of(request)
        found = registry.search(db, actor, name=q, limit=50)
        latest = card_counter.latest_cards(db, actor, [p.id for p in found])
        results = [{"name": p.name, "id_masked": idnumber.mask(p.id_number), "region_code": p.region_code,
                    "sex": p.sex, "birth_year": p.birth_date.year, "card": latest.get(p.id),
                    "url": person_url(p.id_number)} for p in found]
    if target is not None:
        if partial:
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = {"q": q, "results": results, "errors": errors}
    if partial:
        return render(request, "counter_results.html", context)
    return render(request, "counter.html", context, status=422 if errors else 200)


def _register_page(request: Request, values: dict[str, str], errors: FormErrors, status: int = 200) -> Response:
    return render(request, "register.html", {"values": values, "errors": errors,
                                             "ethnicities": ethnicity.choices(language_of(request))}, status=status)


@router.post("/counter/read-card")
def read_card(request: Request, actor: WebActor, form: Form) -> Response:
    """读卡: the card on the desk reader opens its holder's page (the chip's ID number must match the card's
    record in the database, so a forged or foreign card opens nothing)."""
    require(actor, Permission.CARD_READ)
    errors = FormErrors(language_of(request))
    reader: KioskReader | None = getattr(request.app.state, "counter_reader", None)
    if reader is None:
        errors.add("card", gettext(language_of(request), N_("No card reader is connected to this counter.")))
    else:
        try:
            read = reader.read_card()
            card = cards.get_card(db_of(request), actor, read.card_no)
            person = registry.get(db_of(request), actor, read.id_number)
        except (NoCard, DomainError):
            person = None
        if person is not None and card.person_id == person.id:
            return RedirectResponse(person_url(person.id_number), status_code=303)
        errors.add("card", gettext(language_of(request), UNREADABLE))
    return render(request, "counter.html", {"q": "", "results": None, "errors": errors}, status=422)


@router.get("/counter/register", response_class=HTMLResponse)
def register_form(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.PERSON_WRITE)
    return _register_page(request, {"ethnicity": "01"}, FormErrors(language_of(request)))


@router.post("/counter/register", response_class=HTMLResponse)
def register(request: Request, actor: WebActor, form: Form) -> Response:
    require(actor, Permission.PERSON_WRITE)
    errors = FormErrors(language_of(request))
    errors.required(form, "id_number", "name")
    errors.choice(form, "region_code", [code for code, _ in labels.divisions("zh_CN")])
    if not errors:
        try:
            person = registry.register(db_of(request), actor, PersonIn(
                id_number=form["id_number"], name=form["name"], region_code=form["region_code"],
                phone=form.get("phone") or None, ethnicity=form.get("ethnicity") or "01"))
        except ValidationError as err:
            errors.add_validation(err)
        except DomainError as err:
            errors.add_domain(err)
        else:
            return RedirectResponse(person_url(person.id_number, done="register", seq=person.audit_seq),
                                    status_code=303)
    return _register_page(request, form, errors, status=422)


@router.get("/counter/person", response_class=HTMLResponse)
def person(request: Request, actor: WebActor, ref: Annotated[str, Query(max_length=400)] = "") -> Response:
    require(actor, Permission.PERSON_READ)
    return person_page(request, actor, ref)


@router.get("/counter/person/photo")
def person_photo(request: Request, actor: WebActor, ref: Annotated[str, Query(max_length=400)] = "") -> Response:
    """The person's collected photo (the person page shows it), never cached by the browser."""
    require(actor, Permission.PERSON_READ)
    id_number = security.open_person_ref(ref)
    found = None if id_number is None else production.photo_image(db_of(request), actor, id_number,
                                                                    get_settings().photo_dir)
    if found is None:
        language = language_of(request)
        return error_page(request, 404, N_("Not found"), gettext(language, N_("No photo collected yet")))
    data, media_type = found
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.get("/counter/receipt/{application_id}", response_class=HTMLResponse)
def receipt(request: Request, actor: WebActor, application_id: int) -> Response:
    require(actor, Permission.CARD_READ)
    try:
        data = receipts.receipt(db_of(request), actor, application_id)
    except DomainError:
        return error_page(request, 404, N_("Not found"), N_("No receipt for this application."))
    return render(request, "receipt.html", {"r": data, "yuan": f"{data.amount_fen // 100}.{data.amount_fen % 100:02d}"})


@router.get("/counter/receipt/{application_id}/pdf")
def receipt_as_pdf(request: Request, actor: WebActor, application_id: int) -> Response:
    require(actor, Permission.CARD_READ)
    try:
        data = receipts.receipt(db_of(request), actor, application_id)
    except DomainError:
        return error_page(request, 404, N_("Not found"), N_("No receipt for this application."))
    try:
        body = receipt_pdf(data, language_of(request))
    except PdfFontMissing:
        return error_page(request, 503, N_("PDF not available"),
                          N_("No Chinese font is installed for PDF receipts; print the HTML receipt instead."))
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{data.receipt_no}.pdf"'})

