"""The supervisor's page of the department feeds: imported and refused files with their codes, the open cases;
Chinese by default; refused to a counter clerk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exchange_feeds.feeds_world import RING, drop, lines, sealed
from sscard.exchange.feeds import spool as spools
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from web.helpers import WebClient


def test_the_page_lists_imported_and_refused_files_and_the_cases(
        clients: Callable[..., WebClient], sqlite_city: City, new_id: Callable[..., str], tmp_path: Path) -> None:
    city = sqlite_city
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="页面丙", region_code="441802"))
    spool = spools.Spool.under("dept:PSB", tmp_path)
    drop(spool.inbox, "a.feed", sealed("dept:PSB", 1, lines(("DEATH", number, "页面丙", "20260105"))))
    drop(spool.inbox, "b.feed", b"junk\n")
    spools.run(city.db, city.admin, spool, RING)

    page = clients("t-super").http.get("/exchange/feeds")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert "部门数据交换文件" in page.text and "EXCHANGE_FEED_MALFORMED" in page.text
    assert "已拒收" in page.text and "已导入" in page.text and "FUNERAL_GRANT" in page.text and "3,000.00" in page.text
    assert clients("t-counter").http.get("/exchange/feeds").status_code == 403
