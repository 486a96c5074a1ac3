"""The second factor on every interface where it is enrolled (the API included), sealed at rest under the
KMS KEK, codes used once, wrong codes counted in the same temporary lockout as wrong passwords."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import pyotp
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from auth.auth_helpers import Client
from sscard.auth import service as auth
from sscard.auth import totp
from sscard.auth.errors import AuthenticationFailed, TotpInvalid, TotpRequired
from sscard.auth.models import OperatorTotp
from sscard.kms import sealed
from support.city import PASSWORD, City


def _enrolled(city: City, name: str, at: dt.datetime) -> str:
    actor = auth.actor_for_username(city.db, name)
    enrolment = totp.start_enrolment(city.db, actor)
    with time_machine.travel(at, tick=False):
        totp.confirm_enrolment(city.db, actor, pyotp.TOTP(enrolment.secret).at(at))
    return enrolment.secret


def _token(client: TestClient, name: str, **extra: str) -> tuple[int, str]:
    r = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD, **extra})
    return r.status_code, r.json()["error"]["code"] if r.status_code != 200 else "OK"


def test_the_api_gives_no_token_for_the_password_alone_once_totp_is_enrolled(
        city: City, client_from: Client, new_operator: Callable[..., str]) -> None:
    """The attack of M1: POST /api/v1/auth/token with the password of an operator who enrolled TOTP."""
    name = new_operator()
    start = dt.datetime.now(dt.UTC)
    secret = _enrolled(city, name, start)
    client = client_from()
    later = start + dt.timedelta(seconds=90)
    with time_machine.travel(later, tick=False):
        assert _token(client, name) == (401, "TOTP_REQUIRED")
        good = pyotp.TOTP(secret).at(later)
        wrong = "000000" if good != "000000" else "111111"
        assert _token(client, name, totp=wrong) == (401, "TOTP_INVALID")
        assert _token(client, name, totp=good) == (200, "OK")
        assert _token(client, name, totp=good) == (401, "TOTP_INVALID")  # a code works once
        r = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD, "totp": "12ab"})
        assert r.status_code == 422  # malformed: refused by the schema, never a 500


def test_wrong_codes_lock_the_operator_for_a_while_like_wrong_passwords(
        city: City, new_operator: Callable[..., str]) -> None:
    name = new_operator()
    start = dt.datetime.now(dt.UTC)
    secret = _enrolled(city, name, start)
    later = start + dt.timedelta(seconds=90)
    with time_machine.travel(later, tick=False):
        good = pyotp.TOTP(secret).at(later)
        wrong = "000000" if good != "000000" else "111111"
        with pytest.raises(TotpRequired):
            auth.login(city.db, name, PASSWORD)
        for _ in range(5):
            with pytest.raises(TotpInvalid):
                auth.login(city.db, name, PASSWORD, wrong)
        with pytest.raises(AuthenticationFailed):  # locked: even the right code does not get in
            auth.login(city.db, name, PASSWORD, good)
    with time_machine.travel(later + dt.timedelta(seconds=61), tick=False):
        assert auth.login(city.db, name, PASSWORD, pyotp.TOTP(secret).at(later + dt.timedelta(seconds=61)))


def test_totp_secrets_are_sealed_at_rest_and_bound_to_their_operator(
        city: City, new_operator: Callable[..., str]) -> None:
    first, second = new_operator(), new_operator()
    start = dt.datetime.now(dt.UTC)
    secret_1, secret_2 = _enrolled(city, first, start), _enrolled(city, second, start)
    id_1 = auth.actor_for_username(city.db, first).operator_id
    id_2 = auth.actor_for_username(city.db, second).operator_id
    assert id_1 is not None and id_2 is not None
    with city.db.unit_of_work() as session:
        stored = {row.operator_id: row.secret for row in session.execute(
            select(OperatorTotp).where(OperatorTotp.operator_id.in_([id_1, id_2]))).scalars()}
    assert secret_1 not in stored[id_1] and stored[id_1].startswith(sealed.PREFIX)
    assert sealed.open_sealed(stored[id_1], totp.PURPOSE, f"operator_totp:{id_1}").decode() == secret_1
    with pytest.raises(sealed.SealedInvalid):  # another KEK opens nothing
        sealed.open_sealed(stored[id_1], totp.PURPOSE, f"operator_totp:{id_1}", kek=os.urandom(32))
    with city.db.unit_of_work() as session:  # a DBA copies the first operator's sealed secret to the second
        session.get_one(OperatorTotp, id_2).secret = stored[id_1]
    later = start + dt.timedelta(seconds=90)
    with time_machine.travel(later, tick=False):
        with pytest.raises(TotpInvalid):  # it does not open there: the first operator's codes don't work
            auth.login(city.db, second, PASSWORD, pyotp.TOTP(secret_1).at(later))
        with pytest.raises(TotpInvalid):
            auth.login(city.db, second, PASSWORD, pyotp.TOTP(secret_2).at(later))
    assert auth.reset_totp(city.db, city.admin, second)  # an administrator removes the broken factor
    assert auth.login(city.db, second, PASSWORD).actor.username == second


def test_codes_work_once_and_the_enrolment_code_cannot_log_in(city: City,
                                                              new_operator: Callable[..., str]) -> None:
    name = new_operator()
    actor = auth.actor_for_username(city.db, name)
    enrolment = totp.start_enrolment(city.db, actor)
    assert totp.state(city.db, actor.operator_id) == "pending"
    start = dt.datetime.now(dt.UTC)
    code = pyotp.TOTP(enrolment.secret).at(start)
    with time_machine.travel(start, tick=False):
        totp.confirm_enrolment(city.db, actor, code)
        with pytest.raises(TotpInvalid):
            auth.login(city.db, name, PASSWORD, code)
    later = start + dt.timedelta(seconds=90)
    with time_machine.travel(later, tick=False):
        assert auth.login(city.db, name, PASSWORD, pyotp.TOTP(enrolment.secret).at(later))
        totp.disable(city.db, actor, pyotp.TOTP(enrolment.secret).at(later + dt.timedelta(seconds=30)))
    assert auth.login(city.db, name, PASSWORD).actor.username == name
