"""The e-card on a phone, in a real browser (Debian's Chromium through Playwright, 390×844): the holder
activates it in the portal, the page's code is screenshotted and decoded by a real QR decoder (zxing-cpp), the
decoded text verifies and settles a bill at a pharmacy over HTTP; then the holder reports a temporary loss and
the same code is refused, and the page shows no code any more."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from ecard.ecard_world import process_keys
from medical.world import PIN, insured_person, new_hospital
from sscard import clock
from sscard.api.app import create_app
from sscard.medical import presence
from sscard.portal import service as portal
from support.city import PASSWORD, City
from web.helpers import ARTIFACTS
from web.portal_helpers import QUERY_PASSWORD

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, live_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    process_keys(monkeypatch, tmp_path)  # the live server signs and verifies with this test's keystore
    context = browser.new_context(base_url=live_server, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    violations: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not violations, violations


def _decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode, found
    return str(found[0].text)


def _screenshot(page: Any, name: str) -> bytes:
    ARTIFACTS.mkdir(exist_ok=True)
    png: bytes = page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # the phone's screen as shown
    return png


def _token(http: httpx.Client) -> dict[str, str]:
    r = http.post("/api/v1/auth/token", json={"username": "t-counter", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_phone_shows_a_code_that_decodes_verifies_settles_and_stops_with_a_loss(
        phone: Any, live_server: str, sqlite_city: City, new_id: Callable[..., str]) -> None:
    who = insured_person(sqlite_city, new_id, balance_fen=50_000)
    assert who.card_no is not None
    portal.set_query_password(sqlite_city.db, sqlite_city.counter, who.card_no, QUERY_PASSWORD)
    pharmacy = new_hospital(sqlite_city, TestClient(create_app(sqlite_city.db)), level=None, kind="pharmacy",
                            services=("pharmacy",))

    phone.goto("/portal/login")
    phone.fill("#identifier", who.card_no)
    phone.fill("#password", QUERY_PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url("**/portal")
    phone.click("#ecard-link")
    phone.wait_for_url("**/portal/ecard")
    phone.click("#activate")
    phone.wait_for_selector("#ecard-qr-image")
    assert phone.get_attribute("#ecard-status", "data-status") == "active"
    box = phone.locator("#ecard-qr-image").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # fits the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    text = _decode(_screenshot(phone, "ecard-phone-code"))
    assert text.startswith("ESSC1.") and len(text) == 136

    with httpx.Client(base_url=live_server, timeout=30) as http:
        operator = _token(http)
        assert http.post("/api/v1/ecard/verify", json={"code": text}, headers=operator).json()["result"] == "valid"
        body = json.dumps({"msg_id": uuid.uuid4().hex, "ecard_code": text,
                           "bill": {"date": clock.local_date().isoformat(), "visit_type": "pharmacy",
                                    "lines": [{"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]}})
        settled = http.post("/api/v1/medical/settlements", content=body.encode(),
                            headers={**pharmacy.headers, "Content-Type": "application/json",
                                     presence.HEADER: f"v=1;method=pin;pin={PIN}"})
        assert settled.status_code == 200, settled.text
        assert settled.json()["identified_by"] == "ecard" and settled.json()["split"]["account_paid_fen"] > 0

        phone.goto("/portal")
        phone.click(f"#loss-{who.card_no}")  # the temporary loss asks first (issue 14)
        phone.click("#loss-confirm")
        phone.wait_for_selector("#result")
        refused = http.post("/api/v1/ecard/verify", json={"code": text}, headers=operator).json()
        assert (refused["result"], refused["code"]) == ("revoked", "ECARD_CODE_REVOKED")
        again = http.post("/api/v1/medical/settlements", content=body.replace(
            json.loads(body)["msg_id"], uuid.uuid4().hex).encode(), headers={
            **pharmacy.headers, "Content-Type": "application/json", presence.HEADER: f"v=1;method=pin;pin={PIN}"})
        assert again.json()["error"]["code"] == "ECARD_CODE_REVOKED"

    phone.goto("/portal/ecard")
    assert phone.get_attribute("#ecard-status", "data-status") == "suspended"
    assert phone.locator("#ecard-qr-image").count() == 0 and phone.is_visible("#ecard-suspended")
    _screenshot(phone, "ecard-phone-suspended")


def test_the_page_refreshes_the_code_before_it_expires(phone: Any, sqlite_city: City,
                                                       new_id: Callable[..., str]) -> None:
    who = insured_person(sqlite_city, new_id)
    assert who.card_no is not None
    portal.set_query_password(sqlite_city.db, sqlite_city.counter, who.card_no, QUERY_PASSWORD)
    phone.goto("/portal/login")
    phone.fill("#identifier", who.card_no)
    phone.fill("#password", QUERY_PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url("**/portal")
    phone.goto("/portal/ecard")
    phone.clock.install()  # the page's timers run on a clock the test moves
    phone.click("#activate")
    phone.wait_for_selector("#ecard-qr-image")
    first_expiry = phone.get_attribute("#ecard-qr", "data-expires")
    first = _decode(phone.locator("#ecard-qr-image").screenshot())
    refresh_in = int(phone.get_attribute("#ecard-qr", "data-refresh-in"))
    assert 0 < refresh_in < 60  # asked again before the minute is over
    phone.clock.run_for(refresh_in * 1000 + 100)
    deadline = time.monotonic() + 15
    while phone.get_attribute("#ecard-qr", "data-expires") == first_expiry and time.monotonic() < deadline:
        time.sleep(0.1)
    second = _decode(phone.locator("#ecard-qr-image").screenshot())
    assert second != first and second.startswith("ESSC1.")
