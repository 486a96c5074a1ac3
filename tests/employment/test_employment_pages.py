"""The employment pages in Chinese with identifiers masked: the counter finds a person, registers and closes;
the kiosk, with the card in the reader and its password, registers the holder; the portal registers a flexible
worker and takes a declaration. On both databases."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.employment import service
from sscard.funds.contributions import service as contributions
from sscard.terminal.station import ImageCardReader
from support.city import City
from web.helpers import csrf_of, person_with_card, web_client
from web.portal_helpers import QUERY_PASSWORD, chip_holder, holder, kiosk_keys, portal_client


def _visible_text(html: str) -> str:
    body = html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


def test_the_counter_registers_and_closes_with_masked_identifiers(city: City) -> None:
    id_number, _ = person_with_card(city, "none")
    counter = web_client(city, "t-counter")
    assert 'href="/counter/employment"' in counter.http.get("/counter").text
    page = counter.http.get("/counter/employment").text
    assert "就业服务" in page and [w for w in re.findall(r"[A-Za-z]{4,}", _visible_text(page))] == []
    r = counter.post("/counter/employment/register", {"id_number": id_number, "kind": "unemployment"})
    assert r.status_code == 200 and "登记已办理" in r.text and id_number not in r.text
    assert id_number[:4] + "*" * 10 + id_number[-4:] in r.text and 'data-status="open"' in r.text
    again = counter.post("/counter/employment/register", {"id_number": id_number, "kind": "unemployment"})
    assert again.status_code == 409 and "该人员已有同类未注销的登记" in again.text
    reg_id = re.search(r'id="registration-(\d+)"', r.text)
    assert reg_id is not None
    closed = counter.post("/counter/employment/close", {"registration_id": reg_id.group(1), "reason": "reemployed"})
    assert closed.status_code == 200 and "登记已注销" in closed.text and "重新就业" in closed.text
    assert 'data-status="closed"' in closed.text and id_number not in closed.text
    found = counter.post("/counter/employment/search", {"id_number": id_number})
    assert f'id="registration-{reg_id.group(1)}"' in found.text
    assert web_client(city).http.get("/counter/employment", follow_redirects=False).status_code in (303, 401)
    counter.http.get("/lang/en")
    english = counter.post("/counter/employment/search", {"id_number": id_number}).text
    assert "Unemployment registration" in english and "Re-employed" in english
    assert re.findall(r"[\u4e00-\u9fff]", _visible_text(english).replace("中文", "")) == []


def test_the_kiosk_registers_the_holder_of_the_card_in_the_reader(city: City, tmp_path: Path) -> None:
    keys = kiosk_keys()
    image = tmp_path / "card.json"
    who = chip_holder(city, keys, image)
    app = create_app(city.db)
    app.state.kiosk_reader = ImageCardReader(image, keys)
    http = TestClient(app, raise_server_exceptions=False)
    token = csrf_of(http.get("/kiosk").text)
    http.post("/kiosk/card", data={"csrf_token": token})
    home = http.post("/kiosk/login", data={"csrf_token": token, "password": QUERY_PASSWORD})
    assert 'href="/kiosk/employment"' in home.text
    token = csrf_of(home.text)
    page = http.get("/kiosk/employment")
    assert 'id="register-unemployment"' in page.text and 'class="kiosk"' in page.text
    done = http.post("/kiosk/employment/register", data={"csrf_token": token, "kind": "unemployment"})
    assert str(done.url).endswith("/kiosk/employment?done=registered") and "登记已办理" in done.text
    assert 'data-kind="unemployment"' in done.text and 'id="register-unemployment"' not in done.text
    assert who.id_number not in done.text
    with city.db.unit_of_work() as s:
        from sscard.registry.service import find_by_id_number
        person_id = find_by_id_number(s, who.id_number).id
    regs = service.registrations_of(city.db, city.supervisor, person_id)
    assert [(r.kind, r.channel) for r in regs] == [("unemployment", "kiosk")]


def test_the_portal_registers_a_flexible_worker_and_takes_a_declaration(city: City) -> None:
    who = holder(city)
    http, token = portal_client(city, who.id_number)
    assert 'href="/portal/employment"' in http.get("/portal").text
    bad = http.post("/portal/employment/flexible", data={"csrf_token": token, "pension": "1", "medical": "1",
                                                          "base_percent": "400"})
    assert bad.status_code == 422 and 'id="flexible"' in bad.text
    ok = http.post("/portal/employment/flexible", data={"csrf_token": token, "pension": "1", "medical": "1",
                                                         "base_percent": "60"})
    assert str(ok.url).endswith("done=flexible") and "您已办理灵活就业人员参保登记" in ok.text
    with city.db.unit_of_work() as s:
        from sscard.registry.service import find_by_id_number
        person_id = find_by_id_number(s, who.id_number).id
    assert {e.scheme for e in contributions.enrolments(city.db, city.supervisor, person_id)} == {
        "flex_pension", "employee_medical"}
    assert who.id_number not in ok.text
