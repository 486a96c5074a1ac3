"""Policy parameters and fee rates keep their history: nothing in effect is rewritten, past dates are refused, a
future-dated value replaced before its day is a new version with the old one kept, and the database itself
refuses UPDATE and DELETE of these rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
import time_machine
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import select

from sscard import clock, migrate
from sscard.access import PermissionDenied
from sscard.api.app import create_app
from sscard.audit.models import AuditRecord
from sscard.fees import service as fees
from sscard.fees.errors import FeeBackdated, FeeInEffect
from sscard.fees.models import FeeRate
from sscard.models import Base
from sscard.policy import service as policy
from sscard.policy.errors import PolicyBackdated, PolicyHistoryClosed, PolicyInEffect
from sscard.policy.models import PolicyParameter
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import PASSWORD, Backend, City
from support.factories import next_id_number

FAR = dt.date(2999, 1, 1)


def _headers(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _policy_rows(city: City, name: str, on: dt.date) -> list[tuple[str, int]]:
    with city.db.unit_of_work() as session:
        return [(r.value, r.version) for r in session.execute(
            select(PolicyParameter).where(PolicyParameter.name == name, PolicyParameter.effective_from == on)
            .order_by(PolicyParameter.version)).scalars()]


def test_posting_a_policy_value_for_2013_is_refused_and_the_seeded_row_stays(city: City) -> None:
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    start = dt.date(2013, 1, 1)
    assert _policy_rows(city, "card.pin_max_tries", start) == [("6", 1)]
    response = client.post("/api/v1/policy", headers=_headers(client, "t-admin"),
                           json={"name": "card.pin_max_tries", "value": 3, "effective_from": "2013-01-01"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "POLICY_BACKDATED", response.text
    assert _policy_rows(city, "card.pin_max_tries", start) == [("6", 1)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.pin_max_tries", dt.date(2013, 6, 1)) == 6
    # A new date in the past is refused just the same (it would change what was in effect on that day).
    response = client.post("/api/v1/policy", headers=_headers(client, "t-admin"),
                           json={"name": "card.pin_max_tries", "value": 3, "effective_from": "2020-03-01"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "POLICY_BACKDATED")
    assert _policy_rows(city, "card.pin_max_tries", dt.date(2020, 3, 1)) == []


def test_posting_a_backdated_fee_is_refused(city: City) -> None:
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    response = client.post("/api/v1/fees", headers=_headers(client, "t-admin"),
                           json={"business": "replacement", "amount_fen": 1, "effective_from": "2013-06-01"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "FEE_BACKDATED"
    with city.db.unit_of_work() as session:
        assert fees.quote(session, "replacement", "", dt.date(2013, 7, 1)).amount_fen == 2000
        assert session.execute(select(FeeRate.id).where(FeeRate.effective_from == dt.date(2013, 6, 1))).first() \
            is None


def test_yesterday_is_refused_and_today_is_the_earliest_date(fresh_city: City) -> None:
    city, today = fresh_city, clock.local_date()
    with pytest.raises(PolicyBackdated):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, today - dt.timedelta(days=1))
    with pytest.raises(FeeBackdated):
        fees.set_rate(city.db, city.admin, "exchange", "damaged", 1500, today - dt.timedelta(days=1))
    policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, today, note="from today")
    fees.set_rate(city.db, city.admin, "exchange", "damaged", 1500, today)
    # Today's value is in effect: it cannot be replaced, only followed by a later date.
    with pytest.raises(PolicyInEffect):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 25, today)
    with pytest.raises(FeeInEffect):
        fees.set_rate(city.db, city.admin, "exchange", "damaged", 1800, today)
    assert _policy_rows(city, "card.temp_loss_days", today) == [("20", 1)]
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.temp_loss_days", today) == 20
        assert fees.quote(session, "exchange", "damaged", today).amount_fen == 1500


@time_machine.travel(dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.UTC), tick=False)
def test_today_is_the_bureaus_local_date_not_utc(fresh_city: City) -> None:
    # 17:30 UTC on 1 December is 01:30 on 2 December in Asia/Shanghai: 1 December is already yesterday.
    city = fresh_city
    assert clock.local_date() == dt.date(2026, 12, 2)
    with pytest.raises(PolicyBackdated):
        policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, dt.date(2026, 12, 1))
    with pytest.raises(FeeBackdated):
        fees.set_rate(city.db, city.admin, "replacement", "", 1000, dt.date(2026, 12, 1))
    policy.set_parameter(city.db, city.admin, "card.temp_loss_days", 20, dt.date(2026, 12, 2))


def test_a_future_value_replaced_before_its_day_is_a_new_version_with_the_old_one_kept(fresh_city: City) -> None:
    city = fresh_city
    policy.set_parameter(city.db, city.admin, "card.validity_years", 12, FAR, note="first plan")
    again = policy.set_parameter(city.db, city.admin, "card.validity_years", 11, FAR, note="corrected")
    assert again.version == 2
    assert _policy_rows(city, "card.validity_years", FAR) == [("12", 1), ("11", 2)]
    fees.set_rate(city.db, city.admin, "replacement", "", 2500, FAR)
    rate = fees.set_rate(city.db, city.admin, "replacement", "", 2400, FAR)
    assert rate.version == 2
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.validity_years", FAR) == 11
        assert policy.get_int(session, "card.validity_years", FAR - dt.timedelta(days=1)) == 10
        assert fees.quote(session, "replacement", "", FAR).amount_fen == 2400
        assert [r.amount_fen for r in session.execute(select(FeeRate).where(FeeRate.effective_from == FAR)
                                                      .order_by(FeeRate.version)).scalars()] == [2500, 2400]
        audit = session.execute(select(AuditRecord).where(AuditRecord.action == "policy.set")
                                .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert json.loads(audit.before or "{}")["value"] == "12"
    assert json.loads(audit.after or "{}")["version"] == 2
    assert [(p.value, p.version) for p in policy.list_parameters(city.db)
            if p.name == "card.validity_years" and p.effective_from == FAR] == [("12", 1), ("11", 2)]


@pytest.mark.parametrize("statement", [
    "UPDATE policy_parameters SET value = '3' WHERE name = 'card.pin_max_tries'",
    "DELETE FROM policy_parameters WHERE name = 'card.pin_max_tries'",
    "UPDATE fee_rates SET amount_fen = 1 WHERE business = 'replacement'",
    "DELETE FROM fee_rates WHERE business = 'exchange' AND reason = 'quality'",
])
def test_the_database_refuses_to_rewrite_policy_and_fee_rows(city: City, statement: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), city.db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with city.db.unit_of_work() as session:
        assert policy.get_int(session, "card.pin_max_tries", dt.date(2014, 1, 1)) == 6
        assert fees.quote(session, "replacement", "", dt.date(2014, 1, 1)).amount_fen == 2000
        assert fees.quote(session, "exchange", "quality", dt.date(2014, 1, 1)).amount_fen == 0


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


def test_migration_0010_upgrades_downgrades_and_upgrades_again(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url)
    migrate.downgrade(url, "0009")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert "version" not in {c["name"] for c in sa.inspect(conn).get_columns("policy_parameters")}
        migrate.upgrade(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert conn.execute(sa.text("SELECT count(*) FROM fee_rates WHERE version = 1")).scalar_one() == 6
    finally:
        engine.dispose()
    assert [d for d in diff if {"policy_parameters", "fee_rates"} & _tables(d)] == []


def _tables(entry: object) -> set[str]:
    """Table names an autogenerate diff entry mentions (entries are tuples, or lists of tuples)."""
    found: set[str] = set()
    for item in entry if isinstance(entry, list) else [entry]:
        for part in item:
            if isinstance(part, str):
                found.add(part)
            for attr in ("table", "name"):
                value = getattr(part, attr, None)
                found.add(getattr(value, "name", value) if value is not None else "")
    return found
