"""``sscard treasury …``: the funds' bank accounts (docs/treasury.md) from the command line of the fund
accountant's host — the accounts and positions, statement import (camt.053 or SSCSV1), the reconciliation queue,
the daily balance checks, movements proposed (sweep, 用款计划 payment, term deposit placement and maturity) and
approved or sent back by a second operator, and the monthly 余额调节表 as PDF and CSV. Rich tables by default,
``--json`` for machines; a refusal exits 2 with its stable code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, print_json
from sscard.money import yuan
from sscard.treasury import report as files
from sscard.treasury import service
from sscard.treasury.schemas import (
    AccountOut,
    BalanceCheckOut,
    ImportOut,
    InstructionOut,
    PositionOut,
    QueueItemOut,
    ReconciliationOut,
)

treasury_app = typer.Typer(help="The funds' bank accounts, statements and reconciliation (基金财务对账)",
                           no_args_is_help=True)


def _checks_table(checks: list[BalanceCheckOut]) -> Table:
    table = Table("account", "day", "statement ¥", "ledger ¥", "difference ¥", "open items ¥", "status")
    for c in checks:
        table.add_row(c.account_code, c.day.isoformat(), yuan(c.statement_balance), yuan(c.ledger_balance),
                      yuan(c.difference), yuan(c.open_items), c.status)
    return table


@treasury_app.command("accounts")
@domain_errors
def accounts(fund: Annotated[str | None, typer.Option(help="only this fund's (pension, medical, …)")] = None,
             operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The fund accounts per fund and bank with their ledger balances, and the deposits with their maturity."""
    db, actor = db_and_actor(operator)
    found = [AccountOut.model_validate(a) for a in service.list_accounts(db, actor, fund)]
    if as_json:
        print_json([a.model_dump(mode="json") for a in found])
        return
    table = Table("code", "fund", "bank", "kind", "account no", "status", "balance ¥", "rate", "matures")
    for a in found:
        d = a.deposit
        table.add_row(a.code, a.fund, a.bank_code, a.kind, files.mask(a.account_no), a.status, yuan(a.balance),
                      f"{d.rate_bp / 100:.2f} %" if d else "", d.maturity_on.isoformat() if d else "")
    console.print(table)


