"""``sscard transfer …``: the transfer of the insurance relationship between cities (docs/transfer.md) — issue
a voucher, file an application with a voucher, confirm and pay, resend pending messages, show, list and the
reconciliation report. Domain errors exit with status 2 and the stable code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, print_json
from sscard.money import yuan
from sscard.transfer import service, voucher_pdf
from sscard.transfer.schemas import CaseOut

transfer_app = typer.Typer(help="Transfer of the insurance relationship between cities (社会保险关系转移接续)",
                           no_args_is_help=True)


def _show(cases: list[CaseOut], as_json: bool) -> None:
    if as_json:
        print_json([c.model_dump(mode="json") for c in cases])
        return
    table = Table("voucher", "direction", "city", "status", "pension months", "medical months", "total ¥",
                  "other side ¥", "reason")
    for c in cases:
        table.add_row(c.voucher_no, c.direction, c.partner_city, c.status, str(c.pension_months),
                      str(c.medical_months), yuan(c.total_fen), yuan(c.counterpart_fen), c.last_reason or "")
    console.print(table)


@transfer_app.command("issue")
@domain_errors
def issue(person_id: int, to_city: Annotated[str, typer.Option("--to", help="the receiving city's code")],
          out: Annotated[Path, typer.Option("--out", help="write the signed voucher (JSON) here")],
          pdf: Annotated[Path | None, typer.Option("--pdf", help="and the printable voucher here")] = None,
          operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """开具参保缴费凭证 for a person moving to another city."""
    db, actor = db_and_actor(operator)
    case, raw = service.issue_voucher(db, actor, person_id, to_city)
    out.write_bytes(raw)
    if pdf is not None:
        pdf.write_bytes(voucher_pdf.voucher_pdf(raw))
    _show([case], as_json)


@transfer_app.command("apply")
@domain_errors
def apply(voucher: Annotated[Path, typer.Argument(help="the signed voucher the holder presents")],
          operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """转入申请: check the voucher and send the contact letter to the sending city."""
    db, actor = db_and_actor(operator)
    _show([service.apply_in(db, actor, voucher.read_bytes())], as_json)


@transfer_app.command("confirm")
@domain_errors
def confirm(voucher_no: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """确认转出: pay the amounts through the bank and send the notice (repeat after a failure: pays once)."""
    db, actor = db_and_actor(operator)
    _show([service.confirm_out(db, actor, voucher_no)], as_json)


@transfer_app.command("deliver")
@domain_errors
def deliver(voucher_no: str, direction: Annotated[str, typer.Option(help="out (sending) or in (receiving)")] = "out",
            operator: OperatorOpt = "system") -> None:
    """Send the transfer's unanswered messages again (same ids)."""
    db, actor = db_and_actor(operator)
    console.print(f"answered: {service.deliver(db, actor, voucher_no, direction=direction)}")


@transfer_app.command("show")
@domain_errors
def show(voucher_no: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    _show([service.get_case(db, actor, voucher_no)], as_json)


@transfer_app.command("list")
@domain_errors
def list_(person_id: Annotated[int | None, typer.Option("--person")] = None,
          open_only: Annotated[bool, typer.Option("--open")] = False, operator: OperatorOpt = "system",
          as_json: JsonOpt = False) -> None:
    db, actor = db_and_actor(operator)
    _show(service.list_cases(db, actor, person_id, open_only), as_json)


@transfer_app.command("reconcile")
@domain_errors
def reconcile(operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """对账: every transfer's voucher, ledger and the other side's figure; exit 1 if any disagrees."""
    db, actor = db_and_actor(operator)
    report = service.reconcile(db, actor)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        table = Table("voucher", "direction", "city", "status", "voucher ¥", "ledger ¥", "other side ¥", "agrees")
        for r in report.rows:
            table.add_row(r.voucher_no, r.direction, r.partner_city, r.status, yuan(r.voucher_fen),
                          yuan(r.ledger_fen), yuan(r.counterpart_fen), "yes" if r.agrees else "NO")
        console.print(table)
        console.print(f"sent {yuan(report.sent_fen)} (confirmed {yuan(report.sent_confirmed_fen)}), received "
                      f"{yuan(report.received_fen)} (announced {yuan(report.received_announced_fen)})")
    if not report.agrees:
        raise typer.Exit(1)
