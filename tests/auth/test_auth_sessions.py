"""Sessions end with the password: an operator's password change or reset ends every token and web session of
theirs; the CSRF token of a form is bound to the session it was written for."""

from __future__ import annotations

from collections.abc import Callable

from auth.auth_helpers import Client, token_of
from sscard.auth import service as auth
from sscard.web import security
from support.city import PASSWORD, City
from web.helpers import csrf_of, web_client

NEW = "Fresh-secret-2014"


def test_an_operator_password_change_ends_every_other_session(city: City, client_from: Client,
                                                             new_operator: Callable[..., str]) -> None:
    name = new_operator()
    client = client_from()
    first, second = token_of(client, name), token_of(client, name)
    web = web_client(city, name)
    r = client.post("/api/v1/auth/password", headers=second, json={"old_password": "nope-nope-nope",
                                                                    "new_password": NEW})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH_FAILED"
    r = client.post("/api/v1/auth/password", headers=second, json={"old_password": PASSWORD,
                                                                    "new_password": "short"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "WEAK_PASSWORD"
    r = client.post("/api/v1/auth/password", headers=second, json={"old_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for old in (first, second):
        assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    assert "/login" in str(web.http.get("/counter").url)  # the web session ended too
    assert token_of(client, name, NEW)


def test_an_administrators_reset_ends_every_session(city: City, client_from: Client,
                                                    new_operator: Callable[..., str]) -> None:
    name = new_operator()
    client = client_from()
    stolen = token_of(client, name)
    r = client.post("/api/v1/auth/reset-password", headers=token_of(client, "t-admin"),
                    json={"username": name, "new_password": NEW})
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert client.get("/api/v1/auth/me", headers=stolen).status_code == 401
    r = client.post("/api/v1/auth/reset-password", headers=token_of(client, "t-super"),
                    json={"username": name, "new_password": NEW})
    assert r.status_code == 403


def test_a_csrf_token_from_another_session_is_refused(city: City) -> None:
    """The lower row: the CSRF token was not bound to the session. An attacker who planted their own CSRF
    cookie value (and knows the matching token from their own session) no longer gets a form through."""
    attacker = web_client(city, "t-counter")
    victim = web_client(city, "t-super")
    planted = attacker.http.cookies.get(security.CSRF_COOKIE)
    assert planted
    victim.http.cookies.set(security.CSRF_COOKIE, planted)
    r = victim.http.post("/logout", data={"csrf_token": attacker.csrf}, follow_redirects=False)
    assert r.status_code == 403  # refused: the token belongs to the attacker's session
    assert auth.authenticate(city.db, security.session_token(victim.http.cookies.get(security.SESSION_COOKIE))
                             or "").username == "t-super"
    own = csrf_of(victim.http.get("/counter").text)
    assert victim.http.post("/logout", data={"csrf_token": own}, follow_redirects=False).status_code == 303
