"""sscard CLI: serve, migrate, demo, jobs, audit, person and card commands."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import pydantic
import typer

from sscard import jobs, migrate
from sscard.access import SYSTEM_ACTOR, Actor
from sscard.audit import service as audit
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.issuance import Applied
from sscard.cards.schemas import CardOut
from sscard.cards.states import AppStatus, CancelReason, ExchangeReason, ProductionStatus
from sscard.cli.banks import bank_app
from sscard.cli.card import card_app
from sscard.cli.common import JsonOpt, OperatorOpt, console, domain_errors, err, output, print_json
from sscard.cli.common import actor_for as _actor
from sscard.cli.common import open_db as _db
from sscard.cli.dr import dr_app
from sscard.cli.exchange import exchange_app
from sscard.cli.exchange_feeds import feeds_app
from sscard.cli.funds import funds_app
from sscard.cli.kms import kms_app
from sscard.cli.medical import medical_app
from sscard.cli.operators import operator_app
from sscard.cli.production import production_app, stats_app
from sscard.cli.remote import hub_app, remote_app
from sscard.cli.settle import settle_trial
from sscard.cli.transfer import transfer_app
from sscard.cli.transition import transition_app
from sscard.cli.treasury import treasury_app
from sscard.config import InsecureSettings, Mode, Settings, get_settings, require_safe, secret_problems
from sscard.db import Database
from sscard.portal.reads import mask_phone
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.schemas import LivingStatus, PersonIn, PersonOut

app = typer.Typer(help="sscard — 社会保障卡管理系统 command line", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log", no_args_is_help=True)
person_app = typer.Typer(help="Persons (registry)", no_args_is_help=True)
cardlife_app = typer.Typer(help="Card lifecycle", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")
app.add_typer(person_app, name="person")
app.add_typer(cardlife_app, name="cards")
app.add_typer(production_app, name="production")
app.add_typer(stats_app, name="stats")
app.add_typer(card_app, name="card")

app.command("settle-trial")(settle_trial)
app.add_typer(medical_app, name="medical")
app.add_typer(funds_app, name="funds")
app.add_typer(bank_app, name="bank")
app.add_typer(operator_app, name="operator")
app.add_typer(kms_app, name="kms")
app.add_typer(dr_app, name="dr")
app.add_typer(transition_app, name="transition")
app.add_typer(transfer_app, name="transfer")
app.add_typer(hub_app, name="hub")
app.add_typer(remote_app, name="remote")
app.add_typer(treasury_app, name="treasury")
app.add_typer(feeds_app, name="exchange-feeds")
app.add_typer(exchange_app, name="exchange")


# Commands that hold no secret and open no key: they run whatever the mode (doctor reports the unsafe settings).
NO_SECRETS = frozenset({"doctor", "settle-trial", "dr"})


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except pydantic.ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]bad setting[/red] SSCARD_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}",
                      highlight=False)
        raise typer.Exit(2) from None


def _safe_settings_or_exit() -> Settings:
    """The settings if this process may open the database and the keys with them; else exit status 2."""
    settings = _settings_or_exit()
    try:
        return require_safe(settings)
    except InsecureSettings as exc:
        err.print(f"[red]refusing to start[/red] (SSCARD_MODE={settings.mode.value}):", highlight=False)
        for problem in exc.problems:
            err.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(2) from None


@app.callback()
def _check_settings(ctx: typer.Context) -> None:
    """Every command that opens the database or the keys first checks the secrets (``config.require_safe``)."""
    if ctx.invoked_subcommand in NO_SECRETS or "--help" in sys.argv[1:]:
        return
    _safe_settings_or_exit()


@app.command("migrate")
def migrate_cmd(revision: str = "head") -> None:
    """Create or upgrade the schema (Alembic)."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    console.print(f"schema at {revision} on {url.split('@')[-1]}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    from sscard.api.app import configure_logging

    configure_logging(get_settings().log_json)
    # log_config=None: uvicorn's records go through the masking handler configure_logging installs (no ID
    # number from a raw path or a traceback in the server's own log lines).
    uvicorn.run("sscard.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", log_config=None)


