"""``sscard bank …``: the simulated bank — serve it on loopback, open accounts (one, or one per card with a bank
account), change their state, deposit, inspect. The bank's own commands: they act as the bank, not as an
operator of the bureau."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sscard.cli.common import JsonOpt, console, domain_errors, open_db, show

bank_app = typer.Typer(help="The simulated cooperating bank (demo and tests)", no_args_is_help=True)


@bank_app.command("serve")
def serve(port: Annotated[int, typer.Option(help="loopback port")] = 8765,
          host: Annotated[str, typer.Option(help="address to bind (loopback only by default)")] = "127.0.0.1",
          keystore: Annotated[Path | None, typer.Option(help="the issuer's card keys, for card purchases (default: "
                                                             "$SSCARD_BANK_KEYSTORE or var/keystore.json)")] = None,
          ) -> None:
    """Serve the simulated bank over HTTP (point SSCARD_BANK_MODE=http and SSCARD_BANK_URL at it); it also
    authorises card purchases as the cards' issuer (``/banks/{bank}/card-authorisations``)."""
    import uvicorn

    from sscard.banks.cardauth import CardIssuer, keystore_keys
    from sscard.banks.http_service import create_bank_app

    db = open_db()
    console.print(f"simulated bank on http://{host}:{port} (docs at /docs)")
    uvicorn.run(create_bank_app(db, CardIssuer(db, keystore_keys(keystore))), host=host, port=port,
                log_level="warning", access_log=False)


@bank_app.command("sync-cards")
@domain_errors
def sync_cards(as_json: JsonOpt = False) -> None:
    """Open an account for every valid card whose bank returned an account number."""
    from sscard.banks.simulated import SimulatedBank

    show({"opened": SimulatedBank(open_db()).sync_from_cards()}, as_json, "accounts opened from cards")


@bank_app.command("open")
@domain_errors
def open_account(bank_code: str, account_no: str, holder_name: str, id_number: str = "",
                 state: str = "normal", balance: int = 0,
                 activated: Annotated[bool, typer.Option(help="financial function activated")] = True,
                 as_json: JsonOpt = False) -> None:
    """Open one account (balance in fen)."""
    from sscard.banks.simulated import SimulatedBank

    SimulatedBank(open_db()).open_account(bank_code, account_no, holder_name, id_number, state=state,
                                          financial_activated=activated, balance=balance)
    show({"bank_code": bank_code, "account_no": account_no}, as_json, "account opened")


@bank_app.command("state")
@domain_errors
def set_state(bank_code: str, account_no: str, state: str, as_json: JsonOpt = False) -> None:
    """Set an account's state: normal, frozen, closed or lost."""
    from sscard.banks.simulated import SimulatedBank

    SimulatedBank(open_db()).set_state(bank_code, account_no, state)
    show({"bank_code": bank_code, "account_no": account_no, "state": state}, as_json, "account state set")


@bank_app.command("deposit")
@domain_errors
def deposit(bank_code: str, account_no: str, amount: int, as_json: JsonOpt = False) -> None:
    """Pay cash into an account (fen)."""
    from sscard.banks.simulated import SimulatedBank

    show({"balance": SimulatedBank(open_db()).deposit(bank_code, account_no, amount)}, as_json, "deposited",
         money=("balance",))


@bank_app.command("status")
@domain_errors
def status(bank_code: str, account_no: str, as_json: JsonOpt = False) -> None:
    """An account's state, financial function, holder and balance."""
    from sscard.banks.simulated import SimulatedBank

    bank = SimulatedBank(open_db())
    found = bank.account_status(bank_code, account_no)
    body: dict[str, Any] = {"bank_code": bank_code, "account_no": account_no, "exists": found.exists}
    if found.exists:
        body |= {"state": found.state, "financial_activated": found.financial_activated,
                 "holder_name": found.holder_name, "balance": bank.balance(bank_code, account_no)}
    show(body, as_json, f"account at {bank_code}", money=("balance",))


@bank_app.command("totals")
@domain_errors
def totals(bank_code: str, as_json: JsonOpt = False) -> None:
    """Σ holder balances and the bureau's settlement account at this bank (fen)."""
    from sscard.banks.simulated import SimulatedBank

    bank = SimulatedBank(open_db())
    show({"bank_code": bank_code, "holders": bank.holders_total(bank_code), "bureau": bank.bureau_balance(bank_code)},
         as_json, f"totals at {bank_code}", money=("holders", "bureau"))
