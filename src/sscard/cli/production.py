"""``sscard production …`` (imports, comparison, exceptions, batches, file exchange, simulated partners) and
``sscard stats progress``. Domain errors exit with status 2 and the stable code, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sscard.cli.card import KeystoreOpt, key_manager
from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, err, show
from sscard.production.schemas import Resolution
from sscard.registry.regions import CITY_CODE

# The services (DuckDB, Arrow, pypinyin) are imported inside the commands, so that every other ``sscard``
# command starts without paying for them.

production_app = typer.Typer(help="Card production: collection, comparison, batches, banks, card maker",
                             no_args_is_help=True)
stats_app = typer.Typer(help="Statistics", no_args_is_help=True)
out = console
_handled = domain_errors


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None


def _require(path: Path) -> None:
    if not path.is_file():
        err.print(f"[red]error:[/red] no file at {path}")
        raise typer.Exit(2)


@production_app.command("import-collection")
@_handled
def import_collection(path: Path, photos: Annotated[Path | None, typer.Option(help="photo directory")] = None,
                      as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Import collection data (.csv or .parquet) with a progress bar; bad rows listed with row numbers."""
    from sscard.production import service as production

    db, actor = db_and_actor(operator)
    _require(path)
    done = production.import_collection(db, actor, path, photo_root=photos, show_progress=True)
    show(done.model_dump(), as_json, "collection imported")


@production_app.command("import-population")
@_handled
def import_population(path: Path, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Import the public-security population extract (.csv or .parquet)."""
    from sscard.production import service as production

    db, actor = db_and_actor(operator)
    _require(path)
    show(production.import_population(db, actor, path, show_progress=True).model_dump(), as_json, "population imported")


@production_app.command("compare")
@_handled
def compare(import_id: Annotated[int | None, typer.Option()] = None, as_json: JsonOpt = False,
            operator: OperatorOpt = "system") -> None:
    """Compare pending collected records with the register; exceptions queued, clean records approved."""
    from sscard.production import service as production

    db, actor = db_and_actor(operator)
    show(production.run_comparison(db, actor, import_id).model_dump(), as_json, "comparison")


@production_app.command("exceptions")
@_handled
def exceptions(status: str = "open", reason: str | None = None, limit: int = 100, import_id: int | None = None,
               as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """List the exceptions queue."""
    from sscard.production import service as production

    db, actor = db_and_actor(operator)
    found = production.list_exceptions(db, actor, status, reason, limit, 0, import_id)
    show([e.model_dump() for e in found], as_json, f"{len(found)} exceptions ({status})")


@production_app.command("resolve")
@_handled
def resolve(exception_id: int, resolution: Resolution, as_json: JsonOpt = False,
            operator: OperatorOpt = "system") -> None:
    """Resolve one exception: take_register, accept, reject or send_back (audited)."""
    from sscard.production import service as production

    db, actor = db_and_actor(operator)
    show(production.resolve_exception(db, actor, exception_id, resolution).model_dump(), as_json, "exception resolved")


@production_app.command("batch")
@_handled
def batch(max_per_batch: int = 10_000, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Group approved cards (and failed ones) into batches by cooperating bank."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    show([b.model_dump() for b in batches.create_batches(db, actor, max_per_batch)], as_json, "batches created")


@production_app.command("batches")
@_handled
def list_batches(stage: str | None = None, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    show([b.model_dump() for b in batches.list_batches(db, actor, stage)], as_json, "batches")


@production_app.command("bank-file")
@_handled
def bank_file(batch_no: str, out_path: Path, operator: OperatorOpt = "system") -> None:
    """Write the account-opening file (KH) of a batch."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    out_path.write_bytes(batches.export_bank_file(db, actor, batch_no))
    out.print(f"wrote {out_path}")


@production_app.command("bank-return")
@_handled
def bank_return(path: Path, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Import a bank's return file (KR)."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    show(batches.import_bank_return(db, actor, _read(path)).model_dump(), as_json, "bank return imported")


@production_app.command("maker-file")
@_handled
def maker_file(batch_no: str, out_path: Path, keystore: KeystoreOpt = Path("var/keystore.json"),
               operator: OperatorOpt = "system") -> None:
    """Write the personalisation file (ZK) of a batch, sensitive fields sealed for the card maker."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    psam = key_manager(keystore, CITY_CODE).issue_psam(CITY_CODE)
    out_path.write_bytes(batches.export_maker_file(db, actor, batch_no, psam))
    out.print(f"wrote {out_path}")


@production_app.command("maker-return")
@_handled
def maker_return(path: Path, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Import the card maker's return file (ZR)."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    show(batches.import_maker_return(db, actor, _read(path)).model_dump(), as_json, "card maker return imported")


@production_app.command("hand-over")
@_handled
def hand_over(batch_no: str, outlet: str | None = None, as_json: JsonOpt = False,
              operator: OperatorOpt = "system") -> None:
    """Send the batch's made cards to an outlet (default: the bank's outlet in each holder's division)."""
    from sscard.production import batches

    db, actor = db_and_actor(operator)
    show(batches.hand_over(db, actor, batch_no, outlet).model_dump(), as_json, "handed over")


@production_app.command("simulate-bank")
@_handled
def simulate_bank(request: Path, answer: Path, failure_rate: float = 0.02, seed: int = 0) -> None:
    """The embedded bank: read an account-opening file, write its return."""
    from sscard.production.simulators import AccountOpeningBank

    answer.write_bytes(AccountOpeningBank(failure_rate, seed).answer(_read(request)))
    out.print(f"wrote {answer}")


@production_app.command("simulate-maker")
@_handled
def simulate_maker(request: Path, answer: Path, images: Path = Path("var/cards"), failure_rate: float = 0.01,
                   seed: int = 0, keystore: KeystoreOpt = Path("var/keystore.json")) -> None:
    """The embedded card maker: personalise card images into IMAGES and write the return."""
    from sscard.production.simulators import SimulatedMaker

    maker = SimulatedMaker(key_manager(keystore, CITY_CODE), images, failure_rate, seed)
    answer.write_bytes(maker.answer(_read(request)))
    out.print(f"wrote {answer}")


@stats_app.command("progress")
@_handled
def stats_progress(as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Cards issued and active by division, bank and month against the 3 M / 4 M / 95% targets."""
    from sscard.production import progress

    db, actor = db_and_actor(operator)
    data = progress.progress(db, actor).model_dump(mode="json")
    if not as_json:  # each breakdown as a table of its own: one row per division, bank or month
        for key, label in (("by_division", "division"), ("by_bank", "bank"), ("by_month", "month")):
            data[key] = [{label: k, **v} for k, v in data[key].items()]
    show(data, as_json, "card issuance progress")
