"""``sscard exchange …``: data sharing with other departments (docs/exchange.md) — the catalogue, departments and
their keys, agreements (request, approve, reject, revoke), the monthly usage report, the outbox worker and the
nonce purge. Domain errors exit with status 2 and the stable code."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from sscard import clock
from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, output, show
from sscard.exchange import service as exchange
from sscard.exchange.schemas import AgreementIn, AgreementItemIn, AgreementOut, DepartmentIn

exchange_app = typer.Typer(help="Data sharing with other departments (部门间数据共享)", no_args_is_help=True)


def _agreement(a: AgreementOut) -> dict[str, object]:
    return {"agreement": a.agreement_no, "department": a.department,
            "items": "; ".join(f"{k}: {', '.join(v)}" for k, v in a.items.items()), "purpose": a.purpose,
            "valid": f"{a.valid_from}…{a.valid_until}", "quota/day": a.daily_quota, "masking": a.masking,
            "status": a.status, "in force": a.in_force, "requested by": a.requested_by,
            "approved by": a.approved_by}


@exchange_app.command("catalogue")
@domain_errors
def catalogue(operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The shareable data items with sharing class, sensitivity and answer modes."""
    db, actor = db_and_actor(operator)
    output([i.model_dump(mode="json", exclude={"description"}) for i in exchange.catalogue(db, actor)], as_json)


@exchange_app.command("departments")
@domain_errors
def departments(operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    output([d.model_dump(mode="json") for d in exchange.list_departments(db, actor)], as_json)


@exchange_app.command("add-department")
@domain_errors
def add_department(code: str, name: str,
                   endpoint: Annotated[str | None, typer.Option(help="where subscribed events are POSTed")] = None,
                   operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    output(exchange.create_department(db, actor, DepartmentIn(code=code, name=name, endpoint=endpoint))
           .model_dump(mode="json"), as_json)


@exchange_app.command("keys")
@domain_errors
def keys(department: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    output([k.model_dump(mode="json") for k in exchange.list_keys(db, actor, department)], as_json)


@exchange_app.command("issue-key")
@domain_errors
def issue_key(department: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """A new key id and secret for the department: the secret is printed this once."""
    db, actor = db_and_actor(operator)
    output(exchange.issue_key(db, actor, department).model_dump(mode="json"), as_json)


@exchange_app.command("revoke-key")
@domain_errors
def revoke_key(key_id: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    output(exchange.revoke_key(db, actor, key_id).model_dump(mode="json"), as_json)


@exchange_app.command("agreements")
@domain_errors
def agreements(department: Annotated[str | None, typer.Option()] = None,
               status: Annotated[str | None, typer.Option()] = None,
               operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    found = exchange.list_agreements(db, actor, department, status)
    if as_json:
        output([a.model_dump(mode="json") for a in found], True)
    else:
        output([_agreement(a) for a in found], False)


@exchange_app.command("request")
@domain_errors
def request(department: str,
            item: Annotated[list[str], typer.Option("--item", help="ITEM=mode[,mode…], e.g. card_status=verification")],
            purpose: Annotated[str, typer.Option()], legal_basis: Annotated[str, typer.Option("--legal-basis")],
            until: Annotated[str, typer.Option(help="last day in force, YYYY-MM-DD")],
            quota: Annotated[int, typer.Option(help="requests per day")],
            start: Annotated[str | None, typer.Option("--from", help="first day (default today)")] = None,
            masking: Annotated[str, typer.Option(help="masked or clear")] = "masked",
            operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """A department's request for an agreement (the maker); another operator approves it."""
    db, actor = db_and_actor(operator)
    items = []
    for spec in item:
        code, _, modes = spec.partition("=")
        items.append(AgreementItemIn(item=code, modes=[m for m in modes.split(",") if m]))
    data = AgreementIn(department=department, items=items, purpose=purpose, legal_basis=legal_basis,
                       valid_from=dt.date.fromisoformat(start) if start else clock.local_date(),
                       valid_until=dt.date.fromisoformat(until), daily_quota=quota, masking=masking)
    show(_agreement(exchange.request_agreement(db, actor, data)), as_json)


@exchange_app.command("approve")
@domain_errors
def approve(agreement_no: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The checker's step: a supervisor who is not the requester."""
    db, actor = db_and_actor(operator)
    show(_agreement(exchange.approve(db, actor, agreement_no)), as_json)


@exchange_app.command("reject")
@domain_errors
def reject(agreement_no: str, reason: Annotated[str, typer.Option()], operator: OperatorOpt = "system",
           as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    show(_agreement(exchange.reject(db, actor, agreement_no, reason)), as_json)


@exchange_app.command("revoke")
@domain_errors
def revoke(agreement_no: str, reason: Annotated[str, typer.Option()], operator: OperatorOpt = "system",
           as_json: JsonOpt = False) -> None:
    """End an agreement at once."""
    db, actor = db_and_actor(operator)
    show(_agreement(exchange.revoke(db, actor, agreement_no, reason)), as_json)


@exchange_app.command("usage")
@domain_errors
def usage(month: str, department: Annotated[str | None, typer.Option()] = None, operator: OperatorOpt = "system",
          as_json: JsonOpt = False) -> None:
    """Monthly usage per department and agreement (YYYY-MM)."""
    db, actor = db_and_actor(operator)
    report = exchange.usage_report(db, actor, month, department)
    if as_json:
        output(report.model_dump(mode="json"), True)
    else:
        output([r.model_dump(mode="json") for r in report.rows], False, title=f"usage {report.month}")


@exchange_app.command("deliver-outbox")
@domain_errors
def deliver_outbox(loop: Annotated[bool, typer.Option(help="keep delivering until interrupted")] = False,
                   interval: Annotated[float, typer.Option(help="seconds between runs with --loop")] = 5.0,
                   operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Deliver the due subscribed events (retries back off: 30 s, 60 s, … at most an hour)."""
    db, actor = db_and_actor(operator)
    while True:
        report = exchange.deliver(db, actor)
        output(report.model_dump(mode="json"), as_json)
        if not loop:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            console.print("stopped")
            return


@exchange_app.command("purge-nonces")
@domain_errors
def purge_nonces(as_json: JsonOpt = False) -> None:
    """Forget the request nonces older than the signature window (the API does it every minute too)."""
    db, _ = db_and_actor("system")
    output({"purged": exchange.purge_nonces(db)}, as_json)
