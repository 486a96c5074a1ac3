"""The counter's pages against a curious or careless operator: a card number edited into a form, ID numbers in
URLs, and a failed search that left the previous results on screen."""

from __future__ import annotations

from collections.abc import Callable

from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.web import security
from support.city import City
from web.helpers import WebClient, person_with_card

Clients = Callable[..., WebClient]


def test_an_action_on_a_card_of_another_person_than_the_page_is_refused(clients: Clients,
                                                                        sqlite_city: City) -> None:
    served, _ = person_with_card(sqlite_city, "none")
    _, victims_card = person_with_card(sqlite_city, "normal")
    c = clients("t-counter")
    # The person page of the one being served; the card number in the form's URL edited to someone else's.
    r = c.post(f"/counter/cards/{victims_card}/temp_loss", {"ref": security.person_ref(served)})
    assert r.status_code == 409, r.text
    assert "该卡不属于当前办理业务的人员" in r.text
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(victims_card)).app_status == "1"
    # The same action on the page of the card's own holder works.
    holder, own_card = person_with_card(sqlite_city, "normal")
    r = c.post(f"/counter/cards/{own_card}/temp_loss", {"ref": security.person_ref(holder), "confirmed": "yes"})
    assert r.status_code == 200 and cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(own_card)).app_status == "4"


def test_the_search_query_travels_in_the_body_never_in_the_url(clients: Clients, sqlite_city: City) -> None:
    id_no, _ = person_with_card(sqlite_city, "none")
    c = clients("t-counter")
    page = c.http.get("/counter").text
    assert 'method="post" action="/counter/search"' in page and 'hx-post="/counter/search"' in page
    assert 'hx-get="/counter/search"' not in page
    r = c.http.get("/counter/search", params={"q": id_no})  # the old address answers nothing
    assert r.status_code == 405 and id_no not in r.text
    r = c.post("/counter/search", {"q": id_no})
    assert r.url.path == "/counter/person" and id_no not in str(r.url)
    r = c.http.post("/counter/search", data={"q": id_no})  # and it is a form like the others: CSRF applies
    assert r.status_code == 403


def test_a_failed_htmx_search_replaces_the_previous_results_with_its_error(clients: Clients,
                                                                           sqlite_city: City) -> None:
    person_with_card(sqlite_city, "none")
    c = clients("t-counter")
    htmx = {"HX-Request": "true"}
    found = c.post("/counter/search", {"q": "测试人"}, headers=htmx)
    assert found.status_code == 200 and "<table" in found.text
    # An ID number of the right shape whose check digit is wrong: htmx swaps only 2xx answers, so the error
    # must come back as one, or the table above would stay on screen as the answer to this query.
    failed = c.post("/counter/search", {"q": "44180219900101001X"}, headers=htmx)
    assert failed.status_code == 200
    assert failed.text.lstrip().startswith('<div id="results"')
    assert 'id="q-error"' in failed.text and "<table" not in failed.text
    # The full page (no htmx) keeps the 422.
    assert c.post("/counter/search", {"q": "44180219900101001X"}).status_code == 422


def test_percent_and_underscore_in_a_name_search_are_literal(clients: Clients, sqlite_city: City) -> None:
    person_with_card(sqlite_city, "none")  # 测试人: matched by a wildcard, not by the text "%" or "_"
    c = clients("t-counter")
    for q in ("%", "_", "测%人", "测_人"):
        r = c.post("/counter/search", {"q": q}, headers={"HX-Request": "true"})
        assert r.status_code == 200 and "<table" not in r.text and "未找到人员" in r.text, q
