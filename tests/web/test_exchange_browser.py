"""The holder's data-use record in a real browser (Chromium): reached from the portal's menu, the department's
use listed with its purpose, no accessibility violations (axe), a phone-width layout that fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from exchange.exchange_world import VERIFY, holder, new_department, post
from sscard.api.app import create_app
from sscard.portal import service as portal
from support.city import City
from web.helpers import screenshot
from web.portal_checks import assert_accessible, assert_fits_width
from web.portal_helpers import QUERY_PASSWORD

OpenPage = Callable[..., Any]


def test_the_data_use_record_in_the_browser(open_page: OpenPage, sqlite_city: City) -> None:
    dept = new_department(sqlite_city, {"card_status": ["verification"]})
    who = holder(sqlite_city)
    assert who.card_no is not None
    client = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
    assert post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number,
                                       "name": who.name}).status_code == 200
    portal.set_query_password(sqlite_city.db, sqlite_city.counter, who.card_no, QUERY_PASSWORD)
    page = open_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/portal/login")
    page.fill("#identifier", who.card_no)
    page.fill("#password", QUERY_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal")
    page.click("#data-use-link")
    page.wait_for_url("**/portal/data-use")
    row = page.locator(f"#use-rows tr.use[data-department={dept.code}]")
    assert row.count() == 1 and "核验社会保障卡状态以办理业务" in row.inner_text()
    assert page.is_visible("#reads")
    assert_fits_width(page)
    assert_accessible(page)
    screenshot(page, "portal-data-use")
