"""The move from the old medical cards, for the supervisor and the fund accountant: each imported legacy card
file with its reconciliation (old total = carried + queued, to the fen; CSV and PDF), the transition window,
and the exceptions queue with its resolution. Each page calls one service of ``sscard.transition``."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard.access import Actor, Permission
from sscard.errors import DomainError
from sscard.money import yuan
from sscard.transition import report as report_files
from sscard.transition import service as transition
from sscard.transition.errors import LegacyReportFontMissing
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.i18n import N_, language_of
from sscard.web.pages import Form, WebActor, db_of, error_page, render, require

router = APIRouter(include_in_schema=False)


def _page(request: Request, actor: Actor, errors: FormErrors | None = None, failed: str = "",
          status: int = 200) -> HTMLResponse:
    db = db_of(request)
    found = transition.imports(db, actor)
    reports = [transition.report(db, actor, imp.id) for imp in found]
    queue = transition.exceptions(db, actor, None, 100)
    return render(request, "transition.html", {
        "reports": reports, "queue": queue, "window": transition.window(db, actor), "yuan": yuan,
        "import_ids": {imp.file_id: imp.id for imp in found},
        "errors": errors or FormErrors(language_of(request)), "failed": failed,
        "done": request.query_params.get("done", ""), "seq": request.query_params.get("seq", "")},
        status=status)


@router.get("/transition", response_class=HTMLResponse)
def overview(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.TRANSITION_READ)
    return _page(request, actor)


@router.get("/transition/{import_id}/report.csv")
def report_csv(request: Request, actor: WebActor, import_id: int) -> Response:
    require(actor, Permission.TRANSITION_READ)
    found = transition.report(db_of(request), actor, import_id)
    return Response(report_files.report_csv(found), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="legacy-{import_id}.csv"'})


@router.get("/transition/{import_id}/report.pdf")
def report_pdf(request: Request, actor: WebActor, import_id: int) -> Response:
    require(actor, Permission.TRANSITION_READ)
    found = transition.report(db_of(request), actor, import_id)
    try:
        body = report_files.report_pdf(found, language_of(request))
    except LegacyReportFontMissing as err:
        return error_page(request, err.http_status, N_("PDF not available"),
                          N_("No Chinese font is installed for PDF reports; download the CSV instead."), err.code)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="legacy-{import_id}.pdf"'})


@router.post("/transition/{import_id}/lines/{line_no}")
def resolve(request: Request, actor: WebActor, form: Form, import_id: int, line_no: int) -> Response:
    require(actor, Permission.TRANSITION_RESOLVE)
    errors = FormErrors(language_of(request))
    errors.required(form, "id_number")
    failed = f"{import_id}:{line_no}"
    if errors:
        return _page(request, actor, errors, failed, status=422)
    try:
        out = transition.resolve(db_of(request), actor, import_id, line_no, form["id_number"])
    except DomainError as err:
        errors.add_domain(err, {err.code: GENERAL})
        return _page(request, actor, errors, failed, status=err.http_status)
    return RedirectResponse("/transition?" + urlencode({"done": out.legacy_card_no_masked, "seq": out.audit_seq}),
                            status_code=303)
