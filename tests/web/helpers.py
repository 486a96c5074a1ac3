"""Helpers for the web tests: logged-in clients, persons with cards in a given state, screenshots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from sscard.access import Actor
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.web import security
from support.city import PASSWORD, City
from support.factories import next_id_number

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class WebClient:
    """A TestClient logged in (or not) as one operator, with the CSRF token its forms carry."""

    http: TestClient
    csrf: str

    def post(self, url: str, data: dict[str, str], **kw: Any) -> Any:
        return self.http.post(url, data={"csrf_token": self.csrf, **data}, **kw)


def web_client(city: City, username: str | None = None, base_url: str = "http://testserver") -> WebClient:
    http = TestClient(create_app(city.db), base_url=base_url, raise_server_exceptions=False)
    token = csrf_of(http.get("/login").text)
    if username:
        r = http.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
        assert r.status_code == 200 and "/counter" in str(r.url), r.text
        token = csrf_of(r.text)  # the CSRF token is bound to the session: a new one after login
    return WebClient(http, token)


def person_with_card(city: City, state: str = "none") -> tuple[str, str | None]:
    """A person built through the services: ``none`` (registered), ``at_outlet``, ``normal`` or ``locked``."""
    id_no = next_id_number(region="441802")
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="测试人", region_code="441802"))
    if state == "none":
        return id_no, None
    card_no = cards.apply_new(city.db, city.counter, id_no).card.card_no
    _to_outlet(city.db, city.admin, card_no)
    if state == "at_outlet":
        return id_no, card_no
    cards.pick_up(city.db, city.counter, card_no)
    cards.activate(city.db, city.counter, card_no, "246810")
    if state == "locked":
        while not cards.verify_pin(city.db, city.counter, card_no, "000000").locked:
            pass
    return id_no, card_no


def _to_outlet(db: Any, admin: Actor, card_no: str) -> None:
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(db, admin, card_no, status)
    cards.advance_production(db, admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")


def person_path(id_number: str) -> str:
    return "/counter/person?ref=" + security.person_ref(id_number)


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """The page as a PNG in test-artifacts/ (``full_page=False``: the window only, for pages as tall as ReDoc's,
    whose whole height takes Chromium longer to capture than its screenshot timeout on a loaded machine)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
