"""Agreements: maker-checker (service and a database CHECK), the daily quota over a day, expiry and revocation
that take effect at once, key revocation, and the catalogue's rules for what may be agreed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from exchange_world import VERIFY, holder, new_department, post
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from sscard import clock
from sscard.exchange import service as exchange
from sscard.exchange.errors import (
    ExchangeAgreementInvalid,
    ExchangeAgreementState,
    ExchangeItemNotShareable,
    ExchangeSelfApproval,
)
from sscard.exchange.models import ExchangeAgreement
from sscard.exchange.schemas import AgreementIn, AgreementItemIn
from support.city import City


def _doc(city: City) -> dict[str, str]:
    who = holder(city)
    return {"item": "card_status", "id_number": who.id_number, "name": who.name}


def test_the_requester_cannot_approve_and_the_database_refuses_it_too(city: City) -> None:
    dept = new_department(city, {"card_status": ["verification"]}, approve=False)
    with pytest.raises(ExchangeSelfApproval):
        exchange.approve(city.db, city.admin, dept.agreement_no)
    with pytest.raises(IntegrityError), city.db.unit_of_work() as session:
        session.execute(update(ExchangeAgreement).where(ExchangeAgreement.agreement_no == dept.agreement_no)
                        .values(status="approved", approved_by="t-admin"))
    with pytest.raises(IntegrityError), city.db.unit_of_work() as session:  # approved without a checker
        session.execute(update(ExchangeAgreement).where(ExchangeAgreement.agreement_no == dept.agreement_no)
                        .values(status="approved"))
    assert exchange.get_agreement(city.db, city.admin, dept.agreement_no).status == "requested"
    approved = exchange.approve(city.db, city.supervisor, dept.agreement_no)
    assert approved.status == "approved" and approved.approved_by == "t-super" and approved.in_force
    with pytest.raises(ExchangeAgreementState):
        exchange.approve(city.db, city.supervisor, dept.agreement_no)


def test_a_counter_clerk_cannot_request_or_approve(city: City) -> None:
    from sscard.access import PermissionDenied

    dept = new_department(city, {"card_status": ["verification"]}, approve=False)
    with pytest.raises(PermissionDenied):
        exchange.approve(city.db, city.counter, dept.agreement_no)


def test_the_catalogue_decides_what_may_be_agreed(city: City) -> None:
    items = {i.code: i for i in exchange.catalogue(city.db, city.admin)}
    assert {"unconditional", "conditional", "none"} == {i.sharing_class for i in items.values()}
    assert items["card_status"].modes == ["verification", "query", "bulk", "subscription"]
    assert items["bank_account"].modes == [] and items["bank_account"].sharing_class == "none"
    today = clock.local_date()
    base = {"purpose": "测试用途", "legal_basis": "测试依据", "valid_from": today, "valid_until": today,
            "daily_quota": 5}
    dept = new_department(city, {"card_status": ["verification"]})
    with pytest.raises(ExchangeItemNotShareable):
        exchange.request_agreement(city.db, city.admin, AgreementIn(
            department=dept.code, items=[AgreementItemIn(item="bank_account", modes=["query"])], **base))
    with pytest.raises(ExchangeItemNotShareable):
        exchange.request_agreement(city.db, city.admin, AgreementIn(
            department=dept.code, items=[AgreementItemIn(item="pension_receipt", modes=["bulk"])], **base))
    with pytest.raises(ExchangeAgreementInvalid):  # a subscription needs an endpoint
        exchange.request_agreement(city.db, city.admin, AgreementIn(
            department=dept.code, items=[AgreementItemIn(item="card_status", modes=["subscription"])], **base))


def test_the_daily_quota_counts_a_local_day(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"]}, quota=2)
    doc = _doc(city)
    tomorrow_noon = dt.datetime.combine(clock.local_date() + dt.timedelta(days=1), dt.time(12),
                                        clock.local_zone())
    with time_machine.travel(tomorrow_noon - dt.timedelta(days=1), tick=False):
        assert post(client, dept, VERIFY, doc).status_code == 200
        assert post(client, dept, VERIFY, doc).status_code == 200
        over = post(client, dept, VERIFY, doc)
        assert over.status_code == 429 and over.json()["error"]["code"] == "EXCHANGE_QUOTA_EXCEEDED"
    with time_machine.travel(tomorrow_noon, tick=False):
        assert post(client, dept, VERIFY, doc).status_code == 200
    report = exchange.usage_report(city.db, city.admin, f"{tomorrow_noon:%Y-%m}", dept.code)
    if tomorrow_noon.month == (tomorrow_noon - dt.timedelta(days=1)).month:
        assert report.rows[0].requests == 3 and report.rows[0].by_item_mode == {"card_status/verification": 3}


def test_expiry_takes_effect_at_once(city: City, client: TestClient) -> None:
    today = clock.local_date()
    dept = new_department(city, {"card_status": ["verification"]}, valid_from=today, valid_until=today)
    doc = _doc(city)
    assert post(client, dept, VERIFY, doc).status_code == 200
    with time_machine.travel(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 0, 1),
                                                 clock.local_zone()), tick=False):
        r = post(client, dept, VERIFY, doc)
        assert r.status_code == 403 and r.json()["error"]["code"] == "EXCHANGE_AGREEMENT_EXPIRED"


def test_revocation_takes_effect_at_once(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"]})
    doc = _doc(city)
    assert post(client, dept, VERIFY, doc).status_code == 200
    exchange.revoke(city.db, city.supervisor, dept.agreement_no, "用途已结束")
    r = post(client, dept, VERIFY, doc)
    assert r.status_code == 403 and r.json()["error"]["code"] == "EXCHANGE_AGREEMENT_EXPIRED"


def test_a_revoked_key_signs_nothing_from_the_next_request(city: City, client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"]})
    doc = _doc(city)
    assert post(client, dept, VERIFY, doc).status_code == 200
    exchange.revoke_key(city.db, city.admin, dept.key_id)
    r = post(client, dept, VERIFY, doc)
    assert r.status_code == 401 and r.json()["error"]["code"] == "EXCHANGE_DEPARTMENT_UNKNOWN"


def test_the_secret_is_stored_sealed_and_shown_once(city: City) -> None:
    from sqlalchemy import select

    from sscard.exchange.models import ExchangeKey

    dept = new_department(city, {"card_status": ["verification"]})
    with city.db.unit_of_work() as session:
        sealed = session.execute(select(ExchangeKey.secret_sealed).where(ExchangeKey.key_id == dept.key_id)
                                 ).scalar_one()
    assert sealed.startswith("s1:") and dept.secret.hex() not in sealed
    assert all(not hasattr(k, "secret_hex") for k in exchange.list_keys(city.db, city.admin, dept.code))


def test_an_operator_account_given_the_department_role_can_do_nothing(city: City) -> None:
    from sscard.access import Actor, Permission, Role
    from sscard.exchange.keys import department_actor

    assert not Actor(operator_id=99, username="x", role=Role.DEPARTMENT).can(Permission.PERSON_READ)
    assert department_actor("PSB").can(Permission.PERSON_READ)
    assert not department_actor("PSB").can(Permission.EXCHANGE_ADMIN)
