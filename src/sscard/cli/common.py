"""What every sscard sub-command shares: the database from settings, the acting operator, domain errors → exit 2,
and one way to print a result (a readable table, or JSON with ``--json``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sscard.access import Actor
from sscard.audit.masking import masked
from sscard.auth import service as auth
from sscard.config import get_settings
from sscard.db import Database
from sscard.errors import DomainError
from sscard.money import yuan

console = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON instead of a table")]
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


def output(data: Mapping[str, Any] | Sequence[Mapping[str, Any]], as_json: bool, title: str | None = None) -> None:
    """A command's result: with ``--json`` the data as JSON (for machines); else a table for a person to read —
    a mapping as field / value rows (each list of mappings in it as a table of its own, titled by its key), a
    list of mappings as one row each. What is shown is the caller's to mask: both forms print the same data."""
    if as_json:
        print_json(data)
        return
    console.print(_renderable(data, title), highlight=False)


def show(data: Mapping[str, Any] | Sequence[Mapping[str, Any]], as_json: bool, title: str | None = None,
         money: Sequence[str] = ()) -> None:
    """:func:`output` of :func:`readable` data: ``--json`` prints ``data`` unchanged, the table masks and shows yuan."""
    if as_json:
        output(data, True, title)
    elif isinstance(data, Mapping):
        output(readable(data, money), False, title)
    else:
        output([readable(row, money) for row in data], False, title)


def readable(data: Mapping[str, Any], money: Sequence[str] = ()) -> dict[str, Any]:
    """A result as a person reads it in the table (``--json`` keeps ``data`` as it is): identifiers masked
    (account, ID, card numbers …, as the audit log masks them), and integer fen — every ``…_fen`` field and the
    keys named in ``money`` — as yuan with two decimals under the name with `` ¥`` (``amount_fen`` → ``amount ¥``).
    A list of mappings in it is made readable row by row."""
    out: dict[str, Any] = {}
    for key, value in (masked(data) or {}).items():
        if _is_rows(value) and value:
            out[key] = [readable(v, money) for v in value]
        elif (key.endswith("_fen") or key in money) and (value is None or isinstance(value, int)):
            out[f"{key.removesuffix('_fen')} ¥"] = yuan(value)
        else:
            out[key] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _is_rows(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, Mapping) for v in value)


def _renderable(data: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str | None) -> RenderableType:
    if isinstance(data, Mapping):
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        nested: list[RenderableType] = []
        for key, value in data.items():
            if _is_rows(value):
                nested.append(_renderable(value, str(key)))
            else:
                table.add_row(Text(str(key)), Text(_cell(value)))
        return Group(table, *nested)
    rows = list(data)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    for i, column in enumerate(columns):
        # A column as wide as its longest value (up to 20): numbers and codes are never broken across lines.
        widest = max((cell_len(r[i]) for r in cells), default=0)
        table.add_column(str(column), overflow="fold", min_width=min(widest, 20))
    for row_cells in cells:
        table.add_row(*(Text(c) for c in row_cells))  # Text: a value is never read as Rich markup
    if not rows:
        return f"{title}: none" if title else "none"
    return table


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
