"""The person's page at the counter: personal data, cards with their statuses and the operations they offer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from sscard.access import Actor, Permission
from sscard.banks import service as banks
from sscard.cards import counter as card_counter
from sscard.cards import service as cards
from sscard.cards.counter import Withheld
from sscard.cards.operations import can_apply_new
from sscard.cards.states import Business
from sscard.db import Database
from sscard.errors import DomainError
from sscard.funds.benefits.reissue import payments_for_person
from sscard.funds.contributions import service as contributions
from sscard.funds.contributions.history import contribution_history
from sscard.portal import counter_reads
from sscard.production import batches
from sscard.production import service as production
from sscard.registry import ethnicity, idnumber
from sscard.registry import service as registry
from sscard.registry.schemas import LivingStatus
from sscard.web import labels, security
from sscard.web.cardview import card_views, outlets_for
from sscard.web.forms import FormErrors
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import db_of, error_page, render

EXPIRED = N_("This page has expired. Search for the person again.")


def person_url(id_number: str, **result: Any) -> str:
    params = {"ref": security.person_ref(id_number), **{k: v for k, v in result.items() if v is not None}}
    return "/counter/person?" + urlencode(params)


CONTRIBUTIONS_SHOWN = 12


def mask_account(account_no: str) -> str:
    return "*" * max(len(account_no) - 4, 0) + account_no[-4:]


def details(db: Database, actor: Actor, person_id: int, id_number: str, language: str) -> dict[str, Any]:
    """The rest of the person's page, each part from its own package's read (each audited): the payment
    account, the contact address, the collected photo, and — for roles that read the funds — the schemes the
    person is enrolled in, the latest contributions and the benefit payments."""
    account = banks.account_for_counter(db, actor, person_id)
    bank_names = batches.bank_names(db, actor) if actor.can(Permission.PRODUCTION_BATCH) else {}
    out: dict[str, Any] = {
        "account": None if account is None else {
            "bank": bank_names.get(account.bank_code, account.bank_code), "number": mask_account(account.account_no),
            "source": account.source},
        "address": counter_reads.address_of(db, actor, person_id),
        "photo": production.photo_of(db, actor, id_number),
        "funds_visible": actor.can(Permission.FUNDS_READ),
        "enrolments": [], "contributions": [], "payments": []}
    if out["funds_visible"]:
        out["enrolments"] = contributions.enrolments(db, actor, person_id)
        out["contributions"] = sorted(contribution_history(db, actor, person_id), key=lambda r: r.period,
                                      reverse=True)[:CONTRIBUTIONS_SHOWN]
        out["payments"] = payments_for_person(db, actor, person_id, lang="en" if language == "en" else "zh")[:12]
    return out


def withheld_text(language: str, item: Withheld) -> str:
    """The sentence for an operation not offered (the reason is ``cards.counter``'s; this only words it)."""
    operation = gettext(language, labels.OPERATION[item.operation.value])
    if item.why == "role":
        roles = [gettext(language, labels.ROLE[r]) for r in item.detail.split(",") if r in labels.ROLE]
        joiner = " or " if language == "en" else "或"
        return gettext(language, labels.WITHHELD["role"], operation=operation, roles=joiner.join(roles))
    if item.why == "other_outlet":
        outlet = item.detail or gettext(language, N_("another outlet"))
        return gettext(language, labels.WITHHELD["other_outlet"], operation=operation, outlet=outlet)
    return gettext(language, labels.WITHHELD[item.why], operation=operation)


def person_page(request: Request, actor: Actor, ref: str, errors: FormErrors | None = None,
                failed: tuple[str, str] | None = None, values: dict[str, str] | None = None,
                status: int = 200) -> Response:
    """The person with their cards; ``failed`` = (card_no or "", action) whose form shows ``errors``."""
    id_number = security.open_person_ref(ref)
    if id_number is None:
        return error_page(request, 404, N_("Not found"), EXPIRED)
    db = db_of(request)
    language = language_of(request)
    person = registry.get(db, actor, id_number)
    person_cards = cards.cards_of_person(db, actor, id_number) if actor.can(Permission.CARD_READ) else []
    params = request.query_params
    result = None
    if params.get("done"):
        result = {"action": params.get("done", ""), "seq": params.get("seq"), "card_no": params.get("card"),
                  "application_id": params.get("app")}
    views, can_apply = card_views(db, actor, person_cards), can_apply_new(actor, person_cards)
    failed = failed or ("", "")
    shown = (failed[1] == "apply_new" and can_apply) or any(
        v.card.card_no == failed[0] and failed[1] in v.actions for v in views)
    # The form that failed may no longer be on the page (the card's state changed): say why at the top.
    orphan_errors = list(errors.messages.values()) if errors and not shown else []
    new_fee: int | None = None
    if can_apply:
        try:
            new_fee = card_counter.fee_before(db, actor, Business.NEW)
        except DomainError:
            new_fee = None  # no fee table entry: the receipt says what was charged
    return render(request, "person.html", {
        "new_fee": new_fee, "more": details(db, actor, person.id, person.id_number, language),
        "ethnicity_name": ethnicity.name_of(person.ethnicity, language),
        "withheld": {v.card.card_no: [withheld_text(language, w) for w in v.withheld] for v in views},
        "person": person, "alive": person.living_status == LivingStatus.ALIVE.value,
        "ref": ref, "show_full_id": actor.can(Permission.PERSON_WRITE),
        "id_masked": idnumber.mask(person.id_number), "cards": views,
        "can_apply": can_apply, "orphan_errors": orphan_errors, "orphan_id": f"{failed[1]}-{failed[0]}",
        "outlets": outlets_for(db, actor, views),
        "result": result, "errors": errors or FormErrors(language), "failed": failed,
        "values": values or {},
        "exchange_options": [(code, gettext(language, text)) for code, text in labels.EXCHANGE_REASON.items()],
        "cancel_options": [(code, gettext(language, labels.CANCEL_REASON[code])) for code in labels.CANCEL_CHOICES]},
        status=status)