@app.command()
@domain_errors
def demo(persons: int = 400, serve_after: Annotated[bool, typer.Option("--serve")] = False,
         host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate and load the demo city (if the database is empty); with --serve, serve it at once.

    With --serve the population loads in the background, so the pages answer within seconds.
    """
    import threading
    from pathlib import Path

    import uvicorn

    from sscard.api.app import configure_logging, create_app
    from sscard.demo.city import DEMO_PASSWORD, describe, load_city, seed_city, seed_staff
    from sscard.demo.issued import DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD, KIOSK_IMAGE, key_manager
    from sscard.demo.models import is_demo, mark_demo
    from sscard.stats.service import overview
    from sscard.terminal.station import IMAGE_ENV, KEYSTORE_ENV

    if serve_after:
        _port_free_or_exit(host, port)  # before anything is printed or loaded: a busy port fails at once
    url = get_settings().database_url
    new_database = _is_new_database(url)
    migrate.upgrade(url)
    db = Database(url)
    if new_database:
        mark_demo(db)
    elif not is_demo(db):
        err.print(f"[red]NOT_A_DEMO_DATABASE[/red]: {url.split('@')[-1]} was not created by `sscard demo`; "
                  "refusing to seed demo operators into it (point SSCARD_DATABASE_URL at a new database, or "
                  "`make clean` for the demo's own SQLite file)", highlight=False)
        raise typer.Exit(2)
    # The demo kiosk's card in the slot is the demo cardholder's chip image; the keystore is made now, before
    # the loader (card maker) and the kiosk open it from two threads.
    os.environ.setdefault(IMAGE_ENV, str(Path("var") / "cards" / KIOSK_IMAGE))
    key_manager(Path("var") / "keystore.json")
    os.environ.setdefault(KEYSTORE_ENV, str(Path("var") / "keystore.json"))
    loader: threading.Thread | None = None
    if overview(db).persons == 0 and not auth.list_operators(db, SYSTEM_ACTOR):
        users = seed_staff(db)
        if serve_after:
            loader = threading.Thread(target=load_city, args=(db, persons), daemon=True, name="demo-city")
        else:
            console.print(describe(seed_city(db, persons, show_progress=True)), markup=False, soft_wrap=True)
    else:
        console.print("demo data already present; keeping it (make clean to start over)")
        users = [(o.username, o.role) for o in auth.list_operators(db, SYSTEM_ACTOR)]
    if not serve_after:
        return
    base = f"http://{host}:{port}"
    console.print(f"\n[bold]sscard demo[/bold] on {base}\n  landing page  {base}/\n  counter       {base}/counter\n"
                  f"  dashboard     {base}/dashboard\n  API docs      {base}/docs\n"
                  f"  OpenAPI       {base}/openapi.json\n  metrics       {base}/metrics\n"
                  f"  log in as admin / supervisor / counter01 … with password {DEMO_PASSWORD}\n"
                  f"  portal        {base}/portal/login\n"
                  f"    cardholder: ID {DEMO_HOLDER_ID}, query password {DEMO_QUERY_PASSWORD}\n"
                  f"  kiosk         {base}/kiosk (that card is in the slot)\n"
                  + (f"  loading {persons} demo persons in the background …\n" if loader else ""))
    if loader:
        loader.start()
    configure_logging(get_settings().log_json)
    uvicorn.run(create_app(db, {"password": DEMO_PASSWORD, "users": users}), host=host, port=port,
                log_level="warning", log_config=None)


def _port_free_or_exit(host: str, port: int) -> None:
    """Bind the address once to see that it is free; if not, say so (with how to choose another) and exit 2."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            err.print(f"[red]PORT_IN_USE[/red]: {host}:{port} is not free ({exc.strerror}); choose another port "
                      f"with `make demo PORT=8080` or `sscard demo --serve --port 8080`", highlight=False)
            raise typer.Exit(2) from exc


