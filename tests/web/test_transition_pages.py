"""The supervisor's page of the legacy card migration: imports with their reconciliation, the window, the
exceptions queue (masked) and its resolution through the form; the report as CSV and PDF; Chinese by
default, English on request; refused to a counter clerk."""

from __future__ import annotations

import re
from collections.abc import Callable

from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transition import service as transition
from sscard.transition.legacy_file import Line
from support.city import City
from transition.transition_world import make_file
from web.helpers import WebClient

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_page_shows_the_reconciliation_and_resolves_a_queued_card(
        clients: Callable[..., WebClient], sqlite_city: City, new_id: Callable[..., str]) -> None:
    city = sqlite_city
    known, later = new_id(), new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=known, name="页面甲", region_code="441802"))
    lines = [Line(1, "WEB00001", known, "页面甲", 12_345, "1"), Line(2, "WEB00002", later, "页面乙", 6_789, "1")]
    result = transition.import_file(city.db, city.admin, make_file(lines, file_id="WEB-1", source="WEBMED"))

    supervisor = clients("t-super")
    page = supervisor.http.get("/transition")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert "WEB-1" in page.text and "191.34" in page.text and "平衡" in page.text  # 123.45 + 67.89 yuan
    assert "WE****02" in page.text and later not in page.text and later[:4] + "**********" + later[-4:] in page.text
    assert "无此身份证号码的人员" in page.text and 'href="/transition"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None

    refused = supervisor.post(f"/transition/{result.import_id}/lines/2", {"id_number": later})
    assert refused.status_code == 404 and "人员" in refused.text  # not registered yet: said on the page
    registry.register(city.db, city.counter, PersonIn(id_number=later, name="页面乙", region_code="441802"))
    done = supervisor.post(f"/transition/{result.import_id}/lines/2", {"id_number": later})
    assert done.status_code == 200 and "已对应到人员并迁入余额" in done.text and "WE****02" in done.text
    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and report.queued_count == 0 and report.journal_fen == 19_134

    csv = supervisor.http.get(f"/transition/{result.import_id}/report.csv")
    assert csv.status_code == 200 and csv.text.startswith("\ufeffkey,item,cards,fen\n")
    assert ",19134\n" in csv.text and "\ndifference,差额（原合计 − 流水 − 异常）,,0\n" in csv.text
    pdf = supervisor.http.get(f"/transition/{result.import_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    english = supervisor.http.get("/lang/en?next=/transition")
    assert "Legacy medical cards" in english.text
    assert "Balanced" in english.text and "Exceptions queue" in english.text
    assert set(CJK.findall(english.text)) <= set("中文页面甲乙")  # only the language switch and (masked) names

    assert clients("t-counter").http.get("/transition").status_code == 403
