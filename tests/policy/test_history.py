"""Policy parameters keep their history: nothing in effect is rewritten, past dates are refused, a future-dated
value replaced before its day is a new version with the old one kept, and the database itself refuses UPDATE and
DELETE of these rows (SQLite and PostgreSQL). Fee rates follow the same rules (tests/fees/test_fee_rates.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from sscard import clock
from sscard.access import PermissionDenied
from sscard.api.app import create_app
from sscard.audit.models import AuditRecord
from sscard.policy import service as policy
from sscard.policy.errors import PolicyBackdated, PolicyHistoryClosed, PolicyInEffect
from sscard.policy.models import PolicyParameter
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.api import bearer
from support.city import City
from support.factories import next_id_number

FAR = dt.date(2999, 1, 1)


def _policy_rows(city: City, name: str, on: dt.date) -> list[tuple[str, int]]:
    with city.db.unit_of_work() as session:
        return [(r.value, r.version) for r in session.execute(
            select(PolicyParameter).where(PolicyParameter.name == name, PolicyParameter.effective_from == on)
            .order_by(PolicyParameter.version)).scalars()]


def test_posting_a_policy_value_for_2013_is_refused_and_the_seeded_row_stays(city: City) -> None:
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    start = dt.date(2013, 1, 1)
    assert _policy_rows(city, "card.pin_max_tries", start) == [("6", 1)]
    response = client.post("/api/v1/policy", headers=bearer(client, "t-admin"),
                           json={"name": "card.pin_max_tries", "value": 3, "effective_from": "2013-01-01"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "POLICY_BACKDATED", response.text
    assert _policy_rows(city, "card.pin_max_tries", start) == [("6", 1)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.pin_max_tries", dt.date(2013, 6, 1)) == 6
    # A new date in the past is refused just the same (it would change what was in effect on that day).
    response = client.post("/api/v1/policy", headers=bearer(client, "t-admin"),
                           json={"name": "card.pin_max_tries", "value": 3, "effective_from": "2020-03-01"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "POLICY_BACKDATED")
    assert _policy_rows(city, "card.pin_max_tries", dt.date(2020, 3, 1)) == []


def test_yesterday_is_refused_and_today_is_the_earliest_date(fresh_city: City) -> None:
    city, today = fresh_city, clock.local_date()
    with pytest.raises(PolicyBackdated):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, today - dt.timedelta(days=1))
    policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, today, note="from today")
    # Today's value is in effect: it cannot be replaced, only followed by a later date.
    with pytest.raises(PolicyInEffect):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 25, today)
    assert _policy_rows(city, "card.temp_loss_days", today) == [("20", 1)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.temp_loss_days", today) == 20


@time_machine.travel(dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.UTC), tick=False)
def test_today_is_the_bureaus_local_date_not_utc(fresh_city: City) -> None:
    # 17:30 UTC on 1 December is 01:30 on 2 December in Asia/Shanghai: 1 December is already yesterday.
    city = fresh_city
    assert clock.local_date() == dt.date(2026, 12, 2)
    with pytest.raises(PolicyBackdated):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, dt.date(2026, 12, 1))
    policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, dt.date(2026, 12, 2))


def test_a_future_value_replaced_before_its_day_is_a_new_version_with_the_old_one_kept(fresh_city: City) -> None:
    city = fresh_city
    policy.set_parameter(city.db, city.admin, "card.validity_years", 12, FAR, note="first plan")
    again = policy.set_parameter(city.db, city.admin, "card.validity_years", 11, FAR, note="corrected")
    assert again.version == 2
    assert _policy_rows(city, "card.validity_years", FAR) == [("12", 1), ("11", 2)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.validity_years", FAR) == 11
        assert policy.get_int(session, "card.validity_years", FAR - dt.timedelta(days=1)) == 10
        audit = session.execute(select(AuditRecord).where(AuditRecord.action == "policy.set")
                                .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert json.loads(audit.before or "{}")["value"] == "12"
    assert json.loads(audit.after or "{}")["version"] == 2
    assert [(p.value, p.version) for p in policy.list_parameters(city.db, city.admin)
            if p.name == "card.validity_years" and p.effective_from == FAR] == [("12", 1), ("11", 2)]


@pytest.mark.parametrize("statement", [
    "UPDATE policy_parameters SET value = '3' WHERE name = 'card.pin_max_tries'",
    "DELETE FROM policy_parameters WHERE name = 'card.pin_max_tries'",
])
def test_the_database_refuses_to_rewrite_policy_rows(city: City, statement: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), city.db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.pin_max_tries", dt.date(2014, 1, 1)) == 6


def test_a_fresh_database_takes_its_past_schedule_once_then_history_closes(fresh_city: City) -> None:
    city = fresh_city
    rows = policy.load_initial(city.db, city.admin, [
        policy.InitialValue("contrib.arrears_suspend_months", 2, dt.date(2014, 1, 1), "stricter city"),
        policy.InitialValue("card.pin_max_tries", 5, dt.date(2013, 1, 1), "a correction at commissioning"),
    ])
    assert [(r.name, r.version) for r in rows] == [("contrib.arrears_suspend_months", 1),
                                                   ("card.pin_max_tries", 2)]
    assert _policy_rows(city, "card.pin_max_tries", dt.date(2013, 1, 1)) == [("6", 1), ("5", 2)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.pin_max_tries", dt.date(2013, 1, 1)) == 5
        actions = [a for (a,) in session.execute(select(AuditRecord.action)
                                                 .where(AuditRecord.action == "policy.initial_load"))]
    assert len(actions) == 2
    registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="首位参保人",
                                                    region_code="441802"))
    with pytest.raises(PolicyHistoryClosed):
        policy.load_initial(city.db, city.admin, [policy.InitialValue("card.pin_max_tries", 4, dt.date(2013, 1, 1))])
    assert _policy_rows(city, "card.pin_max_tries", dt.date(2013, 1, 1)) == [("6", 1), ("5", 2)]


def test_counter_staff_cannot_load_history(fresh_city: City) -> None:
    with pytest.raises(PermissionDenied):
        policy.load_initial(fresh_city.db, fresh_city.counter,
                            [policy.InitialValue("card.pin_max_tries", 4, dt.date(2013, 1, 1))])
