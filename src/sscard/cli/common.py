"""What every sscard sub-command shares: the database from settings, the acting operator, domain errors → exit 2."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from sscard.access import Actor
from sscard.auth import service as auth
from sscard.config import get_settings
from sscard.db import Database
from sscard.errors import DomainError

console = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

OperatorOpt = Annotated[str, typer.Option("--operator", envvar="SSCARD_OPERATOR",
                                          help="act as this operator (default: the system actor)")]


def open_db() -> Database:
    return Database(get_settings().database_url)


def actor_for(db: Database, username: str) -> Actor:
    return auth.actor_for_username(db, username)


def db_and_actor(username: str) -> tuple[Database, Actor]:
    """The database from settings and the operator a command acts as."""
    db = open_db()
    return db, actor_for(db, username)


def print_json(data: Any) -> None:
    """``--json`` output: UTF-8 as it is (names stay readable), dates and decimals as strings."""
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def domain_errors(fn: F) -> F:
    """Domain errors → a one-line message on stderr and exit status 2 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            err.print(f"[red]{exc.code}[/red]: {exc.message_zh} / {exc.message_en}"
                      + (f" ({exc.detail})" if exc.detail else ""), highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature Typer reads