@treasury_app.command("positions")
@domain_errors
def positions(operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Each fund's money at the banks by kind of account, and the interest its deposits earned."""
    db, actor = db_and_actor(operator)
    found = [PositionOut.model_validate(p) for p in service.positions(db, actor)]
    if as_json:
        print_json([p.model_dump(mode="json") for p in found])
        return
    table = Table("fund", "收入户 ¥", "支出户 ¥", "财政专户 ¥", "定期存款 ¥", "total ¥", "interest ¥")
    for p in found:
        table.add_row(p.fund, yuan(p.collection), yuan(p.payment), yuan(p.special), yuan(p.deposits), yuan(p.total),
                      yuan(p.interest_earned))
    console.print(table)


@treasury_app.command("import-statement")
@domain_errors
def import_statement(path: Annotated[Path, typer.Argument(help="the signed statement: camt.053 XML or SSCSV1",
                                                          exists=True, dir_okay=False)],
                     bank: Annotated[str, typer.Option(help="the bank it comes from (its key must have made "
                                                            "the MAC)")],
                     mac: Annotated[Path | None, typer.Option(help="the MAC line, if it came as a file of its own",
                                                              exists=True, dir_okay=False)] = None,
                     operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Import a statement wholly or not at all: match its lines, queue the rest, check every day's balance."""
    from sscard.treasury import statements

    db, actor = db_and_actor(operator)
    data = path.read_bytes()
    if mac is not None:
        data = statements.join_detached(data, mac.read_bytes())
    result = ImportOut.model_validate(service.import_statement(db, actor, data, bank))
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    console.print(f"{result.account_code}: {result.format} statement #{result.statement_id}, {result.lines} lines, "
                  f"{result.matched} matched, {result.queued} queued")
    console.print(_checks_table(result.checks[-7:]))


@treasury_app.command("queue")
@domain_errors
def queue(account: Annotated[str | None, typer.Option(help="only this account's")] = None, limit: int = 500,
          operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The reconciliation queue: statement lines no ledger transfer matched, with suggested transfers."""
    db, actor = db_and_actor(operator)
    found = [QueueItemOut.model_validate(q) for q in service.queue(db, actor, account, limit)]
    if as_json:
        print_json([q.model_dump(mode="json") for q in found])
        return
    table = Table("line", "account", "booked", "C/D", "amount ¥", "reference", "bank ref", "description",
                  "suggested", "note")
    for q in found:
        table.add_row(str(q.line_id), q.account_code, q.booking_date.isoformat(), q.direction, yuan(q.amount),
                      q.reference, q.bank_ref, q.description, " ".join(q.suggestions), q.note)
    console.print(table)


@treasury_app.command("checks")
@domain_errors
def checks(account: Annotated[str | None, typer.Option(help="only this account's")] = None,
           status: Annotated[str | None, typer.Option(help="ok, explained or unexplained")] = None,
           limit: int = 60, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The daily balance checks, newest first; exit 1 if any shown is unexplained."""
    db, actor = db_and_actor(operator)
    found = [BalanceCheckOut.model_validate(c) for c in service.balance_checks(db, actor, account, status, limit)]
    if as_json:
        print_json([c.model_dump(mode="json") for c in found])
    else:
        console.print(_checks_table(found))
    if any(c.status == "unexplained" for c in found):
        raise typer.Exit(1)


@treasury_app.command("instructions")
@domain_errors
def instructions(status: Annotated[str | None, typer.Option(help="proposed, approved or rejected")] = None,
                 operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """划款指令: sweeps, 用款计划 transfers, deposit placements and maturities, newest first."""
    db, actor = db_and_actor(operator)
    _instructions([InstructionOut.model_validate(i) for i in service.list_instructions(db, actor, status)], as_json)


def _instructions(found: list[InstructionOut], as_json: bool) -> None:
    if as_json:
        print_json([i.model_dump(mode="json") for i in found])
        return
    table = Table("id", "reference", "kind", "from", "to", "amount ¥", "interest ¥", "plan", "status", "maker",
                  "checker")
    for i in found:
        table.add_row(str(i.id), i.reference, i.kind, i.from_code, i.to_code, yuan(i.amount), yuan(i.interest),
                      i.plan_no or "", i.status, i.proposed_by, i.decided_by or "")
    console.print(table)


propose_app = typer.Typer(help="经办: propose a movement; another operator approves it (treasury approve ID)",
                          no_args_is_help=True)
treasury_app.add_typer(propose_app, name="propose")
KeyOpt = Annotated[str, typer.Option("--key", help="the request key: a retry with the same key proposes nothing twice")]
FenArg = Annotated[int, typer.Argument(help="the amount in fen (分)", min=1)]


@propose_app.command("sweep")
@domain_errors
def propose_sweep(from_code: Annotated[str, typer.Argument(help="the collection account (收入户)")],
                  to_code: Annotated[str, typer.Argument(help="the finance special account (财政专户)")],
                  amount: FenArg, key: KeyOpt, memo: str = "", operator: OperatorOpt = "system",
                  as_json: JsonOpt = False) -> None:
    """收入户 → 财政专户 (归集)."""
    db, actor = db_and_actor(operator)
    made = service.propose(db, actor, "sweep", from_code, to_code, amount, key, None, memo)
    _instructions([InstructionOut.model_validate(made)], as_json)


@propose_app.command("plan")
@domain_errors
def propose_plan(from_code: Annotated[str, typer.Argument(help="the finance special account (财政专户)")],
                 to_code: Annotated[str, typer.Argument(help="the payment account (支出户)")],
                 amount: FenArg, plan_no: Annotated[str, typer.Option(help="the approved 用款计划's number")],
                 key: KeyOpt, memo: str = "", operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """财政专户 → 支出户 on an approved 用款计划."""
    db, actor = db_and_actor(operator)
    made = service.propose(db, actor, "plan", from_code, to_code, amount, key, plan_no, memo)
    _instructions([InstructionOut.model_validate(made)], as_json)


@propose_app.command("placement")
@domain_errors
def propose_placement(special_code: Annotated[str, typer.Argument(help="the finance special account it leaves")],
                      deposit_code: Annotated[str, typer.Argument(help="the code the deposit is registered under")],
                      principal: FenArg,
                      tender: Annotated[str, typer.Option(help="the tender result's reference (招标结果)")],
                      certificate: Annotated[str, typer.Option(help="the bank's deposit certificate number")],
                      rate_bp: Annotated[int, typer.Option(help="the rate won, in basis points a year (275 = 2.75 %)")],
                      term_months: Annotated[int, typer.Option(help="the term, 1-120 months")],
                      placed_on: Annotated[str, typer.Option(help="YYYY-MM-DD (maturity = placement + term)")],
                      key: KeyOpt, bank: Annotated[str | None, typer.Option(help="the bank that won the tender "
                                                                                  "(default the special account's)")]
                      = None, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """财政专户 → a term deposit placed by tender result."""
    db, actor = db_and_actor(operator)
    made = service.propose_placement(db, actor, key, special_code, deposit_code, certificate, tender, principal,
                                     rate_bp, term_months, _date(placed_on), bank)
    _instructions([InstructionOut.model_validate(made)], as_json)


@propose_app.command("maturity")
@domain_errors
def propose_maturity(deposit_code: Annotated[str, typer.Argument(help="the matured term deposit")], key: KeyOpt,
                     operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """A matured deposit back to its 财政专户 with the interest its terms earn."""
    db, actor = db_and_actor(operator)
    _instructions([InstructionOut.model_validate(service.propose_maturity(db, actor, key, deposit_code))], as_json)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text[:20]!r} is not YYYY-MM-DD") from None


@treasury_app.command("approve")
@domain_errors
def approve(instruction_id: int, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """复核: approve another operator's instruction (the money moves now)."""
    db, actor = db_and_actor(operator)
    _instructions([InstructionOut.model_validate(service.approve(db, actor, instruction_id))], as_json)


@treasury_app.command("reject")
@domain_errors
def reject(instruction_id: int, reason: Annotated[str, typer.Option(help="why, 1-200 characters")],
           operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """复核: send another operator's instruction back (nothing moves)."""
    db, actor = db_and_actor(operator)
    _instructions([InstructionOut.model_validate(service.reject(db, actor, instruction_id, reason))], as_json)


@treasury_app.command("report")
@domain_errors
def report(account: str, month: Annotated[str, typer.Argument(help="YYYY-MM")],
           pdf: Annotated[Path | None, typer.Option("--pdf", help="write the PDF here")] = None,
           csv: Annotated[Path | None, typer.Option("--csv", help="write the CSV here")] = None,
           language: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
           operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The month's 余额调节表 of one account; exit 1 if the adjusted balances differ."""
    db, actor = db_and_actor(operator)
    found = service.reconciliation(db, actor, account, month)
    if pdf is not None:
        pdf.write_bytes(files.reconciliation_pdf(found, language))
    if csv is not None:
        csv.write_bytes(files.reconciliation_csv(found, language))
    out = ReconciliationOut.model_validate(found)
    if as_json:
        print_json(out.model_dump(mode="json"))
    else:
        table = Table("", "bank ¥", "ledger ¥")
        table.add_row("balance", yuan(out.bank_balance), yuan(out.ledger_balance))
        table.add_row("+ in on the other side only", yuan(sum(x.amount for x in out.ledger_in_bank_not)),
                      yuan(sum(x.amount for x in out.bank_in_ledger_not)))
        table.add_row("− out on the other side only", yuan(sum(x.amount for x in out.ledger_out_bank_not)),
                      yuan(sum(x.amount for x in out.bank_out_ledger_not)))
        table.add_row("adjusted", yuan(out.adjusted_bank), yuan(out.adjusted_ledger))
        console.print(f"{out.account.code} {out.month} (as of {out.as_of.isoformat()}): "
                      + ("balanced" if out.balanced else "NOT BALANCED"))
        console.print(table)
    if not out.balanced:
        raise typer.Exit(1)
