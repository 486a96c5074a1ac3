"""The clerk's and the administrator's journeys in Chromium, asserting what they must see (issue 14): a failed
search replaces stale results with its error, a confirmation page precedes 注销 and 补卡 (with the fee), an
operation the card's state or the role withholds is named with the reason, the receipt's audit serial number is
the same on every view, and axe-core (vendored from npm, tests/support/axe) finds no serious or critical
accessibility violation on each page touched. Screenshots: test-artifacts/faces-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.cards.states import AppStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number
from web.helpers import person_path, person_with_card, screenshot
from web.portal_checks import axe_violations

OpenPage = Callable[..., Any]
def assert_accessible(page: Any, name: str) -> None:
    """axe-core's WCAG 2 A/AA rules on the page as shown (tests/web/portal_checks.py, one helper for every face):
    no violation of impact serious or critical; the page is kept as a screenshot either way."""
    violations = axe_violations(page)
    screenshot(page, f"faces-{name}")
    assert violations == [], f"{name}: {violations}"


def _register(city: City, name: str, sex_digit: int) -> str:
    while True:
        id_no = next_id_number(region="441802")
        if int(id_no[16]) % 2 == sex_digit % 2:
            break
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name=name, region_code="441802"))
    return id_no


def test_a_failed_search_replaces_the_previous_results_with_its_error(open_page: OpenPage,
                                                                      sqlite_city: City) -> None:
    _register(sqlite_city, "林检索甲", 1)
    _register(sqlite_city, "林检索乙", 2)
    page = open_page("t-counter")
    assert_accessible(page, "counter")
    page.fill("#q", "林检索")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#results-table")
    rows = page.locator("#results-table tbody tr")
    assert rows.count() == 2
    # Namesakes told apart: sex, year of birth and card status in each row.
    first = rows.nth(0).inner_text()
    assert "男" in first and re.search(r"\b(19|20)\d\d\b", first) and "无卡" in first
    assert_accessible(page, "counter-results")
    # Now a mistyped ID number (wrong check digit): the error replaces the list, the old rows are gone.
    good = next_id_number(region="441802")
    page.fill("#q", good[:17] + ("0" if good[17] != "0" else "1"))
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#q-error")
    assert page.locator("#results-table").count() == 0
    assert "校验" in page.inner_text("#q-error")
    # A 17-digit number is explained, not answered with "nobody found".
    page.fill("#q", good[:17])
    page.click("form.search button[type=submit]")
    page.locator("#q-error", has_text="17位").wait_for()
    assert "18位" in page.inner_text("#q-error")
    screenshot(page, "faces-counter-search-error")


def test_a_card_number_opens_its_holder(open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "normal")
    page = open_page("t-counter")
    page.fill("#q", str(card_no))
    page.click("form.search button[type=submit]")
    page.wait_for_selector(f"#card-{card_no}")
    assert id_no[-4:] in page.inner_text("#id-number")


def test_a_confirmation_page_precedes_the_cancellation(open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "normal")
    page = open_page("t-super")
    page.goto(person_path(id_no))
    # The person page's other parts: payment account, address, photo, enrolment and contributions (a
    # supervisor reads the funds; a counter operator is told who may).
    assert page.inner_text("#address") == "未填写" and page.inner_text("#photo") == "尚未采集相片"
    assert page.locator("#contrib-h").count() == 1 and page.locator("#no-contributions").count() == 1
    assert_accessible(page, "person")
    page.select_option(f"#cancel-reason-{card_no}", "emigration")
    page.click(f"#card-{card_no} [data-action=cancel]")
    page.wait_for_selector("#confirm")
    assert "不可撤销" in page.inner_text("#confirm-consequence")
    assert page.inner_text("#confirm-card") == card_no and page.inner_text("#confirm-name") == "测试人"
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "1"  # nothing happened yet
    assert_accessible(page, "confirm-cancel")
    page.click("#confirm-no")  # going back changes nothing
    page.wait_for_selector(f"#card-{card_no}")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "1"
    page.select_option(f"#cancel-reason-{card_no}", "emigration")
    page.click(f"#card-{card_no} [data-action=cancel]")
    page.click("#confirm-yes")
    page.wait_for_selector("#result")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "9"


def test_a_replacement_shows_its_fee_before_it_is_taken_and_the_receipt_keeps_its_number(
        open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "normal")
    page = open_page("t-counter")
    page.goto(person_path(id_no))
    page.click(f"#card-{card_no} [data-action=formal_loss]")
    page.wait_for_selector("#confirm")
    assert "正式挂失" in page.inner_text("h1")
    page.click("#confirm-yes")
    page.wait_for_selector("#result")
    # After the formal loss: 解除挂失 offered; after the replacement is requested it is withheld, with the reason.
    page.click(f"#card-{card_no} [data-action=apply_replacement]")
    page.wait_for_selector("#confirm-fee")
    fee = page.inner_text("#confirm-fee")
    assert fee.startswith("¥")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == AppStatus.FORMAL_LOSS.value
    assert_accessible(page, "confirm-replacement")
    page.click("#confirm-yes")
    page.wait_for_selector("#receipt-link")
    assert page.locator(f"#card-{card_no} [data-action=lift_loss]").count() == 0
    assert "不能再解除挂失" in page.inner_text(f"#withheld-{card_no}")
    assert_accessible(page, "person-after-replacement")
    page.click("#receipt-link")
    page.wait_for_selector("#receipt-audit")
    first = page.inner_text("#receipt-audit")
    assert page.inner_text("#amount") == fee and "元" in page.inner_text("#amount-words")
    assert "北京时间" in page.inner_text("#receipt-time") and "UTC" not in page.inner_text("main")
    assert page.inner_text("#receipt-outlet") == "清城测试网点"
    assert page.inner_text("#receipt-issuer") == "清远市人力资源和社会保障局"
    assert_accessible(page, "receipt")
    page.reload()
    assert page.inner_text("#receipt-audit") == first  # the application's own record, not this view's


def test_a_counter_operator_is_told_why_unlocking_needs_a_supervisor(open_page: OpenPage,
                                                                    sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "locked")
    page = open_page("t-counter")
    page.goto(person_path(id_no))
    assert page.locator(f"#card-{card_no} [data-action=unlock]").count() == 0
    assert "主管" in page.inner_text(f"#withheld-{card_no}")
    assert page.locator("#contrib-h").count() == 0 and "主管" in page.inner_text("#insured")


def test_a_card_at_another_outlet_names_that_outlet(open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "at_outlet")  # at T01
    page = open_page("t-counter2")  # works at T02
    page.goto(person_path(id_no))
    assert page.locator(f"#card-{card_no} [data-action=pickup]").count() == 0
    assert "清城测试网点" in page.inner_text(f"#withheld-{card_no}")


def test_the_administrators_pages_pass_axe_and_a_browsers_404_is_a_page(open_page: OpenPage) -> None:
    page = open_page("t-admin")
    for path, name in (("/counter/exceptions", "exceptions"), ("/counter/batches", "batches"),
                       ("/counter/register", "register")):
        page.goto(path)
        assert_accessible(page, name)
    assert page.locator("#ethnicity option").count() == 58 if page.url.endswith("/register") else True
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    assert page.inner_text("h1").startswith("页面不存在")
    assert_accessible(page, "not-found")


def test_the_dashboard_draws_yuan_on_their_own_axis_and_the_target_as_a_visible_line(
        open_page: OpenPage, sqlite_city: City) -> None:
    person_with_card(sqlite_city, "normal")
    page = open_page("t-admin")
    page.goto("/dashboard")
    page.wait_for_selector("#chart-settlements[data-rendered=true] canvas")
    axes = page.evaluate("""() => {
        const option = echarts.getInstanceByDom(document.getElementById('chart-settlements')).getOption();
        return {axes: option.yAxis.map(a => a.name), onAxis: option.series.map(s => s.yAxisIndex)};
    }""")
    assert axes == {"axes": ["数量", "金额（元）"], "onAxis": [0, 1, 1]}
    target = page.evaluate("""() => {
        const option = echarts.getInstanceByDom(document.getElementById('chart-targets')).getOption();
        return {line: option.series[0].markLine.data.map(d => d.yAxis), max: option.yAxis[0].name};
    }""")
    assert target == {"line": [100], "max": "占目标的百分比"}
    banks = page.inner_text("#table-bank")
    assert "-" not in banks.split() and "QYRCB" not in banks
    assert page.locator("#chart-trend[data-rendered=true]").count() == 1
    assert_accessible(page, "dashboard")


def test_the_api_docs_render_offline_from_vendored_assets(open_page: OpenPage, live_server: str) -> None:
    page = open_page()
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:  # an intranet without internet: anything else fails
            outside.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    page.route("**/*", only_loopback)
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "sscard" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    assert "sscard" in page.inner_text("h1")
    # ReDoc's "powered by" logo in the sidebar is an image on its CDN (built into the bundle): it goes missing
    # offline and nothing else does.
    assert [u for u in outside if u != "image https://cdn.redoc.ly/redoc/logo-mini.svg"] == []
    screenshot(page, "faces-redoc", full_page=False)  # the whole API on one page: far taller than a screen


def _bank_chart_issued(page: Any) -> int:
    return int(page.evaluate("""() => {
        const option = echarts.getInstanceByDom(document.getElementById('chart-bank')).getOption();
        return option.series[0].data.reduce((a, b) => a + Number(b), 0);
    }"""))


def test_the_dashboard_filters_change_the_charts(open_page: OpenPage, sqlite_city: City) -> None:
    person_with_card(sqlite_city, "normal")  # a card issued today to a holder in 清城区 (441802)
    page = open_page("t-admin")
    page.goto("/dashboard")
    page.wait_for_selector("#chart-bank[data-rendered=true] canvas")
    everywhere = _bank_chart_issued(page)
    assert everywhere >= 1
    coverage_rows = page.locator("#table-coverage tbody tr").count()
    page.select_option("#division", "441881")  # 英德市: no card issued there in this city
    page.click("#apply-filters")
    page.wait_for_selector("#chart-bank[data-rendered=true] canvas")
    assert "division=441881" in page.url and page.input_value("#division") == "441881"
    assert _bank_chart_issued(page) < everywhere
    assert page.locator("#table-coverage tbody tr").count() == 1 < coverage_rows
    page.select_option("#division", "441802")
    page.select_option("#period", "31d")
    page.click("#apply-filters")
    page.wait_for_selector("#chart-bank[data-rendered=true] canvas")
    assert 1 <= _bank_chart_issued(page) <= everywhere  # today's card is inside the last 31 days
    assert_accessible(page, "dashboard-filtered")
