"""Administrator dashboard: cards by status, persons and cards by division, targets; CSV export.

Each chart is drawn by ``static/dashboard.js`` from the JSON in its ``data-chart`` attribute, and the same
figures are printed in a table beside it (readable without JavaScript, and by screen readers).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sscard import clock
from sscard.access import Actor, Permission
from sscard.funds.benefits import service as benefits
from sscard.portal import dashboard as dashboard_reads
from sscard.production import batches, progress
from sscard.stats import service as stats
from sscard.web import labels
from sscard.web.i18n import N_, gettext, language_of
from sscard.web.pages import WebActor, db_of, render, require

router = APIRouter(include_in_schema=False)

# DOMAIN.md: 3,000,000 cards by end 2013; 4,000,000 by end 2014, with at least 95% of residents holding one.
TARGET_CARDS_2013 = 3_000_000
TARGET_CARDS_2014 = 4_000_000
TARGET_COVERAGE_PERCENT = 95
# Aggregates only; supervisors and administrators hold it.
DASHBOARD = Permission.STATS_READ


PERIODS = {"all": N_("All time"), "12m": N_("Last 12 months"), "3m": N_("Last 3 months"),
           "31d": N_("Last 31 days")}
PERIOD_DAYS = {"12m": 365, "3m": 91, "31d": 31}


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters from the query string; a value it does not know is ignored (shown as 'all')."""

    period: str = "all"
    division: str = ""
    bank: str = ""

    @property
    def since(self) -> dt.date | None:
        days = PERIOD_DAYS.get(self.period)
        return clock.local_date() - dt.timedelta(days=days - 1) if days else None


def filters_of(request: Request, banks: dict[str, str]) -> Filters:
    params = request.query_params
    period = params.get("period", "all")
    division = params.get("division", "")
    bank = params.get("bank", "")
    return Filters(period if period in PERIODS else "all",
                   division if division in {d for d, _ in labels.divisions("zh_CN")} else "",
                   bank if bank in banks else "")


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]  # first cell: label; the rest: numbers
    yuan_columns: tuple[int, ...] = ()  # data columns (1-based, as in ``columns``) in yuan: drawn on their own axis


def bank_choices(actor: Actor, request: Request) -> dict[str, str]:
    """The cooperating banks by code (names need the batch permission; otherwise the filter offers none)."""
    return batches.bank_names(db_of(request), actor) if actor.can(Permission.PRODUCTION_BATCH) else {}


def tables(actor: Actor, request: Request, chosen: Filters | None = None) -> list[Table]:
    language = language_of(request)

    def t(message: str) -> str:
        return gettext(language, message)

    db = db_of(request)
    chosen = chosen or filters_of(request, bank_choices(actor, request))
    overview = stats.overview(db)
    app_rows: list[list[Any]] = [[t(label), overview.by_app_status.get(code, 0)]
                                 for code, label in labels.APP_STATUS.items()]
    production_rows: list[list[Any]] = [[t(label), overview.by_production_status.get(code, 0)]
                                        for code, label in labels.PRODUCTION_STATUS.items()]
    by_division = stats.counts_by_division(db, actor)
    issued = sum(d.cards_issued for d in by_division)
    coverage = f"{issued * 100 // overview.persons}%" if overview.persons else "0%"
    shown = [d for d in by_division if not chosen.division or d.code == chosen.division]
    division_rows: list[list[Any]] = [
        [labels.division_name(d.code, language), d.persons, d.cards_issued, d.cards_in_production] for d in shown]
    core = _core(t, overview, app_rows, production_rows, division_rows, issued, coverage)
    coverage_table = Table("coverage", t(N_("Residents holding a card, by division (%)")),
                           [t(N_("Division")), t(N_("Holding a card (%)"))],
                           [[labels.division_name(d.code, language),
                             round(d.cards_issued * 100 / d.persons, 1) if d.persons else 0.0] for d in shown])
    return [*core, coverage_table, *more_tables(actor, request, t, chosen)]


def _plain_yuan(fen: int) -> str:
    """Yuan with two decimals and no grouping, from integer fen (a chart reads it as a number)."""
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def more_tables(actor: Actor, request: Request, t: Callable[[str], str], chosen: Filters = Filters()) -> list[Table]:
    """Issuance by bank and over time (production; filtered by period, division and bank), batches and failures
    (if the role sees batches), settlements by day."""
    db = db_of(request)
    made = progress.progress(db, actor, division=chosen.division or None, bank=chosen.bank or None,
                             issued_since=chosen.since)
    names = batches.bank_names(db, actor) if actor.can(Permission.PRODUCTION_BATCH) else {}
    out = [Table("bank", t(N_("Cards issued and activated by bank")),
                 [t(N_("Bank")), t(N_("Cards issued")), t(N_("Cards activated"))],
                 [[names.get(code) or t(N_("No bank assigned yet")), c.issued, c.active]
                  for code, c in made.by_bank.items()]),
           Table("trend", t(N_("Cards issued and activated over time (cumulative, by month of pickup)")),
                 [t(N_("Month")), t(N_("Cards issued")), t(N_("Cards activated"))],
                 [[month, c.issued, c.active] for month, c in sorted(made.by_month.items())])]
    if actor.can(Permission.PRODUCTION_BATCH):
        found = batches.list_batches(db, actor, limit=1000)
        by_stage: dict[str, list[int]] = {}
        for b in found:
            row = by_stage.setdefault(b.stage, [0, 0, 0, 0])
            row[0] += 1
            row[1] += b.record_count
            row[2] += b.bank_failed
            row[3] += b.maker_failed
        out.append(Table("batches", t(N_("Production batches and failures by stage")),
                         [t(N_("Stage")), t(N_("Batches")), t(N_("Cards")), t(N_("Bank failures")),
                          t(N_("Maker failures"))],
                         [[t(labels.BATCH_STAGE.get(stage, stage)), *row] for stage, row in by_stage.items()]))
    days = dashboard_reads.settlements_by_day(db, actor, days=PERIOD_DAYS.get(chosen.period, 31))
    out.append(Table("settlements", t(N_("Medical settlements by day")),
                     [t(N_("Day")), t(N_("Settlements")), t(N_("Amount (yuan)")), t(N_("Paid by the fund (yuan)"))],
                     [[d.day.isoformat(), d.settlements, _plain_yuan(d.total_fen), _plain_yuan(d.fund_paid_fen)]
                      for d in days], yuan_columns=(2, 3)))
    benefit = benefit_batches_table(actor, request, t)
    return [*out, *([benefit] if benefit else [])]


