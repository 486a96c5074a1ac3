"""Journeys in a real browser (Debian's Chromium through Playwright) against the app served by uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sscard.access import SYSTEM_ACTOR
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.stats import service as stats
from sscard.web import labels
from sscard.web.i18n import gettext
from support.city import City
from support.factories import next_id_number
from web.helpers import person_path, person_with_card, screenshot

OpenPage = Callable[..., Any]


def _status_of(page: Any, card_no: str) -> str:
    return str(page.get_attribute(f"#card-{card_no} .app-status", "data-code"))


def test_operator_takes_a_resident_from_registration_to_an_active_card(open_page: OpenPage,
                                                                       sqlite_city: City) -> None:
    counter = open_page("t-counter")
    assert counter.inner_text("#role") == "柜员" and counter.inner_text("#outlet") == "T01"
    id_no = next_id_number(region="441802")

    counter.click("#register-link")
    wrong = id_no[:17] + ("0" if id_no[17] != "0" else "1")
    counter.fill("#id_number", wrong)
    counter.fill("#name", "欧阳𬌗")
    counter.select_option("#region_code", "441802")
    counter.click("button[type=submit].primary")
    assert counter.inner_text("#id_number-error") == "身份证号码校验位错误"
    assert counter.input_value("#name") == "欧阳𬌗"  # what was typed is kept
    counter.fill("#id_number", id_no)
    counter.click("button[type=submit].primary")
    counter.wait_for_selector("#result")
    assert counter.inner_text("#id-number") == id_no  # the full number only on the person's own page
    assert counter.inner_text("#audit-seq").startswith("#")

    counter.click("#apply-new")
    counter.wait_for_selector("#receipt-link")
    card_no = str(counter.get_attribute(".card", "id")).removeprefix("card-")
    assert counter.locator(f"#card-{card_no} [data-action=production]").count() == 0  # administrators only
    counter.click("#receipt-link")
    assert counter.inner_text("#amount") == "¥0.00" and counter.inner_text("#receipt-no").startswith("R")
    counter.go_back()

    admin = open_page("t-admin")
    admin.goto(counter.url.split("&")[0])
    for step in ("10", "20", "30", "60"):
        admin.select_option(f"#to_status-{card_no}", step)
        if step == "60":
            admin.select_option(f"#outlet_code-{card_no}", "T01")
        admin.click(f"#card-{card_no} [data-action=production]")
        admin.wait_for_selector(f"#card-{card_no} .production-status[data-code='{step}']")

    counter.reload()
    counter.click(f"#card-{card_no} [data-action=pickup]")
    counter.wait_for_selector(f"#card-{card_no} .app-status[data-code='0']")
    counter.fill(f"#pin-{card_no}", "123456")
    counter.click(f"#card-{card_no} [data-action=activate]")
    assert counter.inner_text(f"#pin-{card_no}-error") == "不能使用初始密码 123456"
    assert _status_of(counter, card_no) == "0"
    counter.fill(f"#pin-{card_no}", "802413")
    counter.click(f"#card-{card_no} [data-action=activate]")
    counter.wait_for_selector(f"#card-{card_no} .app-status[data-code='1']")
    seq = int(counter.inner_text("#audit-seq").lstrip("#"))
    assert seq == audit.last_seq_by_actor(sqlite_city.db, sqlite_city.counter, "card", card_no)
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, card_no).app_status == "1"
    screenshot(counter, "counter-journey-active-card")


def test_dashboard_charts_render_with_the_figures_of_the_statistics(open_page: OpenPage,
                                                                    sqlite_city: City) -> None:
    person_with_card(sqlite_city, "normal")  # at least one issued card and one person
    page = open_page("t-admin")
    page.click("nav >> text=驾驶舱")
    page.wait_for_selector("#chart-app_status[data-rendered=true] canvas")
    charts = page.locator(".chart").count()  # the admin also sees bank, batch, settlement (and benefit) charts
    assert charts >= 7 and page.locator(".chart canvas").count() == charts
    overview = stats.overview(sqlite_city.db)
    rows = page.locator("#table-app_status tbody tr")
    shown = {rows.nth(i).locator("th").inner_text(): int(rows.nth(i).locator("td").inner_text())
             for i in range(rows.count())}
    expected = {gettext("zh_CN", label): overview.by_app_status.get(code, 0)
                for code, label in labels.APP_STATUS.items()}
    assert shown == expected and sum(shown.values()) == overview.cards
    division = page.locator("#table-division tbody tr")
    persons = {division.nth(i).locator("th").inner_text(): int(division.nth(i).locator("td").first.inner_text())
               for i in range(division.count())}
    assert persons == overview.persons_by_division
    screenshot(page, "dashboard")


def test_switching_to_english_changes_the_page_language(open_page: OpenPage) -> None:
    page = open_page("t-counter")
    assert page.get_attribute("html", "lang") == "zh-CN" and page.inner_text("h1") == "柜面业务"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1") == "Counter workstation" and page.inner_text("#role") == "Counter operator"
    assert page.url.endswith("/counter")
    screenshot(page, "english-counter")


def test_a_forged_post_without_the_csrf_token_is_refused(open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "normal")
    page = open_page("t-counter")
    page.goto(person_path(id_no))
    # A form the page did not render (as an injected or cross-site one would be): no csrf_token field.
    page.evaluate("""([action, ref]) => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = action;
        const input = document.createElement('input');
        input.type = 'hidden'; input.name = 'ref'; input.value = ref; form.appendChild(input);
        document.body.appendChild(form); form.submit(); }""",
                  [f"/counter/cards/{card_no}/temp_loss", person_path(id_no).split("ref=")[1]])
    page.wait_for_selector("text=请求被拒绝")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "1"
    screenshot(page, "csrf-refused")


def test_a_counter_operator_does_not_see_unlock_or_cancel_and_is_refused_posting_them(
        open_page: OpenPage, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "locked")
    supervisor = open_page("t-super")
    supervisor.goto(person_path(id_no))
    assert supervisor.locator(f"#card-{card_no} [data-action=unlock]").count() == 1
    assert supervisor.locator(f"#card-{card_no} [data-action=cancel]").count() == 1

    counter = open_page("t-counter")
    counter.goto(person_path(id_no))
    assert counter.locator(f"#card-{card_no} [data-action=unlock]").count() == 0
    assert counter.locator(f"#card-{card_no} [data-action=cancel]").count() == 0
    assert counter.locator(f"#card-{card_no} [data-action=temp_loss]").count() == 1  # what a counter may do
    for action, extra in (("unlock", ""), ("cancel", "death")):
        # Re-use a genuine form (valid CSRF token) and point it at the operation the role lacks.
        counter.goto(person_path(id_no))
        counter.evaluate("""([action, reason]) => {
            const form = document.querySelector('form.action');
            form.action = action;
            if (reason) { const r = document.createElement('input'); r.type = 'hidden'; r.name = 'reason';
                          r.value = reason; form.appendChild(r); }
            form.submit(); }""", [f"/counter/cards/{card_no}/{action}", extra])
        counter.wait_for_selector("text=无权操作")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "3"
    screenshot(counter, "counter-refused-unlock")
