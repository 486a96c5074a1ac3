"""Administrator dashboard: cards by status, persons and cards by division, targets; CSV export.

Each chart is drawn by ``static/dashboard.js`` from the JSON in its ``data-chart`` attribute, and the same
figures are printed in a table beside it (readable without JavaScript, and by screen readers).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sscard.auth.roles import Actor, Permission
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


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]  # first cell: label; the rest: numbers


def tables(actor: Actor, request: Request) -> list[Table]:
    language = language_of(request)

    def t(message: str) -> str:
        return gettext(language, message)

    db = db_of(request)
    overview = stats.overview(db)
    app_rows: list[list[Any]] = [[t(label), overview.by_app_status.get(code, 0)]
                                 for code, label in labels.APP_STATUS.items()]
    production_rows: list[list[Any]] = [[t(label), overview.by_production_status.get(code, 0)]
                                        for code, label in labels.PRODUCTION_STATUS.items()]
    by_division = stats.counts_by_division(db, actor)
    division_rows: list[list[Any]] = [
        [labels.division_name(d.code, language), d.persons, d.cards_issued, d.cards_in_production]
        for d in by_division]
    issued = sum(d.cards_issued for d in by_division)
    coverage = f"{issued * 100 // overview.persons}%" if overview.persons else "-"
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


def chart_spec(table: Table) -> dict[str, Any]:
    """What dashboard.js needs: categories, one series per numeric column, optional reference lines."""
    if table.key == "targets":
        return {"kind": "bar", "categories": [table.rows[0][0]], "series": [
            {"name": table.columns[1], "data": [table.rows[0][1]]}],
            "reference": [{"name": table.rows[0][0], "value": TARGET_CARDS_2013},
                          {"name": table.rows[1][0], "value": TARGET_CARDS_2014}]}
    return {"kind": "bar", "categories": [row[0] for row in table.rows],
            "series": [{"name": name, "data": [row[i + 1] for row in table.rows]}
                       for i, name in enumerate(table.columns[1:])], "reference": []}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, actor: WebActor) -> Response:
    require(actor, DASHBOARD)
    shown = tables(actor, request)
    return render(request, "dashboard.html", {"tables": [(tb, chart_spec(tb)) for tb in shown]})


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
