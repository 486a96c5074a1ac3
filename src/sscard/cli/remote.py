"""``sscard hub …``: the provincial hub (serve, register a centre, the monthly clearing, the reconciliation
queue) and ``sscard remote …``: a centre's cross-region jobs (the nightly close of half-known messages,
registrations, settlements by message id). docs/cross-region.md. Domain errors exit with status 2."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, show
from sscard.db import Database
from sscard.remote import service
from sscard.remote.config import HubSettings
from sscard.remote.hub import Hub, create_schema
from sscard.remote.schemas import RegistrationIn

hub_app = typer.Typer(help="The provincial hub of cross-region settlement (省级异地就医结算平台)", no_args_is_help=True)
remote_app = typer.Typer(help="Cross-region medical settlement at this centre (异地就医)", no_args_is_help=True)


def _hub() -> Hub:
    settings = HubSettings()
    db = Database(settings.database_url)
    create_schema(db)
    hub = Hub(db, settings)
    for region, centre in settings.centres.items():
        hub.register(region, centre.get("name", region), centre["url"], centre.get("bank_code", "ICBC"),
                     centre.get("account_no", ""), centre.get("account_name", ""))
    return hub


@hub_app.command("serve")
def serve(port: Annotated[int, typer.Option(help="port")] = 8790,
          host: Annotated[str, typer.Option(help="address to bind (loopback by default)")] = "127.0.0.1") -> None:
    """Serve the hub (its own database: SSCARD_HUB_DATABASE_URL; centres from SSCARD_HUB_CENTRES and
    ``sscard hub register``)."""
    import uvicorn

    from sscard.remote.hub import create_hub_app

    hub = _hub()
    console.print(f"provincial hub {hub.region} on http://{host}:{port}")
    uvicorn.run(create_hub_app(hub), host=host, port=port, log_level="warning", access_log=False)


@hub_app.command("register")
@domain_errors
def register_centre(region: str, name: str, url: str,
                    bank_code: Annotated[str, typer.Option(help="the centre's clearing bank")] = "ICBC",
                    account_no: Annotated[str, typer.Option(help="its account there")] = "") -> None:
    """Register (or update) a centre: 统筹区 code, name, base URL."""
    hub = _hub()
    hub.register(region, name, url, bank_code, account_no)
    console.print(f"{region} {name} → {url}")


@hub_app.command("clear")
@domain_errors
def clear(month: str, as_json: JsonOpt = False) -> None:
    """清算 of a month (YYYY-MM): statements from every centre, differences queued, agreed positions netted."""
    hub = _hub()
    show(hub.clear(month), as_json, title=f"clearing {month}")


@remote_app.command("close-pending")
@domain_errors
def close_pending(older_than: Annotated[int, typer.Option(help="seconds a message must be unanswered")] = 600,
                  operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The nightly job: settle messages still unanswered are cancelled at the home city (reversed there if
    they had settled); undistributed registrations are sent again."""
    db, actor = db_and_actor(operator)
    show(service.close_pending(db, actor, dt.timedelta(seconds=older_than)), as_json)


@remote_app.command("register")
@domain_errors
def register(person_id: int, kind: str, treating_region: Annotated[str, typer.Option("--to")],
             starts_on: Annotated[str, typer.Option("--from")],
             ends_on: Annotated[str | None, typer.Option("--until")] = None,
             document: Annotated[list[str] | None, typer.Option("--document")] = None,
             operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """异地就医备案 for a person of this city (kind: retired_relocated, long_term_resident, resident_work,
    referral, temporary)."""
    db, actor = db_and_actor(operator)
    req = RegistrationIn.model_validate({"person_id": person_id, "kind": kind, "treating_region": treating_region,
                                         "starts_on": starts_on, "ends_on": ends_on, "documents": document or []})
    show(service.register(db, actor, req).model_dump(mode="json"), as_json)


@remote_app.command("settlement")
@domain_errors
def settlement(msg_id: str, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """The remote settlement a cross-region message id made, as this city holds it."""
    db, actor = db_and_actor(operator)
    show(service.settlement_by_msg(db, actor, msg_id).model_dump(mode="json"), as_json)
