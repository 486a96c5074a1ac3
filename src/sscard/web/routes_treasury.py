"""The funds' bank accounts for the fund accountant (基金会计, the maker) and the supervisor (the checker): the
positions and accounts per fund and bank (deposits with their maturity), the movements awaiting approval (the
checker is never the maker, and confirms on a page of its own before the money moves), the reconciliation queue
with its suggested matches and the form to match, book or explain a line, statement upload, the daily balance
checks and the 余额调节表 downloads. Each page calls one service of ``sscard.treasury``."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from sscard import clock
from sscard.access import Actor, Permission
from sscard.errors import DomainError
from sscard.money import yuan
from sscard.treasury import report as files
from sscard.treasury import service
from sscard.treasury.errors import TreasuryReportFontMissing
from sscard.treasury.statements import MAX_BYTES
from sscard.web.forms import GENERAL, FormErrors
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import Form, WebActor, db_of, error_page, render, require

router = APIRouter(include_in_schema=False)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
KIND = {"collection": N_("Collection account (收入户)"), "payment": N_("Payment account (支出户)"),
        "special": N_("Finance special account (财政专户)"), "deposit": N_("Term deposit")}
FLOW = {"sweep": N_("Sweep to the special account"), "plan": N_("Transfer on a spending plan (用款计划)"),
        "placement": N_("Deposit placement"), "maturity": N_("Deposit maturity")}
FUND = {"pension": N_("Pension"), "medical": N_("Medical"), "unemployment": N_("Unemployment"),
        "work_injury": N_("Work injury"), "employment": N_("Maternity and employment")}
# Bank names, not codes, on the pages (the code stays in a title attribute); a bank outside this list shows its code.
BANK = {"ICBC": N_("Industrial and Commercial Bank of China"), "ABC": N_("Agricultural Bank of China"),
        "BOC": N_("Bank of China"), "CCB": N_("China Construction Bank"), "CGB": N_("China Guangfa Bank"),
        "QYRCB": N_("Qingyuan Rural Commercial Bank"), "BOCOM": N_("Bank of Communications"),
        "PSBC": N_("Postal Savings Bank of China")}
ACCOUNT_STATUS = {"proposed": N_("Awaiting approval"), "open": N_("Open"), "closed": N_("Closed"),
                  "rejected": N_("Sent back")}
INSTRUCTION_STATUS = {"proposed": N_("Awaiting approval"), "approved": N_("Approved"), "rejected": N_("Sent back")}
FORMAT = {"camt053": "camt.053", "csv": "CSV"}
CHECK = {"ok": N_("Agrees"), "explained": N_("Difference explained"), "unexplained": N_("Difference unexplained")}


def _fen(text: str) -> int | None:
    """Yuan as typed (``1234.56``) in fen; None when it is not an amount above zero."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    fen = value * 100
    if fen != fen.to_integral_value() or fen <= 0 or fen > 2**62:
        return None
    return int(fen)


def _page(request: Request, actor: Actor, errors: FormErrors | None = None, failed: str = "",
          status: int = 200, values: dict[str, str] | None = None) -> HTMLResponse:
    db = db_of(request)
    accounts = service.list_accounts(db, actor)
    statements = service.statements_of(db, actor)
    months = sorted({(s["account"], f"{m:%Y-%m}") for s in statements for m in (s["from"], s["to"])},
                    key=lambda x: (x[1], x[0]), reverse=True)
    return render(request, "treasury.html", {
        "positions": service.positions(db, actor), "accounts": accounts, "statements": statements,
        "pending": service.list_instructions(db, actor, "proposed"),
        "recent": service.list_instructions(db, actor, None, 20),
        "queue": service.queue(db, actor, None, 200), "checks": service.balance_checks(db, actor, limit=30),
        "months": months, "yuan": yuan, "mask": files.mask, "KIND": KIND, "FLOW": FLOW, "FUND": FUND,
        "CHECK": CHECK, "BANK": BANK, "ACCOUNT_STATUS": ACCOUNT_STATUS, "INSTRUCTION_STATUS": INSTRUCTION_STATUS,
        "FORMAT": FORMAT, "names": {a.code: a.name for a in accounts}, "today": clock.local_date(),
        "request_key": uuid.uuid4().hex, "errors": errors or FormErrors(language_of(request)),
        "failed": failed, "values": values or {}, "done": request.query_params.get("done", "")}, status=status)


def _done(message: str) -> RedirectResponse:
    return RedirectResponse("/treasury?" + urlencode({"done": message}), status_code=303)


@router.get("/treasury", response_class=HTMLResponse)
def overview(request: Request, actor: WebActor) -> Response:
    require(actor, Permission.TREASURY_READ)
    return _page(request, actor)


