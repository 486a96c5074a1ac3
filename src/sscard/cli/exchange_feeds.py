"""``sscard exchange-feeds …``: the departments' feeds through the file ferry — import a partner's spool (or one
file), the files imported and refused, the exceptions and review cases and their resolution, and building a
sealed file from a plaintext (what a department's side does; docs/exchange-feeds.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sscard.cli.common import JsonOpt, OperatorOpt, db_and_actor, domain_errors, show

feeds_app = typer.Typer(help="Inbound department feeds through the file ferry (docs/exchange-feeds.md)",
                        no_args_is_help=True)

PartnerArg = Annotated[str, typer.Option("--partner", help="dept:<code>, e.g. dept:PSB, dept:CIVIL, dept:EDU")]
SpoolOpt = Annotated[Path | None, typer.Option("--spool", help="the spool root (default SSCARD_FEED_SPOOL or "
                                                              "var/feeds); the partner's in/ out/ done/ "
                                                              "rejected/ lie under <root>/<dept-CODE>/")]


@feeds_app.command("import")
@domain_errors
def import_spool(partner: PartnerArg, spool: SpoolOpt = None,
                 inbox: Annotated[Path | None, typer.Option("--in", help="the in spool (overrides --spool)")] = None,
                 outbox: Annotated[Path | None, typer.Option("--out", help="the out spool")] = None,
                 as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Import every file waiting in the partner's in spool, in sequence order; each file whole or not at all
    (refused files go to rejected/ with a reason file); answers go to the out spool. Exit 1 if any was refused."""
    from dataclasses import replace

    from sscard.exchange.feeds import spool as spools

    db, actor = db_and_actor(operator)
    where = spools.Spool.under(partner, spool)
    if inbox is not None:
        where = replace(where, inbox=inbox)
    if outbox is not None:
        where = replace(where, outbox=outbox)
    result = spools.run(db, actor, where)
    show(result.model_dump(mode="json"), as_json,
         f"{partner}: {len(result.imported)} imported, {len(result.rejected)} refused")
    if result.rejected:
        raise typer.Exit(1)


@feeds_app.command("status")
@domain_errors
def status(partner: Annotated[str | None, typer.Option(help="only this partner's")] = None,
           limit: int = 50, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The files imported and refused, newest first."""
    from sscard.exchange.feeds import service

    db, actor = db_and_actor(operator)
    found = service.files(db, actor, partner, None, limit)
    show([f.model_dump(mode="json") for f in found], as_json, f"{len(found)} feed files")


@feeds_app.command("rejected")
@domain_errors
def rejected(partner: Annotated[str | None, typer.Option(help="only this partner's")] = None,
             limit: int = 50, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The refused files with their codes."""
    from sscard.exchange.feeds import service

    db, actor = db_and_actor(operator)
    found = service.files(db, actor, partner, "rejected", limit)
    show([f.model_dump(mode="json") for f in found], as_json, f"{len(found)} refused feed files")


@feeds_app.command("cases")
@domain_errors
def cases(queue: Annotated[str | None, typer.Option(help="exception or review")] = None,
          all_states: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False,
          as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """The exceptions queue and the review cases the feeds opened."""
    from sscard.exchange.feeds import service

    db, actor = db_and_actor(operator)
    found = service.cases(db, actor, queue, None if all_states else "open")
    show([c.model_dump(mode="json") for c in found], as_json, f"{len(found)} feed cases")


@feeds_app.command("resolve")
@domain_errors
def resolve(case_id: int, resolution: Annotated[str, typer.Argument(help="dismiss, done or apply_death")],
            as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Close a case (apply_death: a cremation public security did not report, confirmed by a supervisor)."""
    from sscard.exchange.feeds import service

    db, actor = db_and_actor(operator)
    show(service.resolve(db, actor, case_id, resolution).model_dump(mode="json"), as_json, "case resolved")


@feeds_app.command("seal")
@domain_errors
def seal(plain: Annotated[Path, typer.Argument(help="a FEED1 plaintext", exists=True, dir_okay=False)],
         output: Annotated[Path, typer.Argument(help="where the FEEDX1 envelope goes")]) -> None:
    """Encrypt and MAC a FEED1 plaintext under its partner's key (the keystore's, or the demo key)."""
    from sscard.exchange.feeds import formats

    output.write_bytes(formats.seal(plain.read_bytes()))


@feeds_app.command("bulk")
@domain_errors
def bulk(department: Annotated[str, typer.Option("--department", help="the department's code, e.g. PSB")],
         spool: SpoolOpt = None, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Answer the department's bulk verification files waiting in <root>/dept-CODE/bulk/in/ (docs/exchange.md):
    each answered whole under its agreement into bulk/out/, or refused whole into bulk/rejected/. Exit 1 if any
    was refused."""
    from sscard.exchange.feeds import bulk as bulk_ferry

    db, actor = db_and_actor(operator)
    result = bulk_ferry.run(db, actor, bulk_ferry.BulkSpool.under(department, spool))
    show(result.model_dump(mode="json"), as_json,
         f"{department}: {len(result.answered)} answered, {len(result.rejected)} refused")
    if result.rejected:
        raise typer.Exit(1)


@feeds_app.command("bulk-seal")
@domain_errors
def bulk_seal(plain: Annotated[Path, typer.Argument(help="a BULK1 plaintext", exists=True, dir_okay=False)],
              output: Annotated[Path, typer.Argument(help="where the FEEDX1 envelope goes")]) -> None:
    """Encrypt and MAC a BULK1 plaintext under its partner's key (the keystore's, or the demo key)."""
    from sscard.exchange.feeds import bulk as bulk_ferry

    output.write_bytes(bulk_ferry.seal_request(plain.read_bytes()))
