"""Cardholder journeys in a real browser (Debian's Chromium through Playwright): the portal with a
settlement and a pension payment, and a temporary loss the operator then sees; the kiosk by the card in
the (virtual) reader and its on-screen keypad; the language switch on the portal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from support.city import City
from web.conftest import KioskSlot
from web.helpers import person_path, screenshot
from web.portal_helpers import QUERY_PASSWORD, chip_holder, insured_holder, pension_month

OpenPage = Callable[..., Any]


def test_cardholder_sees_a_settlement_and_reports_a_loss_the_operator_then_sees(open_page: OpenPage,
                                                                                sqlite_city: City) -> None:
    h = insured_holder(sqlite_city)
    pension_month(sqlite_city, h, paid=True)
    page = open_page()
    page.goto("/portal/login")
    page.fill("#identifier", h.card_no)
    page.fill("#password", "000000")
    page.click("button[type=submit].primary")
    assert page.is_visible("#password-error") and page.input_value("#identifier") == h.card_no
    page.fill("#password", QUERY_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal")
    assert page.locator("#settlements tr.settlement").count() == 1
    assert page.inner_text("#medical-balance") != "0.00"
    assert page.locator("#payments tr.payment[data-kind=pension][data-status=paid]").count() == 1
    assert page.is_visible("#contributions")
    page.click(f"#loss-{h.card_no}")  # asks first
    page.click("#loss-confirm")
    page.wait_for_selector("#result")
    assert page.get_attribute(f"#card-{h.card_no} .app-status", "data-code") == "4"
    screenshot(page, "portal-temporary-loss")

    operator = open_page("t-counter")
    operator.goto(person_path(h.id_number))
    assert operator.get_attribute(f"#card-{h.card_no} .app-status", "data-code") == "4"
    assert operator.is_visible(f"#card-{h.card_no} [data-action=lift_loss]")
    screenshot(operator, "portal-loss-seen-at-the-counter")


def test_kiosk_login_by_the_virtual_card_and_the_keypad(open_page: OpenPage, sqlite_city: City,
                                                       kiosk_slot: KioskSlot) -> None:
    h = chip_holder(sqlite_city, kiosk_slot.keys, kiosk_slot.image)  # personalised, then "inserted"
    page = open_page()
    page.goto("/kiosk")
    page.click("#card-inserted")
    page.wait_for_url("**/kiosk/password")
    for digit in QUERY_PASSWORD:
        page.click(f".keypad [data-key='{digit}']")
    assert page.input_value("#password") == QUERY_PASSWORD
    page.click("#kiosk-login")
    page.wait_for_url("**/kiosk/home")
    assert page.get_attribute("body", "class") == "kiosk"
    assert page.locator(f"#card-{h.card_no}").count() == 1
    box = page.locator("#tile-card").bounding_box()
    assert box is not None and box["height"] >= 56  # a large touch target
    screenshot(page, "kiosk-home")
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, h.card_no).app_status == "1"

    counter = open_page("t-counter")  # the same card on the counter's desk reader opens its holder
    counter.click("#read-card")
    counter.wait_for_url("**/counter/person?**")
    assert counter.locator(f"#card-{h.card_no}").count() == 1
    screenshot(counter, "counter-read-card")


def test_the_portal_switches_to_english(open_page: OpenPage, sqlite_city: City) -> None:
    page = open_page()
    page.goto("/portal/login")
    assert page.get_attribute("html", "lang") == "zh-CN" and page.inner_text("h1") == "持卡人网上服务"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1") == "Online services for cardholders"
    screenshot(page, "portal-english")
