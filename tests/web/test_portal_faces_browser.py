"""The cardholder on a phone (390 × 844) and at a portrait kiosk (1080 × 1920), in Chromium, as issue 14 asks:
nothing wider than the phone, tables as stacked cards, names on one line, the temporary loss confirmed before it
acts and not the first red control, lifting it online, a replacement ordered with the fee shown first and then
followed, a certificate printed and checked on the public page; at the kiosk the whole width, a tile menu with
large targets, a lost card refused right after the card is read, a wrong password spoken of as the card's,
printing, certification, the PIN changed, and the idle logout saying to take the card. axe-core finds no serious
or critical violation on any of these pages. Screenshots: test-artifacts/faces-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.schemas import EntitlementIn
from support.city import City
from web.conftest import KioskSlot
from web.helpers import screenshot
from web.portal_checks import assert_accessible, assert_fits_width, assert_one_line
from web.portal_helpers import QUERY_PASSWORD, chip_holder, insured_holder, pension_month

PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1080, "height": 1920}
Open = Callable[[dict[str, int]], Any]


@pytest.fixture
def open_device(browser: Any, live_server: str) -> Iterator[Open]:
    """A fresh context with the device's viewport (touch for both); CSP violations fail the test."""
    contexts: list[Any] = []
    violations: list[str] = []

    def _open(viewport: dict[str, int]) -> Any:
        context = browser.new_context(base_url=live_server, viewport=viewport, has_touch=True,
                                      is_mobile=viewport["width"] < 600, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not violations, violations


def _check_phone(page: Any, name: str) -> None:
    assert_fits_width(page)
    assert_accessible(page)
    screenshot(page, f"faces-phone-{name}")


def _status(city: City, card_no: str) -> str | None:
    return cards.get_card(city.db, SYSTEM_ACTOR, card_no).app_status


def test_the_cardholder_on_a_phone(open_device: Open, sqlite_city: City) -> None:
    h = insured_holder(sqlite_city)
    pension_month(sqlite_city, h, paid=True)
    page = open_device(PHONE)
    page.goto("/portal/login")
    _check_phone(page, "login")
    page.fill("#identifier", h.id_number)
    page.fill("#password", QUERY_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal")
    _check_phone(page, "home")
    assert_one_line(page, "#holder-name")
    assert_one_line(page, "#standings th[scope=row]")
    # Tables are one card per row on the phone, each value with its label.
    assert page.eval_on_selector("#settlements tr.settlement", "el => getComputedStyle(el).display") == "block"
    assert page.locator("#standings tr.standing[data-type=pension]").count() == 1
    assert "基本养老保险" in page.inner_text("#standings") and "养老金" not in page.inner_text("#standings")
    assert "累计缴费年限" in page.inner_text("#standing")
    assert page.locator("#account-credits tr.credit").count() == 1  # the account's 划入
    page.click("#settlements details.lines summary")
    assert page.locator("#settlements tr.line").count() >= 1  # the bill's items
    # The first control of the card is not the red loss report; the loss report asks first.
    card = f"#card-{h.card_no}"
    first = page.locator(f"{card} .card-actions a, {card} .card-actions button").first
    assert first.get_attribute("data-action") != "temp_loss" or "danger" not in (first.get_attribute("class") or "")
    assert page.locator(f"{card} .danger").count() == 0
    text = page.inner_text("main")
    assert "柜面立即可见" not in text and "审计" not in text
    page.click(f"#loss-{h.card_no}")
    page.wait_for_url("**/portal/loss?**")
    assert page.is_visible("#loss-confirm") and _status(sqlite_city, h.card_no) == "1"
    _check_phone(page, "loss-confirm")
    page.click("#loss-cancel")
    page.wait_for_url("**/portal#cards")
    assert _status(sqlite_city, h.card_no) == "1"  # going back did nothing
    page.click(f"#loss-{h.card_no}")
    page.click("#loss-confirm")
    page.wait_for_selector("#result")
    assert _status(sqlite_city, h.card_no) == "4" and "临时挂失" in page.inner_text("#result")
    _check_phone(page, "loss-reported")
    page.click(f"#form-lift-{h.card_no} button")  # 网上解挂
    page.wait_for_selector("#result")
    assert _status(sqlite_city, h.card_no) == "1" and "已解除" in page.inner_text("#result")

    # 参保证明 as a PDF, then checked on the public page by someone else.
    token = page.get_attribute("#form-certificate-insured input[name=csrf_token]", "value")
    pdf = page.request.post("/portal/certificate", form={"csrf_token": token, "kind": "insured"})
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    found = re.search(r'insured-([0-9A-Z-]{19})\.pdf', pdf.headers["content-disposition"])
    assert found
    verifier = open_device(PHONE)
    verifier.goto("/portal/verify")
    verifier.fill("#code", found.group(1).lower().replace("-", " "))
    verifier.click("#form-verify button[type=submit]")
    verifier.wait_for_selector("#verdict")
    assert "真实有效" in verifier.inner_text("#verdict")
    assert verifier.inner_text("#verify-name").endswith("*") and h.id_number not in verifier.content()
    _check_phone(verifier, "verify")
    verifier.fill("#code", "AAAA-BBBB-CCCC-DDDD")
    verifier.click("#form-verify button[type=submit]")
    verifier.wait_for_selector("#code-error")
    assert verifier.locator("#verdict").count() == 0

    # 补卡 after a formal loss: the fee before committing, then the progress.
    cards.report_formal_loss(sqlite_city.db, sqlite_city.counter, h.card_no)
    page.goto("/portal")
    page.click(f"{card} [data-action=order_replacement]")
    page.wait_for_url("**/portal/card-order?**")
    _check_phone(page, "order")
    page.check("#delivery-pickup")
    page.select_option("#order-outlet", "T01")
    page.click("#order-next")
    page.wait_for_selector("#order-fee")
    fee = page.inner_text("#order-fee")
    assert re.fullmatch(r"[\d,]+\.\d\d", fee) and page.locator("#order-confirm").is_visible()
    assert len(cards.cards_of_person(sqlite_city.db, SYSTEM_ACTOR, h.id_number)) == 1  # nothing applied yet
    _check_phone(page, "order-review")
    page.click("#order-confirm")
    page.wait_for_selector("#orders")
    assert page.locator("#orders ol.steps li.done").count() == 1
    assert fee in page.inner_text("#orders")
    _check_phone(page, "order-progress")

    # The health records page and the English pages fit the phone too.
    page.goto("/portal/health")
    _check_phone(page, "health")
    page.goto("/portal/data-use")
    _check_phone(page, "data-use")

    # 异地就医备案: the treating city by name, the registration stacked, its cancellation confirmed first.
    page.goto("/portal/remote")
    page.select_option("#kind", "long_term_resident")
    page.select_option("#treating_region", "440200")
    page.fill("#starts_on", clock.local_date().isoformat())
    page.click("#remote-form button[type=submit]")
    page.wait_for_selector("#remote-done")
    assert "韶关市" in page.inner_text("#remote-rows")
    _check_phone(page, "remote")
    page.click("#remote-rows button[id^=cancel-]")
    page.wait_for_selector("#remote-confirm")
    _check_phone(page, "remote-confirm")
    page.click("#remote-cancel-yes")
    page.wait_for_selector("#remote-cancelled")
    assert page.locator('#remote-rows tr[data-status="cancelled"]').count() == 1
    page.goto("/portal")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert "Basic pension insurance" in page.inner_text("#standings")
    assert "Progress of your new card" in page.inner_text("#orders")
    _check_phone(page, "home-english")
    page.goto(f"/portal/loss?card_no={h.card_no}")  # a formally lost card: no temporary loss to report
    page.wait_for_url("**/portal#cards")


def _kiosk_fits(page: Any) -> None:
    width = page.evaluate("() => window.innerWidth")
    box = page.locator(".kiosk-screen").bounding_box()
    assert box is not None and box["width"] >= 0.9 * width, box  # the content uses the whole width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_accessible(page)


def test_the_cardholder_at_a_portrait_kiosk(open_device: Open, sqlite_city: City, kiosk_slot: KioskSlot) -> None:
    h = chip_holder(sqlite_city, kiosk_slot.keys, kiosk_slot.image)
    page = open_device(KIOSK)
    # A lost card is refused right after the card is read, before any password.
    cards.report_temporary_loss(sqlite_city.db, sqlite_city.counter, h.card_no)
    page.goto("/kiosk")
    _kiosk_fits(page)
    page.click("#card-inserted")
    page.wait_for_selector("#kiosk-error")
    assert page.locator("#password").count() == 0 and "/kiosk/password" not in page.url
    assert "请取走您的卡片" in page.inner_text("#take-card") and "挂失" in page.inner_text("#kiosk-error")
    _kiosk_fits(page)
    screenshot(page, "faces-kiosk-lost-card-refused")
    cards.lift_loss(sqlite_city.db, sqlite_city.counter, h.card_no)

    page.goto("/kiosk")
    page.click("#card-inserted")
    page.wait_for_url("**/kiosk/password")
    for digit in "135790":
        page.click(f".keypad [data-key='{digit}']")
    page.click("#kiosk-login")
    page.wait_for_selector("#password-error")
    error = page.inner_text("#password-error")
    assert "查询密码错误" in error and "身份证号" not in error and "卡号" not in error
    _kiosk_fits(page)
    screenshot(page, "faces-kiosk-wrong-password")
    page.fill("#password", QUERY_PASSWORD)
    page.click("#kiosk-login")
    page.wait_for_url("**/kiosk/home")
    _kiosk_fits(page)
    assert float(page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")) >= 24
    tiles = page.locator("#tiles .tile")
    assert tiles.count() >= 8
    for i in range(tiles.count()):
        box = tiles.nth(i).bounding_box()
        assert box is not None and box["height"] >= 96 and box["width"] >= 400, box
    screenshot(page, "faces-kiosk-menu")

    page.click("#tile-standing")
    page.wait_for_url("**/kiosk/s/standing")
    assert "基本养老保险" in page.inner_text("#standings")
    _kiosk_fits(page)
    page.click("#back-to-menu")
    page.click("#tile-print")
    page.wait_for_url("**/kiosk/s/print")
    _kiosk_fits(page)
    screenshot(page, "faces-kiosk-print")
    token = page.get_attribute("#form-certificate-contributions input[name=csrf_token]", "value")
    for kind in ("insured", "contributions"):
        pdf = page.request.post("/kiosk/certificate", form={"csrf_token": token, "kind": kind})
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"

    # 资格认证: the holder draws a pension.
    person_id = cards.get_card(sqlite_city.db, SYSTEM_ACTOR, h.card_no).person_id
    entitlements.grant_entitlement(sqlite_city.db, sqlite_city.admin, EntitlementIn(
        person_id=person_id, kind="pension", amount=180_000, start_period="2026-01", months=None))
    page.goto("/kiosk/s/certify")
    _kiosk_fits(page)
    page.click("#certify-button")
    page.wait_for_selector("#result")
    assert "认证成功" in page.inner_text("#result")
    screenshot(page, "faces-kiosk-certified")

    # 修改社保卡密码, the card still in the reader.
    page.goto("/kiosk/s/pin")
    page.fill("#old_pin", "246810")
    page.fill("#new_pin", "135790")
    page.fill("#repeat_pin", "135790")
    page.click("#pin-submit")
    page.wait_for_selector("#result")
    assert cards.verify_pin(sqlite_city.db, sqlite_city.counter, h.card_no, "135790").ok
    _kiosk_fits(page)
    screenshot(page, "faces-kiosk-pin-changed")

    # Idle: the kiosk logs out by itself and says to take the card.
    page.clock.install()
    page.goto("/kiosk/home")
    page.clock.fast_forward("01:31")
    page.wait_for_url("**/kiosk?bye=idle")
    assert "请取走您的卡片" in page.inner_text("#take-card") and "无操作" in page.inner_text("#bye")
    _kiosk_fits(page)
    screenshot(page, "faces-kiosk-idle-logout")
    page.goto("/kiosk/home")
    page.wait_for_url("**/kiosk")  # the session is over