def _is_new_database(url: str) -> bool:
    """No table at all: the database is being created now (by the command asking)."""
    import sqlalchemy as sa

    from sscard.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False) -> None:
    """List what is unsafe for production: the mode, public/empty/short secrets, a demo database, operators
    with the demo password, administrators without TOTP. Exit 0 nothing found, 1 findings, 2 bad settings."""
    settings = _settings_or_exit()
    findings: list[str] = []
    if settings.mode is not Mode.PRODUCTION:
        findings.append(f"SSCARD_MODE={settings.mode.value}: public demo secrets and demo data are accepted "
                        "(production, the default, refuses them)")
    findings += secret_problems(settings, strict=True)
    findings += _database_findings(settings)
    if as_json:
        print_json({"mode": settings.mode.value, "unsafe": findings})
    elif findings:
        err.print(f"[red]{len(findings)} unsafe[/red] (SSCARD_MODE={settings.mode.value}):", highlight=False)
        for finding in findings:
            err.print(f"  - {finding}", highlight=False, markup=False)
    else:
        console.print("[green]nothing unsafe found[/green]")
    if findings:
        raise typer.Exit(1)


def _database_findings(settings: Settings) -> list[str]:
    import sqlalchemy as sa
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    from sscard.auth.models import Operator, OperatorTotp
    from sscard.demo.city import DEMO_PASSWORD
    from sscard.demo.models import kind_of

    where = settings.database_url.split("@")[-1]
    try:
        db = Database(settings.database_url)
        tables = set(sa.inspect(db.engine).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        return [f"database {where} does not answer: {type(exc).__name__}"]
    findings = []
    try:
        if "operators" not in tables:
            return [f"database {where} has no schema (run `sscard migrate`)"]
        if "instance_marks" in tables and kind_of(db) == "demo":
            findings.append(f"database {where} was created by `sscard demo` (demo operators, demo password)"
                            + (" and is used in production mode" if settings.mode is Mode.PRODUCTION else ""))
        hasher = PasswordHasher()
        with db.unit_of_work() as s:
            operators = s.scalars(sa.select(Operator).where(Operator.active.is_(True))).all()
            enrolled = set(s.scalars(sa.select(OperatorTotp.operator_id).where(OperatorTotp.enabled.is_(True))))
            for op in operators:
                try:
                    if op.password_hash and hasher.verify(op.password_hash, DEMO_PASSWORD):
                        findings.append(f"operator {op.username} has the public demo password")
                except (VerificationError, InvalidHashError):
                    pass
                if op.role == "admin" and op.id not in enrolled:
                    findings.append(f"administrator {op.username} has no TOTP enrolled")
    finally:
        db.dispose()
    return findings


@jobs_app.command("run")
@domain_errors
def jobs_run(operator: OperatorOpt = "system",
             now: Annotated[str | None, typer.Option(help="ISO instant to run as of")] = None,
             as_json: JsonOpt = False) -> None:
    """Run every due job (temporary losses lapse, …)."""
    db = _db()
    at = dt.datetime.fromisoformat(now) if now else None
    output(jobs.run_due(db, _actor(db, operator), at), as_json, "jobs run (count per job)")


@audit_app.command("verify")
@domain_errors
def audit_verify(operator: OperatorOpt = "system") -> None:
    """Recompute the keyed chain and check it against the anchors; exit 1 if any record was changed, removed,
    reordered or re-hashed, or the tail was cut and the head rewound."""
    db = _db()
    result = audit.verify(db, _actor(db, operator))
    for warning in result.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)
    if result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.checked} records, keyed from record "
                      f"{result.keyed_from}, {result.anchors} anchors checked"
                      + (f" (latest at record {result.latest_anchor_seq})" if result.latest_anchor_seq else ""),
                      highlight=False)
        return
    where = f"at record {result.first_bad_seq}" if result.first_bad_seq is not None else "in the anchors"
    err.print(f"[red]AUDIT CHAIN BROKEN[/red] {where}: {result.reason} "
              f"({result.checked} records verified before it)", highlight=False)
    raise typer.Exit(1)


