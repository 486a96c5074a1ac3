"""``sscard settle-trial``: split one bill under a policy and catalogue and print the split (试算): a summary for
a person, the whole split as JSON with ``--json``.

Nothing is stored. Bad input files exit with status 2 and the error's stable code, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sscard.cli.common import JsonOpt, output
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
    as_json: JsonOpt = False,
) -> None:
    """Trial settlement (试算): print the split of BILL — fund, self-pay, own expense, account, cash (--json: the
    whole split as JSON)."""
    try:
        split = trial_split(bill, policy, catalogue)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message_zh} / {exc.message_en}"
                  + (f" ({exc.detail})" if exc.detail else ""), markup=True, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(split.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    output(settlement_summary(split.model_dump(mode="json")), as_json, "trial settlement (试算)")


def settlement_summary(answer: dict[str, Any]) -> dict[str, Any]:
    """What a counter clerk reads from a 2206/2207 answer (or a trial split): who paid what, in yuan, and the
    lines; ``--json`` gives the whole answer."""
    split = answer.get("split", answer)
    yuan = {key: f"{split[key] / 100:,.2f}" for key in ("total_fen", "fund_paid_fen", "account_paid_fen", "cash_fen",
                                                        "own_expense_fen", "self_pay_fen") if key in split}
    head: dict[str, Any] = {k: answer[k] for k in ("msg_id", "setl_id", "settled_on", "replayed", "attempts")
                            if k in answer}
    head.update({"bill_no": split.get("bill_no"), "date": split.get("date"), "rule": split.get("rule_note")})
    head.update({f"{k.removesuffix('_fen')} (yuan)": v for k, v in yuan.items()})
    if "account_balance_after_fen" in answer and answer["account_balance_after_fen"] is not None:
        head["account balance after (yuan)"] = f"{answer['account_balance_after_fen'] / 100:,.2f}"
    if "cash_payment" in answer:
        head["cash payment"] = answer["cash_payment"]
    head["lines"] = [{"code": ln.get("code"), "name": ln.get("name"), "class": ln.get("catalogue_class"),
                      "quantity": ln.get("quantity"), "amount (yuan)": f"{ln.get('amount_fen', 0) / 100:,.2f}",
                      "in scope (yuan)": f"{ln.get('in_scope_fen', 0) / 100:,.2f}"} for ln in split.get("lines", [])]
    return head
