"""The supervisor's page of the department feeds: imported and refused files with their codes, the open cases;
Chinese by default; refused to a counter clerk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exchange_feeds.feeds_world import RING, drop, lines, sealed
from sscard.exchange.feeds import service as feeds
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
    assert "已拒收" in page.text and "已导入" in page.text
    assert "丧葬补助金待审核" in page.text and "3,000.00" in page.text
    assert clients("t-counter").http.get("/exchange/feeds").status_code == 403


def test_a_supervisor_closes_cases_on_the_page_and_confirms_a_death_first(
        clients: Callable[..., WebClient], sqlite_city: City, new_id: Callable[..., str], tmp_path: Path) -> None:
    city = sqlite_city
    number = new_id()
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name="页面丁", region_code="441802"))
    spool = spools.Spool.under("dept:CIVIL", tmp_path)
    drop(spool.inbox, "c.feed", sealed("dept:CIVIL", 1, lines(("CREM", number, "页面丁", "20260103", "20260105"))))
    spools.run(city.db, city.admin, spool, RING)
    [case] = [c for c in feeds.cases(city.db, city.supervisor) if c.person_id == person.id]
    assert case.reason_code == "NOT_REPORTED_DEAD"

    supervisor = clients("t-super")
    page = supervisor.http.get("/exchange/feeds")
    assert "火化，但公安未报死亡" in page.text and "页面丁" in page.text and number not in page.text
    assert f'id="case-{case.id}-apply_death"' in page.text
    asked = supervisor.post(f"/exchange/feeds/cases/{case.id}", {"resolution": "apply_death"})
    assert asked.status_code == 200 and 'id="case-confirm"' in asked.text and "确认死亡？" in asked.text
    assert registry.get_by_person_id(city.db, city.admin, person.id).living_status == "1"  # nothing applied yet
    bad = supervisor.post(f"/exchange/feeds/cases/{case.id}", {"resolution": "shred"})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    done = supervisor.post(f"/exchange/feeds/cases/{case.id}", {"resolution": "apply_death", "confirmed": "yes"})
    assert done.status_code == 200 and 'id="case-done"' in done.text and f'id="case-{case.id}"' not in done.text
    assert registry.get_by_person_id(city.db, city.admin, person.id).living_status != "1"
    again = supervisor.post(f"/exchange/feeds/cases/{case.id}", {"resolution": "done"})
    assert again.status_code == 409 and 'id="form-error"' in again.text
    assert clients("t-counter").post(f"/exchange/feeds/cases/{case.id}", {"resolution": "done"}).status_code == 403