@audit_app.command("anchor")
@domain_errors
def audit_anchor(operator: OperatorOpt = "system") -> None:
    """Write a signed checkpoint of the chain head to SSCARD_AUDIT_ANCHOR_DIR (a new file; nothing if the head
    has not moved since the latest one)."""
    db = _db()
    written = audit.anchor(db, _actor(db, operator))
    if written is None:
        console.print("head unchanged since the latest anchor: nothing written")
        return
    console.print(f"anchored record {written.seq} ({written.head[:16]}…) in {written.file}", highlight=False)


def _person_view(person: Any, as_json: bool, full_id: bool = False) -> dict[str, Any]:
    """A person as the CLI prints it: ID number (and an old one) and phone masked unless the whole number was
    asked for (``registry.get_with_full_id``, audited); for a person the codes with their names."""
    data = PersonOut.model_validate(person).model_dump(mode="json")
    if not as_json:
        data["sex"] = {"1": "1 male", "2": "2 female"}.get(data["sex"], data["sex"])
        data["living_status"] = _status_text(LivingStatus, data["living_status"])
    if not full_id:
        data["id_number"] = idnumber.mask(person.id_number)
        data["legacy_id_number"] = idnumber.mask(person.legacy_id_number) if person.legacy_id_number else None
        data["phone"] = mask_phone(person.phone)
    return data


def _card_view(card: Any, as_json: bool, brief: bool = False) -> dict[str, Any]:
    """A card as the CLI prints it: for machines the stable codes; for a person each status with its name (and,
    ``brief``, in a person's list of cards, only what tells the cards apart)."""
    data = CardOut.model_validate(card).model_dump(mode="json")
    if brief and not as_json:
        data = {k: data[k] for k in ("card_no", "production_status", "app_status", "bank_code", "issued_at",
                                     "expires_on")}
    if not as_json:
        data["production_status"] = _status_text(ProductionStatus, data["production_status"])
        data["app_status"] = _status_text(AppStatus, data["app_status"])
    return data


