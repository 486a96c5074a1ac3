"""Fixtures for the pages: an in-process client with a CSRF token, a live uvicorn server, Chromium via Playwright.

Browser tests skip when Chromium or the playwright package is missing, except under CI=true, where they fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sscard.api.app import create_app
from sscard.kms import KeyManager
from sscard.terminal.station import ImageCardReader
from support.city import IN_CI, PASSWORD, City
from support.loopback import serve
from web.helpers import CHROMIUM, WebClient, web_client
from web.portal_helpers import kiosk_keys


@pytest.fixture
def clients(sqlite_city: City) -> Callable[..., WebClient]:
    def _make(username: str | None = None, base_url: str = "http://testserver") -> WebClient:
        return web_client(sqlite_city, username, base_url)

    return _make


# ------------------------------------------------------------------------------------------------ browser


@dataclass
class KioskSlot:
    """The live server's kiosk reader: the card image at ``image`` is the card in the slot."""

    image: Path
    keys: KeyManager


@pytest.fixture(scope="session")
def kiosk_slot(tmp_path_factory: pytest.TempPathFactory) -> KioskSlot:
    return KioskSlot(tmp_path_factory.mktemp("kiosk") / "inserted-card.json", kiosk_keys())


@pytest.fixture(scope="session")
def live_server(sqlite_city: City, kiosk_slot: KioskSlot) -> Iterator[str]:
    app = create_app(sqlite_city.db)
    # One slot serves the kiosk and the counter's desk reader alike.
    app.state.kiosk_reader = app.state.counter_reader = ImageCardReader(kiosk_slot.image, kiosk_slot.keys)
    with serve(app, "uvicorn") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed (.ci/install-browser.sh)"
    if missing is None and not shutil.which(CHROMIUM):
        missing = f"{CHROMIUM} is missing (.ci/install-browser.sh)"
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """A fresh browser context (own cookies) per call; CSP violations reported to the console fail the test."""
    contexts: list[Any] = []
    violations: list[str] = []

    def _open(username: str | None = None) -> Any:
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        if username:
            page.goto("/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url("**/counter")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not violations, violations


