"""``sscard settle-trial``: split one bill under a policy and catalogue and print the split as JSON (试算).

Nothing is stored. Bad input files exit with status 2 and the error's stable code, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sscard.errors import DomainError
from sscard.medical.engine import settle
from sscard.medical.engine_schemas import Split
from sscard.medical.errors import PolicyMissing
from sscard.medical.loading import load_bill, load_catalogue, load_policy

err = Console(stderr=True)


def trial_split(bill: Path, policy: Path | None = None, catalogue: Path | None = None) -> Split:
    """Load the files (the shipped examples where a path is None) and settle the bill on its date's policy."""
    bill_file = load_bill(bill)
    book = load_policy(policy)
    in_effect = book.in_effect(bill_file.date)
    if in_effect is None:
        raise PolicyMissing(f"no policy in {policy or 'the example policy'} is in effect on "
                            f"{bill_file.date.isoformat()}")
    return settle(bill_file.bill(), in_effect, load_catalogue(catalogue), bill_file.person)


def settle_trial(
    bill: Annotated[Path, typer.Argument(help="bill file (JSON, format sscard-bill/1; see docs/settlement.md)")],
    policy: Annotated[Path | None, typer.Option("--policy", help="policy file (JSON); default: the example")] = None,
    catalogue: Annotated[Path | None, typer.Option("--catalogue",
                                                   help="catalogue file (.csv or .json); default: the example")] = None,
) -> None:
    """Trial settlement (试算): print the split of BILL — fund, self-pay, own expense, account, cash — as JSON."""
    try:
        split = trial_split(bill, policy, catalogue)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message_zh} / {exc.message_en}"
                  + (f" ({exc.detail})" if exc.detail else ""), markup=True, highlight=False)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(split.model_dump(mode="json"), ensure_ascii=False, indent=2))