def _status_text(kind: type[ProductionStatus] | type[AppStatus] | type[LivingStatus], code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return f"{code} {kind(code).name.lower().replace('_', ' ')}"
    except ValueError:
        return code


@person_app.command("add")
@domain_errors
def person_add(id_number: str, name: str, region: str, phone: str | None = None,
               operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Register a person (printed with the ID number masked)."""
    db = _db()
    person = registry.register(db, _actor(db, operator),
                               PersonIn(id_number=id_number, name=name, region_code=region, phone=phone))
    output(_person_view(person, as_json), as_json, "person registered")


@person_app.command("show")
@domain_errors
def person_show(id_number: str, operator: OperatorOpt = "system", as_json: JsonOpt = False,
                full_id: Annotated[bool, typer.Option(
                    "--full-id", help="print the whole ID number and phone (needs person.write; audited as "
                                      "person.read_full_id)")] = False) -> None:
    """Show a person and their cards; the ID number and phone are masked unless --full-id."""
    db = _db()
    actor = _actor(db, operator)
    person = (registry.get_with_full_id(db, actor, id_number, "sscard person show --full-id") if full_id
              else registry.get(db, actor, id_number))
    data = _person_view(person, as_json, full_id)
    data["cards"] = [_card_view(c, as_json, brief=True) for c in cards.cards_of_person(db, actor, id_number)]
    output(data, as_json, f"person {data['name']}")


@person_app.command("search")
@domain_errors
def person_search(name: Annotated[str | None, typer.Argument(help="part of the name")] = None,
                  region: Annotated[str | None, typer.Option(help="division code, e.g. 441802")] = None,
                  limit: int = 50, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Find persons by part of the name and/or division (ID numbers masked)."""
    db = _db()
    found = registry.search(db, _actor(db, operator), name=name, region_code=region, limit=limit)
    rows = [{k: v for k, v in _person_view(p, as_json).items() if k in _SEARCH_COLUMNS} for p in found]
    output(rows, as_json, f"{len(rows)} persons")


_SEARCH_COLUMNS = ("id_number", "name", "sex", "birth_date", "region_code", "living_status")


def _card_out(card: Any, as_json: bool = False) -> None:
    output(_card_view(card, as_json), as_json, f"card {card.card_no}")


def _applied_out(applied: Applied, as_json: bool = False) -> None:
    output({"card_no": applied.card.card_no, "receipt_no": applied.fee.receipt_no,
            "fee_fen": applied.fee.amount_fen}, as_json, "application accepted")


def _card_command(name: str, use_case: Callable[[Database, Actor, str], Any], help_text: str) -> None:
    """Register ``sscard cards NAME CARD_NO``: one use case on one card, printing the card afterwards."""

    @cardlife_app.command(name, help=help_text)
    @domain_errors
    def command(card_no: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
        db = _db()
        _card_out(use_case(db, _actor(db, operator), card_no), as_json)


for _name, _use_case, _help in (
    ("show", cards.get_card, "Show a card."),
    ("pickup", cards.pick_up, "领卡: hand the card over at this outlet (it becomes sealed)."),
    ("temporary-loss", cards.report_temporary_loss, "临时挂失: freeze at once; lapses after the configured days."),
    ("formal-loss", cards.report_formal_loss, "正式挂失."),
    ("lift-loss", cards.lift_loss, "解挂: only before a replacement is requested."),
    ("unlock", cards.unlock, "解锁 after too many wrong PINs."),
):
    _card_command(_name, _use_case, _help)


@cardlife_app.command("apply")
@domain_errors
def cards_apply(id_number: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """New application (新申领)."""
    db = _db()
    _applied_out(cards.apply_new(db, _actor(db, operator), id_number), as_json)


@cardlife_app.command("produce")
@domain_errors
def cards_produce(card_no: str, to_status: ProductionStatus, outlet: str | None = None,
                  operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Advance the production status (00→10→20→30→60; failures 22/32)."""
    db = _db()
    _card_out(cards.advance_production(db, _actor(db, operator), card_no, to_status, outlet), as_json)


@cardlife_app.command("activate")
@domain_errors
def cards_activate(card_no: str, pin: Annotated[str, typer.Option(prompt=True, hide_input=True)],
                   operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """激活: set the medical PIN (never 123456)."""
    db = _db()
    _card_out(cards.activate(db, _actor(db, operator), card_no, pin), as_json)


@cardlife_app.command("replace")
@domain_errors
def cards_replace(card_no: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """补卡 (needs a formal loss); prints the new card number and the fee receipt."""
    db = _db()
    _applied_out(cards.apply_replacement(db, _actor(db, operator), card_no), as_json)


@cardlife_app.command("exchange")
@domain_errors
def cards_exchange(card_no: str, reason: ExchangeReason, operator: OperatorOpt = "system",
                   as_json: JsonOpt = False) -> None:
    """换卡 with a reason; prints the new card number and the fee receipt."""
    db = _db()
    _applied_out(cards.apply_exchange(db, _actor(db, operator), card_no, reason), as_json)


@cardlife_app.command("cancel")
@domain_errors
def cards_cancel(card_no: str, reason: CancelReason, operator: OperatorOpt = "system",
                 as_json: JsonOpt = False) -> None:
    """注销: death, emigration or transfer out."""
    db = _db()
    _card_out(cards.cancel(db, _actor(db, operator), card_no, reason), as_json)


@app.command("operator-add")
@domain_errors
def operator_add(username: str, role: str, outlet: str | None = None,
                 display_name: str | None = None, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Create an operator; the password is read from SSCARD_NEW_PASSWORD or prompted."""
    from sscard.access import Role

    password = os.environ.get("SSCARD_NEW_PASSWORD") or typer.prompt("password", hide_input=True,
                                                                      confirmation_prompt=True)
    db = _db()
    op = auth.create_operator(db, _actor(db, operator), username, display_name or username, Role(role),
                              password, outlet)
    output({"username": op.username, "role": op.role}, as_json, "operator added")


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