@router.post("/treasury/statements")
async def upload(request: Request, actor: WebActor, form: Form) -> Response:
    """A statement file (camt.053 or SSCSV1, signed) from the bank chosen on the form."""
    require(actor, Permission.TREASURY_PROPOSE)
    errors = FormErrors(language_of(request))
    errors.required(form, "bank")
    upload = (await request.form()).get("statement")
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_BYTES + 1)
    if not data:
        errors.add("statement", gettext(errors.language, N_("Please choose the statement file.")))
    if errors:
        return _page(request, actor, errors, "upload", status=422)
    try:
        result = await run_in_threadpool(service.import_statement, db_of(request), actor, data, form["bank"])
    except DomainError as err:
        errors.add_domain(err, {err.code: "statement"})
        return _page(request, actor, errors, "upload", status=err.http_status)
    return _done(gettext(errors.language, N_("Statement imported")) + f": {result.account_code}, "
                 f"{result.lines} / {result.matched} / {result.queued}")


@router.post("/treasury/instructions")
def propose(request: Request, actor: WebActor, form: Form) -> Response:
    """经办: a sweep or a 用款计划 transfer, awaiting another operator's approval."""
    require(actor, Permission.TREASURY_PROPOSE)
    errors = FormErrors(language_of(request))
    errors.choice(form, "kind", ("sweep", "plan"))
    errors.required(form, "from_code", "to_code", "amount", "request_key")
    amount = _fen(form.get("amount", ""))
    if amount is None and not errors.get("amount"):
        errors.add("amount", gettext(errors.language, N_("An amount in yuan above zero, at most two decimals.")))
    if errors or amount is None:
        return _page(request, actor, errors, "propose", status=422)
    try:
        made = service.propose(db_of(request), actor, form["kind"], form["from_code"], form["to_code"], amount,
                               form["request_key"], form.get("plan_no") or None, form.get("memo", ""))
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, "propose", status=err.http_status)
    return _done(gettext(errors.language, N_("Proposed, awaiting approval by another operator")) + f": "
                 f"{made.reference}")


def _rate_bp(text: str) -> int | None:
    """A yearly rate typed in per cent (``2.75``) in basis points (275); None unless 0-100 % in 0.01 % steps."""
    try:
        value = Decimal(text.strip().rstrip("%").strip()) * 100
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= 10_000:
        return None
    return int(value)


@router.post("/treasury/deposits")
def propose_placement(request: Request, actor: WebActor, form: Form) -> Response:
    """经办: a term deposit placed by tender result (bank, amount, rate, term; maturity = placement + term) from a
    财政专户, awaiting another operator's approval."""
    require(actor, Permission.TREASURY_PROPOSE)
    errors = FormErrors(language_of(request))
    errors.required(form, "special_code", "deposit_code", "bank", "certificate_no", "tender_ref", "principal",
                    "rate", "term_months", "placed_on", "request_key")
    principal, rate = _fen(form.get("principal", "")), _rate_bp(form.get("rate", ""))
    if principal is None and not errors.get("principal"):
        errors.add("principal", gettext(errors.language, N_("An amount in yuan above zero, at most two decimals.")))
    if rate is None and not errors.get("rate"):
        errors.add("rate", gettext(errors.language, N_("A yearly rate in per cent, e.g. 2.75.")))
    term = form.get("term_months", "")
    if not (term.isascii() and term.isdigit() and 0 < int(term) <= 120) and not errors.get("term_months"):
        errors.add("term_months", gettext(errors.language, N_("A term of 1 to 120 months.")))
    placed_on = None
    try:
        placed_on = dt.date.fromisoformat(form.get("placed_on", ""))
    except ValueError:
        if not errors.get("placed_on"):
            errors.add("placed_on", gettext(errors.language, N_("A date as YYYY-MM-DD.")))
    if errors or principal is None or rate is None or placed_on is None:
        return _page(request, actor, errors, "placement", status=422, values=form)
    try:
        made = service.propose_placement(db_of(request), actor, form["request_key"], form["special_code"],
                                         form["deposit_code"], form["certificate_no"], form["tender_ref"], principal,
                                         rate, int(term), placed_on, form["bank"])
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, "placement", status=err.http_status, values=form)
    return _done(gettext(errors.language, N_("Proposed, awaiting approval by another operator")) + f": "
                 f"{made.reference}")


@router.post("/treasury/deposits/maturity")
def propose_maturity(request: Request, actor: WebActor, form: Form) -> Response:
    """经办: a matured deposit back to its 财政专户 with the interest its terms earn, awaiting approval."""
    require(actor, Permission.TREASURY_PROPOSE)
    errors = FormErrors(language_of(request))
    errors.required(form, "deposit_code", "request_key")
    if errors:
        return _page(request, actor, errors, "maturity", status=422)
    try:
        made = service.propose_maturity(db_of(request), actor, form["request_key"], form["deposit_code"])
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, "maturity", status=err.http_status)
    return _done(gettext(errors.language, N_("Proposed, awaiting approval by another operator")) + f": "
                 f"{made.reference}")