def benefit_batches_table(actor: Actor, request: Request, t: Callable[[str], str]) -> Table | None:
    """Benefit disbursement batches by month (for the roles that may read the funds)."""
    if not actor.can(Permission.FUNDS_READ):
        return None
    by_period: dict[str, list[Any]] = {}
    for b in benefits.list_batches(db_of(request), actor):
        row = by_period.setdefault(str(b.period), [0, 0, 0, 0])
        row[0] += 1
        row[1] += b.line_count
        row[2] += b.total_amount
        row[3] += b.failure_count
    return Table("benefits", t(N_("Benefit payment batches by month")),
                 [t(N_("Month")), t(N_("Payment batches")), t(N_("Payments")), t(N_("Amount (yuan)")),
                  t(N_("Failed payments"))],
                 [[period, n, lines, _plain_yuan(amount), failed]
                  for period, (n, lines, amount, failed) in sorted(by_period.items())], yuan_columns=(3,))


def _core(t: Callable[[str], str], overview: Any, app_rows: list[list[Any]], production_rows: list[list[Any]],
          division_rows: list[list[Any]], issued: int, coverage: str) -> list[Table]:
    return [
        Table("app_status", t(N_("Cards by application status")), [t(N_("Status")), t(N_("Cards"))], app_rows),
        Table("production_status", t(N_("Cards by production status")), [t(N_("Status")), t(N_("Cards"))],
              production_rows),
        Table("division", t(N_("Persons and cards by division")),
              [t(N_("Division")), t(N_("Persons")), t(N_("Cards issued")), t(N_("Cards in production"))],
              division_rows),
        Table("targets", t(N_("Progress against the targets")), [t(N_("Measure")), t(N_("Now")), t(N_("Target"))],
              [[t(N_("Cards issued (end of 2013)")), issued, TARGET_CARDS_2013],
               [t(N_("Cards issued (end of 2014)")), issued, TARGET_CARDS_2014],
               [t(N_("Residents holding a card")), coverage, f"{TARGET_COVERAGE_PERCENT}%"]]),
    ]


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def chart_spec(table: Table, t: Callable[[str], str] = str) -> dict[str, Any]:
    """What dashboard.js needs: categories, one series per numeric column (``axis`` 1: yuan, on the right-hand
    axis, apart from the counts), optional reference lines. Targets are drawn as per cent of each target, with
    the target at 100 %, so that 249 cards against 3,000,000 still show as a bar beside a visible line."""
    if table.key == "coverage":
        return {"kind": "bar", "unit": "%", "categories": [row[0] for row in table.rows],
                "series": [{"name": table.columns[1], "axis": 0, "data": [row[1] for row in table.rows]}],
                "reference": [{"name": t(N_("Target")), "value": TARGET_COVERAGE_PERCENT}],
                "axes": [table.columns[1]]}
    if table.key == "targets":
        issued = int(table.rows[0][1])
        coverage = float(str(table.rows[2][1]).rstrip("%")) if str(table.rows[2][1]).endswith("%") else 0.0
        return {"kind": "bar", "unit": "%", "categories": [row[0] for row in table.rows],
                "series": [{"name": t(N_("Reached (per cent of the target)")), "axis": 0,
                            "data": [_percent(issued, TARGET_CARDS_2013), _percent(issued, TARGET_CARDS_2014),
                                     coverage]}],
                "reference": [{"name": t(N_("Target")), "value": 100}],
                "axes": [t(N_("Per cent of the target"))]}
    series = [{"name": name, "axis": 1 if i + 1 in table.yuan_columns else 0,
               "data": [row[i + 1] for row in table.rows]} for i, name in enumerate(table.columns[1:])]
    axes = [t(N_("Count"))] + ([t(N_("Yuan"))] if table.yuan_columns else [])
    return {"kind": "line" if table.key == "trend" else "bar", "categories": [row[0] for row in table.rows],
            "series": series, "reference": [], "axes": axes}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, actor: WebActor) -> Response:
    require(actor, DASHBOARD)
    banks = bank_choices(actor, request)
    chosen = filters_of(request, banks)
    shown = tables(actor, request, chosen)
    language = language_of(request)

    def t(message: str) -> str:
        return gettext(language, message)

    return render(request, "dashboard.html", {
        "tables": [(tb, chart_spec(tb, t)) for tb in shown], "chosen": chosen, "banks": banks,
        "periods": [(code, t(text)) for code, text in PERIODS.items()], "divisions": labels.divisions(language)})


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, actor: WebActor) -> Response:
    require(actor, DASHBOARD)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["table", "label", "column", "value"])
    for table in tables(actor, request):
        for row in table.rows:
            for column, value in zip(table.columns[1:], row[1:], strict=True):
                writer.writerow([table.key, row[0], column, value])
    # A BOM so that spreadsheet programs open the Chinese labels as UTF-8.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sscard-dashboard.csv"'})
