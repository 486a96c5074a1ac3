"""``sscard funds …``: run a month (contributions then benefits, resumable, with progress bars), inspect
disbursement batches, the re-issue queue (failures), correct and re-issue, entitlements and certifications;
``sscard funds contrib …``: enrolment, authorisations, employer files, arrears, debit batches, failures, history.
Domain errors exit with status 2 and the stable code, never a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, output, print_json, readable
from sscard.funds.benefits import entitlements, reissue
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.models import BenefitKind
from sscard.funds.benefits.schemas import BatchOut, CorrectionIn, EntitlementIn
from sscard.funds.contributions import arrears
from sscard.funds.contributions import history as contrib_history
from sscard.funds.contributions import service as contrib
from sscard.funds.contributions.employer import import_employer_file
from sscard.funds.contributions.terms import ContribScheme
from sscard.funds.month import run_month
from sscard.money import yuan

funds_app = typer.Typer(help="Contributions in, benefits out: month runs, batches, failures, re-issues",
                        no_args_is_help=True)


@contextmanager
def _bars() -> Iterator[Any]:
    """A progress callback drawing one Rich bar per half of the run (the label's text before ':')."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            key = label.split(":", 1)[0]
            if key not in tasks:
                tasks[key] = progress.add_task(label, total=max(total, 1))
            progress.update(tasks[key], description=label, completed=done, total=max(total, 1))

        yield report


_fen = yuan  # integer fen as yuan, two decimals


def _batch_table(rows: list[BatchOut]) -> Table:
    table = Table("batch", "kind", "period", "bank", "state", "lines", "total ¥", "ok", "ok ¥", "failed",
                  "failed ¥", "header = ok + failed")
    for b in rows:
        table.add_row(b.batch_no, b.kind, b.period, b.bank_code, b.state, f"{b.line_count:,}", _fen(b.total_amount),
                      f"{b.success_count:,}", _fen(b.success_amount), f"{b.failure_count:,}",
                      _fen(b.failure_amount), "yes" if b.balanced else "NO")
    return table


@funds_app.command("run")
@domain_errors
def run(period: str, benefits_only: Annotated[bool, typer.Option("--benefits-only")] = False,
        as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Run (or resume) a month: contributions withholding, then benefit disbursement, e.g. 2014-07."""
    db, actor = db_and_actor(operator)
    with _bars() as report:
        result = run_month(db, actor, period, report, contributions=not benefits_only)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    if result.contributions_skipped:
        console.print(f"[yellow]contributions skipped:[/yellow] {result.contributions_skipped}")
    elif result.contributions is not None:
        c = result.contributions
        console.print(f"contributions {result.period}: {c.get('status')}, withheld {c.get('withheld_count')} "
                      f"({_fen(int(c.get('withheld_fen') or 0))} ¥), failed {c.get('failed_count')}")
    b = result.benefits
    console.print(f"benefits {b.period}{' (resumed)' if b.resumed else ''}: {b.owed:,} lines owed, "
                  f"{b.released:,} back-paid, {b.held:,} newly held, {b.no_account:,} waiting for an account")
    console.print(_batch_table(b.batches))


@funds_app.command("batches")
@domain_errors
def batches(period: Annotated[str | None, typer.Option()] = None,
            kind: Annotated[str | None, typer.Option(help="regular | reissue")] = None,
            as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Disbursement batches with their header and Σ successes / Σ failures."""
    db, actor = db_and_actor(operator)
    rows = benefits.list_batches(db, actor, period, kind)
    if as_json:
        print_json([b.model_dump(mode="json") for b in rows])
    else:
        console.print(_batch_table(rows))


@funds_app.command("failures")
@domain_errors
def failures(state: Annotated[str | None, typer.Option(help="open | corrected | reissued | paid | failed | all")]
             = None, lang: str = "zh", limit: int = 200, as_json: JsonOpt = False,
             operator: OperatorOpt = "system") -> None:
    """The re-issue queue (退票): failed lines with the bank's reason and what to do."""
    db, actor = db_and_actor(operator)
    rows = reissue.failures(db, actor, state, lang, limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "state", "reason", "person", "name", "month", "¥", "batch", "what to do")
    for r in rows:
        table.add_row(str(r.id), r.state, r.reason_code, str(r.person_id), r.name, r.period_due, _fen(r.amount),
                      r.batch_no, r.what_to_do)
    console.print(table)


@funds_app.command("correct")
@domain_errors
def correct(reissue_id: int, note: Annotated[str, typer.Option(help="what was corrected")],
            bank: Annotated[str | None, typer.Option(help="new payment account: bank code")] = None,
            account: Annotated[str | None, typer.Option(help="new payment account: number")] = None,
            holder: Annotated[str | None, typer.Option(help="new payment account: holder name")] = None,
            as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Record the correction of a failed payment (optionally a new payment account); `reissue` pays it."""
    db, actor = db_and_actor(operator)
    data = CorrectionIn(note=note, bank_code=bank, account_no=account, holder_name=holder)
    done = reissue.correct_failure(db, actor, reissue_id, data).model_dump(mode="json")
    output(done if as_json else readable(done, ("amount",)), as_json, f"failure {reissue_id} corrected")


@funds_app.command("reissue")
@domain_errors
def reissue_cmd(period: Annotated[str | None, typer.Option(help="label of the re-issue batches")] = None,
                as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """补发: pay the corrected failures in new batches linked to the failed lines (resumable)."""
    db, actor = db_and_actor(operator)
    with _bars() as report:
        result = reissue.run_reissues(db, actor, period, report)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    console.print(f"re-issued {result.reissued}, waiting for a payment account {result.waiting_for_account}")
    console.print(_batch_table(result.batches))


@funds_app.command("grant")
@domain_errors
def grant(person_id: int, kind: BenefitKind, amount_fen: int, start: str,
          months: Annotated[int | None, typer.Option()] = None, fund: Annotated[str | None, typer.Option()] = None,
          reference: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False,
          operator: OperatorOpt = "system") -> None:
    """Grant an entitlement (核定待遇): amount in fen per month (or once), first month due YYYY-MM."""
    db, actor = db_and_actor(operator)
    data = EntitlementIn(person_id=person_id, kind=kind, amount=amount_fen, start_period=start, months=months,
                         fund=fund, reference=reference)
    granted = entitlements.grant_entitlement(db, actor, data).model_dump(mode="json")
    output(granted if as_json else readable(granted, ("amount",)), as_json, "entitlement granted")


@funds_app.command("certify")
@domain_errors
def certify(person_id: int, on: Annotated[str | None, typer.Option(help="YYYY-MM-DD, default today")] = None,
            method: str = "counter", as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Record a survival certification (资格认证); stopped months are back-paid in the next run."""
    db, actor = db_and_actor(operator)
    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not a date YYYY-MM-DD", param_hint="--on") from None
    output({"certification_id": entitlements.certify(db, actor, person_id, day, method)}, as_json,
           "certification recorded")


@funds_app.command("payments")
@domain_errors
def payments(person_id: int, lang: str = "zh", as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """What a person was paid, month by month (failed ones with the reason and what to do)."""
    db, actor = db_and_actor(operator)
    rows = [p.model_dump(mode="json") for p in reissue.payments_for_person(db, actor, person_id, lang)]
    output(rows if as_json else [readable(r, ("amount",)) for r in rows], as_json, f"payments to person {person_id}")


# ------------------------------------------------------------------------------------------- contributions

contrib_app = typer.Typer(help="Contributions: enrolment, withholding authorisations, employer files, arrears, "
                               "the month's debit batches and failures, a person's history", no_args_is_help=True)
funds_app.add_typer(contrib_app, name="contrib")


@contrib_app.command("enrol")
@domain_errors
def contrib_enrol(id_number: str, scheme: ContribScheme, start: str,
                  ratio_bp: Annotated[int | None, typer.Option(help="base as a share of the average wage, "
                                                                      "6000 = 60 %")] = None,
                  level: Annotated[int | None, typer.Option(help="residents' level (档次)")] = None,
                  as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """参保登记: enrol a person in a scheme from START (YYYY-MM) with a base ratio or a level."""
    db, actor = db_and_actor(operator)
    enrolled = contrib.enrol(db, actor, id_number, scheme, start, base_ratio_bp=ratio_bp, level=level)
    output(enrolled.model_dump(mode="json"), as_json, "enrolled")


@contrib_app.command("authorise")
@domain_errors
def contrib_authorise(id_number: str, signed_on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
                      signature_ref: Annotated[str, typer.Option(help="the signed bank form")],
                      valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                      bank: Annotated[str | None, typer.Option(help="default: the card's bank account")] = None,
                      account: Annotated[str | None, typer.Option()] = None,
                      holder: Annotated[str | None, typer.Option()] = None,
                      as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """代扣协议: record a signed withholding authorisation (replaces the active one)."""
    db, actor = db_and_actor(operator)
    out = contrib.sign_authorisation(db, actor, id_number, signed_on=_date(signed_on, "--signed-on"),
                                     signature_ref=signature_ref,
                                     valid_until=_date(valid_until, "--valid-until") if valid_until else None,
                                     bank_code=bank, account_no=account, holder_name=holder)
    signed = out.model_dump(mode="json")
    output(signed if as_json else readable(signed), as_json, "withholding authorisation recorded")


@contrib_app.command("employer-import")
@domain_errors
def contrib_employer_import(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
                            as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """单位缴费文件: import an employer's file whole, or refuse it whole with the reason."""
    db, actor = db_and_actor(operator)
    imported = import_employer_file(db, actor, path.read_bytes()).model_dump(mode="json")
    output(imported if as_json else readable(imported), as_json, "employer file imported")


@contrib_app.command("pay-arrears")
@domain_errors
def contrib_pay_arrears(id_number: str, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """补缴: debit every unpaid month now from the authorised account."""
    db, actor = db_and_actor(operator)
    paid = arrears.pay_arrears(db, actor, id_number).model_dump(mode="json")
    output(paid if as_json else readable(paid), as_json, "arrears paid")


@contrib_app.command("batches")
@domain_errors
def contrib_batches(period: str, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The month's debit batches with Σ withheld / Σ refused."""
    db, actor = db_and_actor(operator)
    rows = contrib_history.batches(db, actor, period)
    if as_json:
        print_json([b.model_dump(mode="json") for b in rows])
        return
    table = Table("batch", "bank", "state", "lines", "total ¥", "ok", "ok ¥", "failed", "failed ¥")
    for b in rows:
        table.add_row(b.batch_no, b.bank_code, b.status, f"{b.line_count:,}", _fen(b.total_fen), f"{b.ok_count:,}",
                      _fen(b.ok_fen), f"{b.failed_count:,}", _fen(b.failed_fen))
    console.print(table)


@contrib_app.command("failures")
@domain_errors
def contrib_failures(period: str, lang: str = "zh", as_json: JsonOpt = False,
                     operator: OperatorOpt = "system") -> None:
    """Refused lines and not-authorised months of PERIOD, with the reason and the advice."""
    db, actor = db_and_actor(operator)
    rows = contrib_history.failures(db, actor, period)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("batch", "line", "person", "month", "scheme", "¥", "reason", "advice")
    for r in rows:
        table.add_row(r.batch_no or "—", str(r.line_no or "—"), str(r.person_id), r.period, r.scheme,
                      _fen(r.amount_fen), r.reason, r.advice_en if lang == "en" else r.advice_zh)
    console.print(table)


@contrib_app.command("history")
@domain_errors
def contrib_person_history(person_id: int, lang: str = "zh", as_json: JsonOpt = False,
                           operator: OperatorOpt = "system") -> None:
    """缴费记录: every month of every scheme of a person, newest first."""
    db, actor = db_and_actor(operator)
    rows = contrib_history.contribution_history(db, actor, person_id)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("month", "scheme", "source", "¥", "personal ¥", "status", "attempts", "reason", "advice")
    for r in rows:
        advice = r.advice_en if lang == "en" else r.advice_zh
        table.add_row(r.period, r.scheme, r.source, _fen(r.amount_fen), _fen(r.personal_fen), r.status,
                      str(r.attempts), r.last_reason or "", advice or "")
    console.print(table)


def _date(raw: str, hint: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not a date YYYY-MM-DD", param_hint=hint) from None
