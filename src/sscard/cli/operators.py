"""sscard operator …: the way back in that needs no database edit — run on the server host, as the system
actor by default (audited as ``system``): lift a login lock, reset a password or a lost second factor."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sscard.auth import service as auth
from sscard.cli.common import JsonOpt, OperatorOpt, console, db_and_actor, domain_errors, output

operator_app = typer.Typer(help="Operators: login locks, password and second-factor resets, disable and enable",
                           no_args_is_help=True)


@operator_app.command("unlock")
@domain_errors
def unlock(username: Annotated[str | None, typer.Argument(help="the operator to unlock")] = None,
           address: Annotated[str | None, typer.Option(help="also (or only) unlock this client address")] = None,
           operator: OperatorOpt = "system") -> None:
    """Lift an operator's temporary login lock (and/or a client address's) and forget the failures."""
    if not username and not address:
        raise typer.BadParameter("give an operator user name or --address")
    db, actor = db_and_actor(operator)
    done = auth.unlock_operator(db, actor, username) if username else False
    if address:
        done = auth.unlock_address(db, actor, address) or done
    console.print("unlocked" if done else "nothing was locked")


@operator_app.command("reset-password")
@domain_errors
def reset_password(username: str,
                   password_stdin: Annotated[bool, typer.Option(
                       "--password-stdin", help="read the new password from the first line of stdin")] = False,
                   operator: OperatorOpt = "system") -> None:
    """Set a new password (asked twice, not echoed): the lock and every session of the operator end."""
    if password_stdin:
        new = sys.stdin.readline().rstrip("\r\n")
    else:
        new = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    db, actor = db_and_actor(operator)
    ended = auth.reset_password(db, actor, username, new)
    console.print(f"password reset; {ended} session(s) ended")


@operator_app.command("reset-totp")
@domain_errors
def reset_totp(username: str, operator: OperatorOpt = "system") -> None:
    """Remove an operator's second factor (a lost phone); they enrol a new one after logging in."""
    db, actor = db_and_actor(operator)
    console.print("second factor removed" if auth.reset_totp(db, actor, username) else "no second factor")


@operator_app.command("locks")
@domain_errors
def locks(as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Operator accounts and client addresses with failed logins or a lock."""
    db, actor = db_and_actor(operator)
    rows = [{"kind": v.kind, "name": v.name, "locked_until": v.locked_until, "failures": v.failures,
             "lock_count": v.lock_count} for v in auth.list_locks(db, actor)]
    output(rows, as_json, "failed logins and locks")



def _set_active(username: str, active: bool, operator: str, as_json: bool) -> None:
    db, actor = db_and_actor(operator)
    op = auth.set_operator_active(db, actor, username, active)
    output({"username": op.username, "active": op.active}, as_json,
           f"operator {op.username} {'enabled' if op.active else 'disabled'}")


@operator_app.command("disable")
@domain_errors
def disable(username: str, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Disable an operator account: it can no longer log in, and every session it has ends at once."""
    _set_active(username, False, operator, as_json)


@operator_app.command("enable")
@domain_errors
def enable(username: str, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Enable a disabled operator account again (it logs in with its password as before)."""
    _set_active(username, True, operator, as_json)
