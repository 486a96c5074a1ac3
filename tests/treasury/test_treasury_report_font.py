"""A server without a font with Chinese glyphs: the PDF reports (the 余额调节表 and the legacy migration's
reconciliation) are refused with their own stable code — 503 TREASURY_REPORT_FONT_MISSING / LEGACY_REPORT_FONT_MISSING
on the API and the page, exit 2 and the code from the CLI — never a 500; the CSV still downloads. The font lookup
(``sscard.pdffont.font_path``) is pointed at an empty directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sscard import clock, pdffont
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.cli.main import app as cli
from sscard.config import get_settings
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transition import legacy_file
from sscard.transition import report as legacy_report
from sscard.transition import service as transition
from sscard.transition.errors import LegacyReportFontMissing
from sscard.treasury import report, service, statements
from sscard.treasury.errors import TreasuryReportFontMissing
from sscard.treasury.statements import Line
from support.api import bearer
from support.city import PASSWORD, City
from web.helpers import csrf_of


@pytest.fixture
def no_cjk_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    empty = tmp_path / "fonts"
    empty.mkdir()
    monkeypatch.delenv(pdffont.FONT_ENV, raising=False)
    monkeypatch.setattr(pdffont, "FONT_CANDIDATES", (str(empty / "wqy-microhei.ttc"), str(empty / "noto.ttc")))
    yield


def _a_month_reconciled(city: City) -> str:
    service.open_account(city.db, city.admin, "FNT-MED-COL", "medical", "BOC", "collection", "7790001", "医保收入户")
    maker = auth.actor_of(auth.create_operator(city.db, SYSTEM_ACTOR, "t-acct-font", "基金会计", Role.ACCOUNTANT,
                                               PASSWORD))
    service.record_collection(city.db, maker, "FNT-MED-COL", 500_000, "FNTC1")
    today = clock.local_date()
    signed = statements.write_csv("BOC", "7790001", "FNT-STMT-1", today, today, 0,
                                  [Line(1, today, today, "C", 500_000, "FNTC1", "BOC1", "医保费归集")])
    service.import_statement(city.db, maker, signed, "BOC")
    return f"{today:%Y-%m}"


def _run(city: City, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SSCARD_DATABASE_URL", city.db.url)
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_the_reconciliation_pdf_without_a_chinese_font_is_refused_with_its_code(
        fresh_city: City, no_cjk_font: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    city = fresh_city
    month = _a_month_reconciled(city)
    found = service.reconciliation(city.db, city.supervisor, "FNT-MED-COL", month)
    with pytest.raises(TreasuryReportFontMissing) as refused:
        report.reconciliation_pdf(found, "zh_CN")
    assert refused.value.code == "TREASURY_REPORT_FONT_MISSING" and refused.value.http_status == 503
    assert report.reconciliation_csv(found).decode("utf-8-sig").startswith("银行存款余额调节表")

    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    headers = bearer(client, "t-super")
    api = client.get(f"/api/v1/treasury/accounts/FNT-MED-COL/reconciliation/{month}/pdf", headers=headers)
    assert (api.status_code, api.json()["error"]["code"]) == (503, "TREASURY_REPORT_FONT_MISSING")
    assert client.get(f"/api/v1/treasury/accounts/FNT-MED-COL/reconciliation/{month}/csv",
                      headers=headers).status_code == 200

    web = TestClient(create_app(city.db), raise_server_exceptions=False)
    logged_in = web.post("/login", data={"csrf_token": csrf_of(web.get("/login").text), "username": "t-super",
                                         "password": PASSWORD, "next": "/treasury"})
    assert logged_in.status_code == 200
    page = web.get(f"/treasury/report/FNT-MED-COL/{month}.pdf")
    assert page.status_code == 503 and page.headers["X-Error-Code"] == "TREASURY_REPORT_FONT_MISSING"
    assert "TREASURY_REPORT_FONT_MISSING" in page.text and "CSV" in page.text
    assert web.get(f"/treasury/report/FNT-MED-COL/{month}.csv").status_code == 200

    code, output = _run(city, monkeypatch, "treasury", "report", "FNT-MED-COL", month, "--pdf",
                        str(tmp_path / "r.pdf"))
    assert code == 2 and "TREASURY_REPORT_FONT_MISSING" in output and not (tmp_path / "r.pdf").exists()


def test_the_legacy_migration_pdf_without_a_chinese_font_is_refused_with_its_code(
        fresh_city: City, no_cjk_font: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    city = fresh_city
    registry.register(city.db, city.counter, PersonIn(id_number="44180219300101001X", name="张三",
                                                     region_code="441802"))
    lines = [legacy_file.Line(1, "FT00000001", "44180219300101001X", "张三", 12_345, "1")]
    header = legacy_file.new_header("GFMED", "GFMED-FONT-1", "20261130", lines, "GB18030")
    transition.import_file(city.db, city.admin, legacy_file.write_file(header, lines))
    found = transition.report(city.db, city.supervisor, transition.find_import(city.db, city.supervisor,
                                                                               "GFMED-FONT-1"))
    with pytest.raises(LegacyReportFontMissing):
        legacy_report.report_pdf(found)
    assert legacy_report.report_csv(found)

    web = TestClient(create_app(city.db), raise_server_exceptions=False)
    web.post("/login", data={"csrf_token": csrf_of(web.get("/login").text), "username": "t-super",
                             "password": PASSWORD})
    page = web.get(f"/transition/{found.import_id}/report.pdf")
    assert page.status_code == 503 and page.headers["X-Error-Code"] == "LEGACY_REPORT_FONT_MISSING"
    assert web.get(f"/transition/{found.import_id}/report.csv").status_code == 200

    code, output = _run(city, monkeypatch, "transition", "report", "GFMED-FONT-1", "--pdf", str(tmp_path / "l.pdf"))
    assert code == 2 and "LEGACY_REPORT_FONT_MISSING" in output
