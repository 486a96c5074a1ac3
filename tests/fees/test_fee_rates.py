"""Fee rates keep their history: nothing in effect is rewritten, past dates are refused (today is the bureau's
local date), a future-dated rate replaced before its day is a new version with the old one kept, and the
database itself refuses UPDATE and DELETE of these rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from sscard import clock
from sscard.api.app import create_app
from sscard.fees import service as fees
from sscard.fees.errors import FeeBackdated, FeeInEffect
from sscard.fees.models import FeeRate
from support.api import bearer
from support.city import City

FAR = dt.date(2999, 1, 1)


def test_posting_a_backdated_fee_is_refused(city: City) -> None:
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    response = client.post("/api/v1/fees", headers=bearer(client, "t-admin"),
                           json={"business": "replacement", "amount_fen": 1, "effective_from": "2013-06-01"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "FEE_BACKDATED"
    with city.db.unit_of_work() as session:
        assert fees.quote(session, "replacement", "", dt.date(2013, 7, 1)).amount_fen == 2000
        assert session.execute(select(FeeRate.id).where(FeeRate.effective_from == dt.date(2013, 6, 1))).first() \
            is None


def test_yesterday_is_refused_and_today_is_the_earliest_date(fresh_city: City) -> None:
    city, today = fresh_city, clock.local_date()
    with pytest.raises(FeeBackdated):
        fees.set_rate(city.db, city.admin, "exchange", "damaged", 1500, today - dt.timedelta(days=1))
    fees.set_rate(city.db, city.admin, "exchange", "damaged", 1500, today)
    # Today's rate is in effect: it cannot be replaced, only followed by a later date.
    with pytest.raises(FeeInEffect):
        fees.set_rate(city.db, city.admin, "exchange", "damaged", 1800, today)
    with city.db.unit_of_work() as session:
        assert fees.quote(session, "exchange", "damaged", today).amount_fen == 1500


@time_machine.travel(dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.UTC), tick=False)
def test_today_is_the_bureaus_local_date_not_utc(city: City) -> None:
    # 17:30 UTC on 1 December is 01:30 on 2 December in Asia/Shanghai: 1 December is already yesterday. (The
    # shared city is enough: the refused rate writes nothing.)
    assert clock.local_date() == dt.date(2026, 12, 2)
    with pytest.raises(FeeBackdated):
        fees.set_rate(city.db, city.admin, "replacement", "", 1000, dt.date(2026, 12, 1))


def test_a_future_rate_replaced_before_its_day_is_a_new_version_with_the_old_one_kept(fresh_city: City) -> None:
    city = fresh_city
    fees.set_rate(city.db, city.admin, "replacement", "", 2500, FAR)
    rate = fees.set_rate(city.db, city.admin, "replacement", "", 2400, FAR)
    assert rate.version == 2
    with city.db.unit_of_work() as session:
        assert fees.quote(session, "replacement", "", FAR).amount_fen == 2400
        assert [r.amount_fen for r in session.execute(select(FeeRate).where(FeeRate.effective_from == FAR)
                                                      .order_by(FeeRate.version)).scalars()] == [2500, 2400]


@pytest.mark.parametrize("statement", [
    "UPDATE fee_rates SET amount_fen = 1 WHERE business = 'replacement'",
    "DELETE FROM fee_rates WHERE business = 'exchange' AND reason = 'quality'",
])
def test_the_database_refuses_to_rewrite_fee_rows(city: City, statement: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), city.db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with city.db.unit_of_work() as session:
        assert fees.quote(session, "replacement", "", dt.date(2014, 1, 1)).amount_fen == 2000
        assert fees.quote(session, "exchange", "quality", dt.date(2014, 1, 1)).amount_fen == 0
