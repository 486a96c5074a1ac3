"""``sscard transition …``: the move from the old medical cards — import the old system's LMC1 file, the
reconciliation report (CSV / PDF), the exceptions queue and its resolution, the transition window."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Annotated

import typer

from sscard.cli.common import JsonOpt, OperatorOpt, db_and_actor, domain_errors, err, show

transition_app = typer.Typer(help="The move from the old medical cards (docs/transition.md)", no_args_is_help=True)


@transition_app.command("import")
@domain_errors
def import_file(path: Annotated[Path, typer.Argument(help="the LMC1 file (UTF-8 or GB18030)", exists=True,
                                                     dir_okay=False)],
                source: Annotated[str | None, typer.Option(help="the old system it must come from (its key "
                                                                "must have made the MAC; default the header's)")]
                = None,
                as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Check, match and carry a whole legacy card file (nothing of it on any refusal)."""
    from sscard.transition import service

    db, actor = db_and_actor(operator)
    started = time.perf_counter()

    def progress(step: str) -> None:  # the time since the start and this process's peak memory so far
        err.print(f"[dim]{time.perf_counter() - started:8.2f} s  {_peak_mb():6d} MB  {step}[/dim]", highlight=False)

    result = service.import_file(db, actor, path.read_bytes(), source=source, progress=progress)
    show(result.model_dump(mode="json"), as_json, "legacy file imported")


def _peak_mb() -> int:
    """This process's peak RSS: VmHWM of its own memory map (Linux). Not ``ru_maxrss``, which after an exec keeps
    the peak of the process it was forked from (a bench holding millions of rows would be counted as ours)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@transition_app.command("report")
@domain_errors
def report(file_id: Annotated[str, typer.Argument(help="the file id of an imported file")],
           csv: Annotated[Path | None, typer.Option("--csv", help="write the CSV here")] = None,
           pdf: Annotated[Path | None, typer.Option("--pdf", help="write the PDF here")] = None,
           language: Annotated[str, typer.Option(help="zh_CN or en (PDF)")] = "zh_CN",
           as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The reconciliation: old total = carried (ledger journal) + queued, to the fen; exit 1 if it does not."""
    from sscard.transition import report as files
    from sscard.transition import service

    db, actor = db_and_actor(operator)
    found = service.report(db, actor, service.find_import(db, actor, file_id))
    if csv is not None:
        csv.write_bytes(files.report_csv(found))
    if pdf is not None:
        pdf.write_bytes(files.report_pdf(found, language))
    show(found.model_dump(mode="json"), as_json, f"reconciliation of {file_id}")
    if not found.reconciled:
        raise typer.Exit(1)


@transition_app.command("exceptions")
@domain_errors
def exceptions(file_id: Annotated[str | None, typer.Option(help="only this file's")] = None,
               limit: int = 100, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The exceptions queue (masked)."""
    from sscard.transition import service

    db, actor = db_and_actor(operator)
    import_id = service.find_import(db, actor, file_id) if file_id else None
    queued = service.exceptions(db, actor, import_id, limit)
    show([e.model_dump(mode="json") for e in queued], as_json, f"{len(queued)} legacy cards queued")


@transition_app.command("resolve")
@domain_errors
def resolve(file_id: str, line_no: int,
            id_number: Annotated[str, typer.Option(help="the holder's ID number, checked against documents")],
            as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Match a queued old card (by its file and line) to a person and carry its balance."""
    from sscard.transition import service

    db, actor = db_and_actor(operator)
    done = service.resolve(db, actor, service.find_import(db, actor, file_id), line_no, id_number)
    show(done.model_dump(mode="json"), as_json, "legacy card resolved")


@transition_app.command("window")
@domain_errors
def window(as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The transition window in effect today (policy transition.legacy_window_from / _until)."""
    from sscard.transition import service

    db, actor = db_and_actor(operator)
    show(service.window(db, actor).model_dump(mode="json"), as_json, "transition window")
