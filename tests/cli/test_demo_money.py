"""The demo city's money (sscard.demo.issued / sscard.demo.money), seeded once on a migrated SQLite file through
the real services: the demo cardholder sees a settlement and paid pensions in the portal, the kiosk reads the
demo card's chip image, the dashboard has settlement and benefit data, and the ledger sums to zero."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR
from sscard.api.app import create_app
from sscard.db import Database
from sscard.demo.city import DEMO_PASSWORD, DemoSummary, describe, seed
from sscard.demo.issued import DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD, key_manager
from sscard.demo.models import mark_demo
from sscard.funds.benefits import reissue
from sscard.funds.benefits import service as benefits
from sscard.ledger import service as ledger
from sscard.portal import dashboard, reads
from sscard.portal import service as portal
from sscard.terminal.station import ImageCardReader

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, DemoSummary, Path]:
    root = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{root / 'demo.db'}"
    migrate.upgrade(url)
    db = Database(url)
    mark_demo(db)  # the demo seed writes only into a database marked as made by `sscard demo`
    return db, seed(db, persons=40, progress=False, files=root / "var"), root / "var"


def test_the_demo_cardholder_sees_a_settlement_and_paid_pensions(demo: tuple[Database, DemoSummary, Path]) -> None:
    db, summary, _files = demo
    assert summary.issued is not None and summary.issued.demo.id_number == DEMO_HOLDER_ID
    by_id = portal.login(db, DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD).actor
    assert portal.login(db, summary.issued.demo.card_no, DEMO_QUERY_PASSWORD).actor == by_id
    medical = reads.medical(db, by_id)
    assert medical.insured and any(s.status == "settled" and s.total_fen > 0 for s in medical.settlements)
    assert medical.balance_fen is not None and medical.balance_fen > 0
    paid = [r for r in reads.benefit_payments(db, by_id).rows if r.what == "pension" and r.status == "paid"]
    assert len(paid) == 2 and not any(r.failed for r in reads.benefit_payments(db, by_id).rows)
    assert DEMO_HOLDER_ID in describe(summary)


def test_the_books_balance_and_some_payments_wait_for_reissue(demo: tuple[Database, DemoSummary, Path]) -> None:
    db, summary, _files = demo
    with db.unit_of_work() as s:
        assert ledger.check_zero_sum(s).ok
        assert ledger.accounts_not_matching_journal(s) == []
    reasons = {f.reason_code for f in reissue.failures(db, SYSTEM_ACTOR)}
    assert {"NO_ACCOUNT", "ACCOUNT_FROZEN"} <= reasons
    assert summary.money is not None and summary.money.reversals == 1
    assert summary.issued is not None and summary.issued.maker_failures + summary.issued.bank_failures > 0


def test_the_dashboard_has_settlement_and_benefit_data(demo: tuple[Database, DemoSummary, Path]) -> None:
    db, summary, _files = demo
    days = dashboard.settlements_by_day(db, SYSTEM_ACTOR)
    assert sum(d.settlements for d in days) >= 10 and sum(d.reversed for d in days) == 1
    assert summary.money is not None
    periods = {b.period for b in benefits.list_batches(db, SYSTEM_ACTOR)}
    assert periods == set(summary.money.months)
    http = TestClient(create_app(db), raise_server_exceptions=False)
    r = http.post("/login", data={"csrf_token": _csrf(http.get("/login").text), "username": "admin",
                                  "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    page = http.get("/dashboard").text
    assert clock.local_date().isoformat() in page and summary.money.months[-1] in page


def test_the_kiosk_reads_the_demo_card_and_logs_its_holder_in(demo: tuple[Database, DemoSummary, Path]) -> None:
    db, summary, files = demo
    assert summary.issued is not None
    reader = ImageCardReader(summary.issued.kiosk_image, key_manager(files / "keystore.json"))
    assert reader.read_card().card_no == summary.issued.demo.card_no
    app = create_app(db)
    app.state.kiosk_reader = reader
    http = TestClient(app, raise_server_exceptions=False)
    token = _csrf(http.get("/kiosk").text)
    assert str(http.post("/kiosk/card", data={"csrf_token": token}).url).endswith("/kiosk/password")
    r = http.post("/kiosk/login", data={"csrf_token": token, "password": DEMO_QUERY_PASSWORD})
    assert str(r.url).endswith("/kiosk/home") and r.status_code == 200


def test_the_demo_fills_the_exceptions_queue_and_names_agree_with_the_id_numbers(
        demo: tuple[Database, DemoSummary, Path]) -> None:
    from sscard.access import SYSTEM_ACTOR
    from sscard.demo import names
    from sscard.demo.city import NAME_IS_MALE
    from sscard.demo.offices import LEGACY_HOLDERS
    from sscard.production import service as production
    from sscard.registry import service as registry

    db, summary, _ = demo
    queue = {r.exception.reason_code: r for r in production.review_queue(db, SYSTEM_ACTOR)}
    assert {"NAME_MISMATCH", "NOT_IN_REGISTER", "PHOTO_SIZE"} <= set(queue)
    mismatch = queue["NAME_MISMATCH"]
    assert mismatch.collected_value == "周墙" and mismatch.exception.register_value == "周强"
    everyone = registry.search(db, SYSTEM_ACTOR, limit=500)
    assert len(everyone) >= 40
    assert not set(names.MALE_GIVEN) & set(names.FEMALE_GIVEN)
    for person in everyone:  # the sex digit (17th, odd = male), the sex field and the name agree for everyone
        male = int(person.id_number[16]) % 2 == 1
        assert (person.sex == "1") is male, person.name
        if (person.id_number, person.name) in LEGACY_HOLDERS:  # the names the legacy card file carries
            continue
        if person.name in NAME_IS_MALE:  # the rare-character and long minority names carry their sex
            assert NAME_IS_MALE[person.name] is male, person.name
        else:
            assert names.given_name(person.name) in (names.MALE_GIVEN if male else names.FEMALE_GIVEN), person.name
    assert summary.money is not None and len(summary.money.hospital_api_key) >= 20
    assert summary.money.hospital_api_key in describe(summary)


QUICK_START_BILL = Path(__file__).parents[2] / "docs" / "examples" / "settlement" / "bill-2207.json"


def test_the_quick_start_bill_settles_as_shipped_and_is_reversed(demo: tuple[Database, DemoSummary, Path]) -> None:
    """docs/settlement.md, quick start: the example file posted byte for byte with the key the demo prints gets
    the documented answer, and its settlement is reversed (the bureau's clock on the example's date, noon)."""
    import datetime as dt
    import json

    import time_machine

    db, summary, _files = demo
    assert summary.money is not None
    assert summary.money.quick_start_id in describe(summary) and "X-Institution-Key" in describe(summary)
    body = QUICK_START_BILL.read_bytes()
    sent = json.loads(body)
    assert set(sent) == {"msg_id", "id_number", "use_account", "bill"}
    assert sent["id_number"] == summary.money.quick_start_id
    on = dt.date.fromisoformat(sent["bill"]["date"])
    headers = {"X-Institution-Key": summary.money.hospital_api_key, "Content-Type": "application/json"}
    http = TestClient(create_app(db), raise_server_exceptions=False)
    with time_machine.travel(dt.datetime(on.year, on.month, on.day, 4, tzinfo=dt.UTC), tick=False):
        r = http.post("/api/v1/medical/settlements", content=body, headers=headers)
        assert r.status_code == 200, r.text
        answer = r.json()
        split = answer["split"]
        # The answer the quick start documents.
        assert (answer["identified_by"], answer["card_no"], answer["settled_on"], answer["replayed"]) == (
            "id_number", None, sent["bill"]["date"], False)
        assert (split["total_fen"], split["fund_paid_fen"], split["account_paid_fen"], split["cash_fen"]) == (
            9000, 4950, 4050, 0)
        assert answer["account_balance_after_fen"] == 95_950
        again = http.post("/api/v1/medical/settlements", content=body, headers=headers)
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["setl_id"] == answer["setl_id"]
        back = http.post("/api/v1/medical/reversals", headers=headers,
                         json={"msg_id": "QS-2208-0001", "setl_id": answer["setl_id"]})
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "reversed"
        assert (back.json()["fund_returned_fen"], back.json()["account_returned_fen"]) == (4950, 4050)
        assert back.json()["accumulators_after"]["settlements"] == 0
        shown = http.get(f"/api/v1/medical/settlements/{answer['setl_id']}", headers=headers)
        assert shown.status_code == 200 and shown.json()["status"] == "reversed"


def test_the_demo_cardholder_has_months_of_contributions_paid_by_his_employer(
        demo: tuple[Database, DemoSummary, Path]) -> None:
    db, summary, _files = demo
    assert summary.money is not None and summary.money.holder_contribution_months >= 1
    holder = portal.login(db, DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD).actor
    rows = reads.contributions(db, holder).rows
    assert len({r.period for r in rows}) >= 1
    assert {"pension", "medical"} <= {r.what for r in rows if r.status == "paid"}
    assert {r.period for r in rows} == {"2018-01", "2018-02"}


def test_the_counter_shows_the_demo_cardholders_collected_photo(demo: tuple[Database, DemoSummary, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sscard.config import get_settings
    from sscard.web import security

    db, _summary, files = demo
    monkeypatch.setattr(get_settings(), "photo_dir", files / "photos")  # where this demo wrote its photos
    http = TestClient(create_app(db), raise_server_exceptions=False)
    r = http.post("/login", data={"csrf_token": _csrf(http.get("/login").text), "username": "counter01",
                                  "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    page = http.get("/counter/person?ref=" + security.person_ref(DEMO_HOLDER_ID))
    assert page.status_code == 200
    found = re.search(r'<img class="person-photo" src="([^"]+)" alt="([^"]+)"', page.text)
    assert found, "no photo on the person page"
    assert found.group(2) == "林建国的相片"
    photo = http.get(found.group(1).replace("&amp;", "&"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.content.startswith(b"\x89PNG") and photo.headers["cache-control"] == "no-store"
    assert http.get("/counter/person/photo?ref=forged").status_code == 404
    http.cookies.clear()  # logged out: no photo
    assert http.get(found.group(1).replace("&amp;", "&"), follow_redirects=False).status_code in (303, 401, 403)
