"""The portal, kiosk, exceptions queue, batches and TOTP pages without a browser: field errors that keep
the input, CSRF, roles (hidden action and refused post), masking, lockout, idle timeout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyotp
import time_machine
from fastapi.testclient import TestClient

from production.builders import Person, collection_csv, population_csv, write_photos
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from sscard.auth import totp
from sscard.auth.models import OperatorTotp
from sscard.cards import service as cards
from sscard.production import service as production
from sscard.registry import service as registry
from sscard.terminal.station import ImageCardReader
from support.city import PASSWORD, City
from support.factories import next_id_number
from web.helpers import WebClient, csrf_of, person_path, person_with_card
from web.portal_helpers import (
    QUERY_PASSWORD,
    chip_holder,
    holder,
    insured_holder,
    kiosk_keys,
    pension_month,
    portal_client,
    unique,
)

Clients = Callable[..., WebClient]


def _status(city: City, card_no: str) -> str | None:
    return cards.get_card(city.db, SYSTEM_ACTOR, card_no).app_status


# ------------------------------------------------------------------------------------------ activation


def test_activation_sets_the_query_password_or_refuses_it_next_to_its_field(clients: Clients,
                                                                           sqlite_city: City) -> None:
    c = clients("t-counter")
    id_no, card_no = person_with_card(sqlite_city, "at_outlet")
    assert card_no is not None
    cards.pick_up(sqlite_city.db, sqlite_city.counter, card_no)
    page = c.http.get(person_path(id_no)).text
    ref = page.split('name="ref" value="')[1].split('"')[0]
    r = c.post(f"/counter/cards/{card_no}/activate", {"ref": ref, "pin": "246810", "query_password": "111111"})
    assert r.status_code == 422 and f'id="query_password-{card_no}-error"' in r.text
    assert "111111" not in r.text and _status(sqlite_city, card_no) == "0"  # nothing written, secret not echoed
    r = c.post(f"/counter/cards/{card_no}/activate", {"ref": ref, "pin": "246810", "query_password": "802613"})
    assert r.status_code == 200 and 'id="audit-seq"' in r.text and _status(sqlite_city, card_no) == "1"
    portal_client(sqlite_city, card_no)  # logs in with the password set at activation


# ------------------------------------------------------------------------------------------ portal login


def test_portal_login_by_id_number_shows_masked_data_settlements_and_funds_sections(sqlite_city: City) -> None:
    h = insured_holder(sqlite_city)
    http, _ = portal_client(sqlite_city, h.id_number)
    page = http.get("/portal").text
    assert h.id_number not in page and h.id_number[:4] + "**********" + h.id_number[-4:] in page
    assert 'class="settlement"' in page and 'id="medical-balance"' in page
    assert 'id="contributions' in page and 'id="benefits' in page


def test_a_failed_benefit_payment_says_what_to_do(sqlite_city: City) -> None:
    h = insured_holder(sqlite_city, settle=False)
    pension_month(sqlite_city, h, paid=False)  # the bank knows no such account
    http, _ = portal_client(sqlite_city, h.card_no)
    page = http.get("/portal").text
    assert 'data-kind="pension" data-status="failed"' in page and 'id="payment-failed"' in page
    assert 'class="advice-row"' in page and "处理办法" in page
    english = http.get("/lang/en?next=/portal").text
    assert "What to do" in english and "Pension" in english


def test_wrong_query_passwords_keep_the_identifier_then_lock_for_a_while_with_the_same_answer(
        clients: Clients, sqlite_city: City) -> None:
    h = holder(sqlite_city)
    http = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False, client=("192.0.2.61", 50000))
    token = csrf_of(http.get("/portal/login").text)
    answers = set()
    for _ in range(5):  # policy portal.max_failed_logins = 5
        r = http.post("/portal/login", data={"csrf_token": token, "identifier": h.card_no, "password": "999990"})
        assert r.status_code == 401 and 'id="password-error"' in r.text and f'value="{h.card_no}"' in r.text
        answers.add(r.text.split('id="password-error"')[1][:200])
    r = http.post("/portal/login", data={"csrf_token": token, "identifier": h.card_no, "password": QUERY_PASSWORD})
    assert r.status_code == 401 and "/portal/login" in str(r.url)  # locked for a while: the very same answer
    answers.add(r.text.split('id="password-error"')[1][:200])
    assert len(answers) == 1 and 'id="login-error"' not in r.text
    counter = clients("t-counter")
    page = counter.http.get(person_path(h.id_number)).text
    assert 'data-action="portal_password"' in page
    ref = page.split('name="ref" value="')[1].split('"')[0]
    r = counter.post(f"/counter/cards/{h.card_no}/portal_password", {"ref": ref, "query_password": "470215"})
    assert r.status_code == 200 and 'id="audit-seq"' in r.text
    portal_client(sqlite_city, h.card_no, "470215")


def test_empty_login_fields_are_named(sqlite_city: City) -> None:
    http, token = portal_client(sqlite_city)
    r = http.post("/portal/login", data={"csrf_token": token, "identifier": "", "password": ""})
    assert r.status_code == 422 and 'id="identifier-error"' in r.text and 'id="password-error"' in r.text


# ---------------------------------------------------------------------------------------- self-service


def test_a_temporary_loss_reported_online_is_seen_at_the_counter(clients: Clients, sqlite_city: City) -> None:
    h = holder(sqlite_city)
    http, token = portal_client(sqlite_city, h.card_no)
    r = http.post("/portal/loss", data={"csrf_token": token, "card_no": h.card_no})
    assert r.status_code == 200 and 'id="result"' in r.text and "审计" not in r.text
    assert _status(sqlite_city, h.card_no) == "4"
    page = clients("t-counter").http.get(person_path(h.id_number)).text
    assert f'id="card-{h.card_no}"' in page and 'class="app-status" data-code="4"' in page


def test_a_cardholder_cannot_report_someone_elses_card(sqlite_city: City) -> None:
    mine, other = holder(sqlite_city), holder(sqlite_city)
    http, token = portal_client(sqlite_city, mine.card_no)
    r = http.post("/portal/loss", data={"csrf_token": token, "card_no": other.card_no})
    assert r.status_code == 403 and 'id="loss-form-error"' in r.text
    assert _status(sqlite_city, other.card_no) == "1"


def test_contact_errors_stay_next_to_the_field_and_keep_the_input(sqlite_city: City) -> None:
    h = holder(sqlite_city)
    http, token = portal_client(sqlite_city, h.card_no)
    r = http.post("/portal/contact", data={"csrf_token": token, "phone": "12ab", "address": "清城区松岗大道 8 号"})
    assert r.status_code == 422 and 'id="contact-phone-error"' in r.text
    assert 'value="12ab"' in r.text and 'value="清城区松岗大道 8 号"' in r.text
    r = http.post("/portal/contact", data={"csrf_token": token, "phone": "13800138000",
                                           "address": "清城区松岗大道 8 号"})
    assert r.status_code == 200 and "138****8000" in r.text and "清城区松岗大道 8 号" in r.text
    assert registry.get(sqlite_city.db, SYSTEM_ACTOR, h.id_number).phone == "13800138000"


def test_password_change_errors_name_their_field_and_are_never_echoed(sqlite_city: City) -> None:
    h = holder(sqlite_city)
    http, token = portal_client(sqlite_city, h.card_no)
    cases = [({"old_password": "000001", "new_password": "582046", "repeat_password": "582046"},
              "old_password-error"),
             ({"old_password": QUERY_PASSWORD, "new_password": "123456", "repeat_password": "123456"},
              "new_password-error"),
             ({"old_password": QUERY_PASSWORD, "new_password": "582046", "repeat_password": "582047"},
              "repeat_password-error")]
    for data, error_id in cases:
        r = http.post("/portal/password", data={"csrf_token": token, **data})
        assert r.status_code == 422 and f'id="{error_id}"' in r.text, error_id
        assert "582046" not in r.text and QUERY_PASSWORD not in r.text
    r = http.post("/portal/password", data={"csrf_token": token, "old_password": QUERY_PASSWORD,
                                            "new_password": "582046", "repeat_password": "582046"})
    assert r.status_code == 200 and 'id="result"' in r.text
    portal_client(sqlite_city, h.card_no, "582046")


def test_portal_and_kiosk_forms_refuse_a_missing_csrf_token(sqlite_city: City) -> None:
    h = holder(sqlite_city)
    http, _ = portal_client(sqlite_city, h.card_no)
    for path, data in (("/portal/loss", {"card_no": h.card_no}), ("/portal/contact", {"phone": "13800138000"}),
                       ("/portal/login", {"identifier": h.card_no, "password": QUERY_PASSWORD}),
                       ("/kiosk/card", {}), ("/kiosk/login", {"password": QUERY_PASSWORD})):
        assert http.post(path, data=data).status_code == 403, path
    assert _status(sqlite_city, h.card_no) == "1"


def test_without_a_session_the_portal_sends_to_its_login(sqlite_city: City) -> None:
    http = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
    r = http.get("/portal", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    r = http.get("/kiosk/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk"


# ------------------------------------------------------------------------------------------------ kiosk


def _kiosk(city: City, tmp_path: Path) -> tuple[TestClient, str, str]:
    keys = kiosk_keys()
    image = tmp_path / f"card-{unique()}.json"
    h = chip_holder(city, keys, image)
    app = create_app(city.db)
    app.state.kiosk_reader = ImageCardReader(image, keys)
    http = TestClient(app, raise_server_exceptions=False)
    return http, csrf_of(http.get("/kiosk").text), h.card_no


def test_kiosk_login_by_the_card_in_the_reader_and_idle_timeout(sqlite_city: City, tmp_path: Path) -> None:
    http, token, card_no = _kiosk(sqlite_city, tmp_path)
    r = http.post("/kiosk/card", data={"csrf_token": token})
    assert str(r.url).endswith("/kiosk/password") and 'data-keypad-for="password"' in r.text
    assert card_no not in r.text  # only a masked card number on screen
    r = http.post("/kiosk/login", data={"csrf_token": token, "password": "000000"})
    assert r.status_code == 401 and 'id="password-error"' in r.text
    r = http.post("/kiosk/login", data={"csrf_token": token, "password": QUERY_PASSWORD})
    assert str(r.url).endswith("/kiosk/home") and 'class="kiosk"' in r.text and 'data-idle-seconds="90"' in r.text
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=91)):
        r = http.get("/kiosk/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk"
    assert http.get("/kiosk/home", follow_redirects=False).status_code == 303  # the idle session stays ended


def test_kiosk_without_a_card_says_so(sqlite_city: City, tmp_path: Path) -> None:
    keys = kiosk_keys()
    app = create_app(sqlite_city.db)
    app.state.kiosk_reader = ImageCardReader(tmp_path / "empty-slot.json", keys)
    http = TestClient(app, raise_server_exceptions=False)
    token = csrf_of(http.get("/kiosk").text)
    r = http.post("/kiosk/card", data={"csrf_token": token})
    assert r.status_code == 422 and 'id="kiosk-error"' in r.text


def test_the_counter_reads_a_card_on_its_desk_reader(clients: Clients, sqlite_city: City, tmp_path: Path) -> None:
    c = clients("t-counter")
    r = c.post("/counter/read-card", {})
    assert r.status_code == 422 and 'id="card-error"' in r.text  # no reader at this counter
    keys = kiosk_keys()
    image = tmp_path / f"card-{unique()}.json"
    h = chip_holder(sqlite_city, keys, image)
    c.http.app.state.counter_reader = ImageCardReader(image, keys)  # type: ignore[attr-defined]
    r = c.post("/counter/read-card", {})
    assert "/counter/person?ref=" in str(r.url) and f'id="card-{h.card_no}"' in r.text
    assert c.http.post("/counter/read-card", data={}).status_code == 403  # without the CSRF token
    other = kiosk_keys()  # a card made with other keys is not genuine: it opens nothing
    foreign = tmp_path / f"card-{unique()}.json"
    chip_holder(sqlite_city, other, foreign)
    c.http.app.state.counter_reader = ImageCardReader(foreign, keys)  # type: ignore[attr-defined]
    r = c.post("/counter/read-card", {})
    assert r.status_code == 422 and 'id="card-error"' in r.text


# ----------------------------------------------------------------------------------- exceptions, batches


def _an_exception(city: City, tmp_path: Path) -> int:
    moved = Person(next_id_number(region="441803"), "冯搬家", "441803", collected={"region_code": "441881"})
    write_photos([moved], tmp_path)
    production.import_population(city.db, city.admin, population_csv([moved]))
    imported = production.import_collection(city.db, city.admin, collection_csv([moved]), photo_root=tmp_path)
    production.run_comparison(city.db, city.admin, imported.import_id)
    found = production.list_exceptions(city.db, city.admin, import_id=imported.import_id)
    return found[0].id


def test_the_exceptions_queue_follows_the_role(clients: Clients, sqlite_city: City, tmp_path: Path) -> None:
    exc_id = _an_exception(sqlite_city, tmp_path)
    counter = clients("t-counter")
    assert 'href="/counter/exceptions"' not in counter.http.get("/counter").text
    assert counter.http.get("/counter/exceptions").status_code == 403
    assert counter.post(f"/counter/exceptions/{exc_id}", {"resolution": "reject"}).status_code == 403
    supervisor = clients("t-super")
    page = supervisor.http.get("/counter/exceptions").text
    assert f'id="exception-{exc_id}"' in page and 'value="take_register"' in page
    r = supervisor.post(f"/counter/exceptions/{exc_id}", {"resolution": "nonsense"})
    assert r.status_code == 422 and f'id="resolution-{exc_id}-error"' in r.text
    r = supervisor.post(f"/counter/exceptions/{exc_id}", {"resolution": "take_register"})
    assert r.status_code == 200 and 'id="audit-seq"' in r.text and f'id="exception-{exc_id}"' not in r.text


def test_batches_are_for_the_batch_role(clients: Clients) -> None:
    assert clients("t-super").http.get("/counter/batches").status_code == 403
    page = clients("t-admin").http.get("/counter/batches").text
    assert 'id="batches"' in page or 'id="no-batches"' in page


# ------------------------------------------------------------------------------------------------- TOTP


def test_totp_enrolment_then_login_needs_the_code_and_refuses_its_reuse(sqlite_city: City) -> None:
    name = f"t-totp-{unique()}"
    auth.create_operator(sqlite_city.db, SYSTEM_ACTOR, name, name, Role.COUNTER, PASSWORD, "T01")
    from web.helpers import web_client
    c = web_client(sqlite_city, name)
    page = c.post("/account/totp/start", {}).text
    secret = page.split('id="totp-key">')[1].split("<")[0]
    r = c.post("/account/totp/confirm", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert r.status_code == 422 and 'id="totp-code-error"' in r.text
    r = c.post("/account/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and "/account/totp?done=confirm" in str(r.url)
    fresh = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
    token = csrf_of(fresh.get("/login").text)
    r = fresh.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD})
    assert r.status_code == 401 and 'id="code-error"' in r.text and f'value="{name}"' in r.text
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)):
        code = pyotp.TOTP(secret).now()
        r = fresh.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD, "code": code})
        assert str(r.url).endswith("/counter")
        again = TestClient(create_app(sqlite_city.db), raise_server_exceptions=False)
        t2 = csrf_of(again.get("/login").text)
        r = again.post("/login", data={"csrf_token": t2, "username": name, "password": PASSWORD, "code": code})
        assert r.status_code == 401 and 'id="code-error"' in r.text  # a code works once
    with sqlite_city.db.unit_of_work() as s:
        row = s.get(OperatorTotp, auth.actor_for_username(sqlite_city.db, name).operator_id)
        assert row is not None and secret not in row.secret  # sealed at rest
    assert totp.enabled(sqlite_city.db, auth.actor_for_username(sqlite_city.db, name).operator_id)


def test_every_new_page_has_csrf_in_its_forms_and_no_inline_script(clients: Clients, sqlite_city: City,
                                                                   tmp_path: Path) -> None:
    import re

    h = holder(sqlite_city)
    holder_http, holder_token = portal_client(sqlite_city, h.card_no)
    kiosk_http, kiosk_token, _ = _kiosk(sqlite_city, tmp_path)
    kiosk_http.post("/kiosk/card", data={"csrf_token": kiosk_token})
    supervisor = clients("t-super")
    pages = [(holder_http, "/portal", holder_token), (holder_http, "/portal/login", holder_token),
             (kiosk_http, "/kiosk", kiosk_token), (kiosk_http, "/kiosk/password", kiosk_token),
             (supervisor.http, "/counter/exceptions", supervisor.csrf), (supervisor.http, "/account/totp",
                                                                          supervisor.csrf)]
    for http, path, token in pages:
        r = http.get(path)
        assert r.status_code == 200, path
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path
        assert not re.search(r"\son[a-z]+=", r.text), path  # no inline event handlers
        posts = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", r.text, re.S)
        assert all(f'name="csrf_token" value="{token}"' in body for body in posts), path
