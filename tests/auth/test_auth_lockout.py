"""Lockout an attacker cannot weaponise: five wrong passwords lock an account (admin included) only for a
while, with back-off; guesses from one address stop at the address limit; every failure gets one answer;
supervisors and administrators unlock (API, page, CLI on the server host), every lock and unlock audited."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from auth.auth_helpers import Client, new_address, token_of
from sscard import clock, migrate
from sscard.access import SYSTEM_ACTOR, PermissionDenied, Role
from sscard.audit.models import AuditRecord
from sscard.auth import service as auth
from sscard.auth.errors import AuthenticationFailed, WeakPassword
from sscard.db import Database
from sscard.demo.city import DEMO_PASSWORD
from sscard.policy import service as policy
from support.city import PASSWORD, City
from web.helpers import csrf_of, web_client

WRONG = "wrong-password-9"
SSCARD = str(Path(sys.executable).parent / "sscard")


def _try(client: TestClient, username: str, password: str) -> tuple[int, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return response.status_code, response.json()["error"]["code"] if response.status_code != 200 else "OK"


def _actions(city: City, entity_type: str, entity_id: str) -> list[tuple[str, str]]:
    with city.db.unit_of_work() as session:
        return [(r.action, r.operator) for r in session.execute(
            select(AuditRecord).where(AuditRecord.entity_type == entity_type, AuditRecord.entity_id == entity_id)
            .order_by(AuditRecord.seq)).scalars()]


def test_five_wrong_passwords_lock_an_admin_only_for_a_while(city: City, client_from: Client,
                                                             new_operator: Callable[..., str]) -> None:
    """The attack of H1: 5 x POST /api/v1/auth/token {"username": admin, "password": "x"}, unauthenticated."""
    admin = new_operator(Role.ADMIN)
    client = client_from()
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            assert _try(client, admin, "x") == (401, "AUTH_FAILED")
        assert _try(client, admin, PASSWORD) == (401, "AUTH_FAILED")  # locked: the same answer as any failure
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):  # policy auth.lock_seconds = 60
        assert _try(client, admin, PASSWORD) == (200, "OK")
    assert ("auth.lock", "system") in _actions(city, "operator", admin)


def test_a_successful_login_resets_the_failure_count(client_from: Client, new_operator: Callable[..., str]) -> None:
    name = new_operator()
    client = client_from()
    for _ in range(2):
        for _ in range(4):
            assert _try(client, name, WRONG) == (401, "AUTH_FAILED")
        assert _try(client, name, PASSWORD) == (200, "OK")


def test_unknown_wrong_locked_and_disabled_get_one_answer(city: City, client_from: Client,
                                                          new_operator: Callable[..., str]) -> None:
    locked, disabled, known = new_operator(), new_operator(), new_operator()
    client = client_from()
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": locked, "password": WRONG})
    auth.set_operator_active(city.db, SYSTEM_ACTOR, disabled, False)
    answers = [client.post("/api/v1/auth/token", json={"username": name, "password": password})
               for name, password in (("nobody-here", PASSWORD), (known, WRONG), (locked, PASSWORD),
                                      (disabled, PASSWORD))]
    assert {(a.status_code, json.dumps(a.json(), sort_keys=True)) for a in answers} == {
        (401, json.dumps(answers[0].json(), sort_keys=True))}
    assert answers[0].json()["error"]["code"] == "AUTH_FAILED"


def test_each_further_lock_lasts_twice_as_long_up_to_the_policy_cap(city: City,
                                                                    new_operator: Callable[..., str]) -> None:
    name = new_operator()
    moment = dt.datetime.now(dt.UTC)
    lengths = []
    for _ in range(7):
        with time_machine.travel(moment, tick=False):
            for _ in range(5):
                with pytest.raises(AuthenticationFailed):
                    auth.login(city.db, name, WRONG)
            with pytest.raises(AuthenticationFailed):
                auth.login(city.db, name, PASSWORD)
        with city.db.unit_of_work() as session:
            row = session.execute(select(AuditRecord).where(AuditRecord.action == "auth.lock",
                                                            AuditRecord.entity_id == name)
                                  .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
            lengths.append(json.loads(row.after or "{}")["seconds"])
        moment += dt.timedelta(seconds=lengths[-1] + 1)
    assert lengths == [60, 120, 240, 480, 960, 1920, 3600]  # auth.lock_seconds doubling, auth.lock_max_seconds
    with time_machine.travel(moment, tick=False):  # the lock ended by itself; a success clears the back-off
        assert auth.login(city.db, name, PASSWORD).actor.username == name


def test_guesses_from_one_address_stop_at_the_address_limit_whatever_names_they_try(
        city: City, client_from: Client, new_operator: Callable[..., str]) -> None:
    target = new_operator()
    address = new_address()
    attacker = client_from(address)
    for i in range(20):  # policy auth.address_max_failed_logins = 20, each name tried once only
        assert _try(attacker, f"guess-{i}-{address}", WRONG) == (401, "AUTH_FAILED")
    assert _try(attacker, target, PASSWORD) == (401, "AUTH_FAILED")  # the address is locked
    assert _try(client_from(), target, PASSWORD) == (200, "OK")  # the account is not: its owner gets in
    assert ("auth.lock", "system") in _actions(city, "auth_address", address)


def test_a_supervisor_unlocks_counter_staff_and_only_an_administrator_unlocks_an_administrator(
        city: City, client_from: Client, new_operator: Callable[..., str]) -> None:
    clerk, admin = new_operator(), new_operator(Role.ADMIN)
    client = client_from()
    for name in (clerk, admin):
        for _ in range(5):
            _try(client, name, WRONG)
        assert _try(client, name, PASSWORD) == (401, "AUTH_FAILED")
    supervisor = token_of(client, "t-super")
    counter = token_of(client, "t-counter")
    r = client.post("/api/v1/auth/unlock", headers=counter, json={"username": clerk})
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    r = client.post("/api/v1/auth/unlock", headers=supervisor, json={"username": clerk})
    assert r.status_code == 200 and r.json()["unlocked"] is True
    assert _try(client, clerk, PASSWORD) == (200, "OK")
    r = client.post("/api/v1/auth/unlock", headers=supervisor, json={"username": admin})
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    listed = client.get("/api/v1/auth/locks", headers=token_of(client, "t-admin")).json()
    assert any(row["name"] == admin and row["locked_until"] for row in listed)
    r = client.post("/api/v1/auth/unlock", headers=token_of(client, "t-admin"), json={"username": admin})
    assert r.status_code == 200 and r.json()["unlocked"] is True
    assert _try(client, admin, PASSWORD) == (200, "OK")
    assert ("auth.unlock", "t-super") in _actions(city, "operator", clerk)
    assert ("auth.unlock", "t-admin") in _actions(city, "operator", admin)


def test_the_locks_page_shows_a_lock_and_a_supervisor_lifts_it(city: City, client_from: Client,
                                                               new_operator: Callable[..., str]) -> None:
    clerk = new_operator()
    attacker = client_from()
    for _ in range(5):
        _try(attacker, clerk, WRONG)
    web = web_client(city, "t-super")
    page = web.http.get("/account/locks")
    assert page.status_code == 200 and clerk in page.text
    r = web.http.post("/account/locks/unlock", data={"csrf_token": csrf_of(page.text), "kind": "account",
                                                     "name": clerk})
    assert r.status_code == 200 and "/account/locks?done=" in str(r.url)
    assert _try(attacker, clerk, PASSWORD) == (200, "OK")
    assert web_client(city, "t-counter").http.get("/account/locks").status_code == 403


def test_a_temporary_lock_does_not_end_the_victims_session_but_a_deactivation_does(
        city: City, client_from: Client, new_operator: Callable[..., str]) -> None:
    name = new_operator()
    client = client_from()
    headers = token_of(client, name)
    for _ in range(5):
        _try(client_from(), name, WRONG)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # the attacker cannot kick them out
    auth.set_operator_active(city.db, SYSTEM_ACTOR, name, False)
    auth.set_operator_active(city.db, SYSTEM_ACTOR, name, True)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401  # disabling ended it for good


def test_operator_passwords_follow_the_policy_minimum_and_refuse_weak_ones(fresh_city: City) -> None:
    """The lower row: 8-character operator passwords were accepted."""
    city = fresh_city
    for weak in ("abcd1234", "Password1234", "admin@123456", "aaaaaaaaaaaaaa", "123456789012", "operator-x-name1"):
        with pytest.raises(WeakPassword):
            auth.create_operator(city.db, city.admin, "operator-x-name", "弱", Role.COUNTER, weak, "T01")
    for good in (PASSWORD, DEMO_PASSWORD):  # the tests' and the demo's passwords satisfy the policy
        auth.create_operator(city.db, city.admin, f"ok-{len(good)}-{good[:3]}", "强", Role.COUNTER, good, "T01")
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "auth.min_password_length", clock.local_date()) == 12
    policy.set_parameter(city.db, city.admin, "auth.min_password_length", 16, clock.local_date(), note="test")
    with pytest.raises(WeakPassword):  # 15 characters: enough yesterday, not under the new policy
        auth.create_operator(city.db, city.admin, "too-short-now", "短", Role.COUNTER, PASSWORD, "T01")


def test_operator_logout_is_audited(city: City, client_from: Client, new_operator: Callable[..., str]) -> None:
    name = new_operator()
    client = client_from()
    headers = token_of(client, name)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert ("operator.logout", name) in _actions(city, "operator", name)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_the_cli_on_the_server_host_unlocks_and_resets_a_locked_administrator(tmp_path: Path) -> None:
    """The way back in without a database edit: sscard operator unlock / reset-password, as the system actor."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        auth.create_operator(db, SYSTEM_ACTOR, "root-admin", "管理员", Role.ADMIN, PASSWORD)
        for _ in range(5):
            with pytest.raises(AuthenticationFailed):
                auth.login(db, "root-admin", WRONG)
        with pytest.raises(AuthenticationFailed):  # locked: the right password does not get in
            auth.login(db, "root-admin", PASSWORD)
        env = {**os.environ, "SSCARD_DATABASE_URL": url}

        def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return subprocess.run([SSCARD, "operator", *args], env=env, capture_output=True, text=True,
                                  input=stdin, timeout=120, check=False)

        done = run("unlock", "root-admin")
        assert done.returncode == 0 and "unlocked" in done.stdout, done.stderr
        token = auth.login(db, "root-admin", PASSWORD).token
        weak = run("reset-password", "root-admin", "--password-stdin", stdin="short\n")
        assert weak.returncode == 2 and "WEAK_PASSWORD" in weak.stderr and "Traceback" not in weak.stderr
        done = run("reset-password", "root-admin", "--password-stdin", stdin="Another-secret-2014\n")
        assert done.returncode == 0 and "1 session(s) ended" in done.stdout, done.stderr
        with pytest.raises(AuthenticationFailed):
            auth.authenticate(db, token)  # the reset ended the old session
        assert auth.login(db, "root-admin", "Another-secret-2014").actor.role is Role.ADMIN
        assert run("unlock", "nobody").returncode == 2
        with db.unit_of_work() as session:
            actions = {(r.action, r.operator) for r in session.execute(select(AuditRecord)).scalars()}
        assert {("auth.lock", "system"), ("auth.unlock", "system"), ("operator.password_reset", "system")} <= actions
    finally:
        db.dispose()


def test_a_supervisor_cannot_reset_passwords(city: City, new_operator: Callable[..., str]) -> None:
    with pytest.raises(PermissionDenied):
        auth.reset_password(city.db, city.supervisor, new_operator(), "Another-secret-2014")