def _instruction(request: Request, actor: Actor, instruction_id: int) -> service.InstructionView | None:
    return next((i for i in service.list_instructions(db_of(request), actor, "proposed", 1000)
                 if i.id == instruction_id), None)


@router.get("/treasury/instructions/{instruction_id}/approve", response_class=HTMLResponse)
def confirm(request: Request, actor: WebActor, instruction_id: int) -> Response:
    """The checker's confirmation page: what moves, from where to where, proposed by whom."""
    require(actor, Permission.TREASURY_APPROVE)
    found = _instruction(request, actor, instruction_id)
    if found is None:
        errors = FormErrors(language_of(request))
        errors.add(GENERAL, gettext(errors.language, N_("That instruction is not awaiting approval.")))
        return _page(request, actor, errors, status=404)
    accounts = {a.code: a for a in service.list_accounts(db_of(request), actor)}
    deposit = next((a for a in (accounts.get(found.to_code), accounts.get(found.from_code))
                    if a is not None and a.deposit is not None and found.kind in ("placement", "maturity")), None)
    return render(request, "treasury_confirm.html", {
        "i": found, "yuan": yuan, "FLOW": FLOW, "BANK": BANK, "names": {c: a.name for c, a in accounts.items()},
        "deposit": deposit, "own": found.proposed_by == actor.username})


@router.post("/treasury/instructions/{instruction_id}/approve")
def approve(request: Request, actor: WebActor, form: Form, instruction_id: int) -> Response:
    require(actor, Permission.TREASURY_APPROVE)
    errors = FormErrors(language_of(request))
    if form.get("confirmed") != "yes":
        return confirm(request, actor, instruction_id)
    try:
        done = service.approve(db_of(request), actor, instruction_id)
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, f"i{instruction_id}", status=err.http_status)
    return _done(gettext(errors.language, N_("Approved; the money has moved")) + f": {done.reference}")


@router.post("/treasury/instructions/{instruction_id}/reject")
def reject(request: Request, actor: WebActor, form: Form, instruction_id: int) -> Response:
    require(actor, Permission.TREASURY_APPROVE)
    errors = FormErrors(language_of(request))
    errors.required(form, "reason")
    if errors:
        return _page(request, actor, errors, f"i{instruction_id}", status=422)
    try:
        done = service.reject(db_of(request), actor, instruction_id, form["reason"])
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, f"i{instruction_id}", status=err.http_status)
    return _done(gettext(errors.language, N_("Sent back; nothing moved")) + f": {done.reference}")


@router.post("/treasury/queue/{line_id}")
def resolve(request: Request, actor: WebActor, form: Form, line_id: int) -> Response:
    """One queued line: ``match`` it to a transfer, ``charge`` / ``interest`` (book what the bank did alone),
    or ``explain`` it."""
    require(actor, Permission.TREASURY_PROPOSE)
    errors = FormErrors(language_of(request))
    errors.choice(form, "action", ("match", "charge", "interest", "explain"))
    action, note = form.get("action", ""), form.get("note", "")
    if action == "match":
        errors.required(form, "transfer_id")
    if action == "explain":
        errors.required(form, "note")
    if errors:
        return _page(request, actor, errors, f"l{line_id}", status=422)
    db = db_of(request)
    try:
        if action == "match":
            service.resolve_match(db, actor, line_id, form["transfer_id"], note)
        elif action == "explain":
            service.resolve_explain(db, actor, line_id, note)
        else:
            service.resolve_book(db, actor, line_id, action, note)
    except DomainError as err:
        errors.add_domain(err)
        return _page(request, actor, errors, f"l{line_id}", status=err.http_status)
    return _done(gettext(errors.language, N_("Statement line resolved")) + f": #{line_id}")


def _report(request: Request, actor: Actor, code: str, month: str) -> service.Reconciliation:
    require(actor, Permission.TREASURY_READ)
    return service.reconciliation(db_of(request), actor, code, month if _MONTH.fullmatch(month) else "")


def font_missing(request: Request, err: DomainError) -> HTMLResponse:
    """503 with the error's code (the CSV still works): no font with Chinese glyphs on this server."""
    return error_page(request, err.http_status, N_("PDF not available"),
                      N_("No Chinese font is installed for PDF reports; download the CSV instead."), err.code)


@router.get("/treasury/report/{code}/{month}.pdf")
def report_pdf(request: Request, actor: WebActor, code: str, month: str) -> Response:
    found = _report(request, actor, code, month)
    try:
        body = files.reconciliation_pdf(found, language_of(request))
    except TreasuryReportFontMissing as err:
        return font_missing(request, err)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="recon-{found.account.code}-{month}.pdf"'})


@router.get("/treasury/report/{code}/{month}.csv")
def report_csv(request: Request, actor: WebActor, code: str, month: str) -> Response:
    found = _report(request, actor, code, month)
    return Response(files.reconciliation_csv(found, language_of(request)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="recon-{found.account.code}-{month}.csv"'})
