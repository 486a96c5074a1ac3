"""Subscriptions: a card status change queues an event in its own transaction; the worker delivers it, signed,
to a department's receiver running as a real process on loopback (docs/examples/exchange/receiver.py); a failed
delivery waits its back-off and is retried with the same event id, which the department stores once."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from exchange_world import EXAMPLES, Dept, holder
from sqlalchemy import select

from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.cards import service as cards
from sscard.cards.errors import CardStateInvalid
from sscard.cards.states import CancelReason, ProductionStatus
from sscard.exchange import outbox
from sscard.exchange import service as exchange
from sscard.exchange.models import ExchangeOutbox
from sscard.exchange.schemas import AgreementIn, AgreementItemIn, DepartmentIn
from support.city import City
from support.drload import wait_for
from support.loopback import free_port


def _up(url: str) -> bool:
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _department(city: City, tmp_path: Path, fail_first: int) -> Iterator[tuple[Dept, Path]]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/sscard/events?channel=card"
    code = f"S{port}"
    exchange.create_department(city.db, city.admin, DepartmentIn(code=code, name="民政局（测试）", endpoint=endpoint))
    key = exchange.issue_key(city.db, city.admin, code)
    store = tmp_path / f"events-{port}.jsonl"
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "receiver.py"), "--port", str(port), "--key-id",
                             key.key_id, "--secret-hex", key.secret_hex, "--store", str(store),
                             "--fail-first", str(fail_first)], stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: _up(endpoint), 15, "the department's receiver answers")
        today = clock.local_date()
        agreement = exchange.request_agreement(city.db, city.admin, AgreementIn(
            department=code, items=[AgreementItemIn(item="card_status", modes=["subscription"])],
            purpose="停发死亡人员待遇前核对卡状态", legal_basis="《社会救助暂行办法》", daily_quota=100,
            masking="clear",
            valid_from=today, valid_until=today + dt.timedelta(days=30)))
        exchange.approve(city.db, city.supervisor, agreement.agreement_no)
        yield Dept(code, key.key_id, bytes.fromhex(key.secret_hex), agreement.agreement_no), store
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def department(city: City, tmp_path: Path) -> Iterator[Callable[[], tuple[Dept, Path]]]:
    """Starts the department (its receiver process, its subscription) when called: after the test's holders
    got their cards, whose activation would otherwise be events too."""
    started: list[Iterator[tuple[Dept, Path]]] = []

    def start() -> tuple[Dept, Path]:
        started.append(_department(city, tmp_path, fail_first=1))
        return next(started[-1])

    yield start
    for each in started:
        for _ in each:
            pass


def _events(city: City, agreement_no: str) -> list[ExchangeOutbox]:
    with city.db.unit_of_work() as session:
        rows = list(session.execute(select(ExchangeOutbox).where(ExchangeOutbox.payload.contains(agreement_no))
                                    .order_by(ExchangeOutbox.id)).scalars())
        session.expunge_all()
        return rows


def _log(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in store.read_text("utf-8").splitlines()] if store.exists() else []


Start = Callable[[], tuple[Dept, Path]]


def test_a_status_change_is_delivered_at_least_once_and_stored_once(city: City, department: Start) -> None:
    who = holder(city)
    dept, store = department()
    assert who.card_no is not None
    cards.report_temporary_loss(city.db, city.counter, who.card_no)
    [event] = _events(city, dept.agreement_no)
    payload = json.loads(event.payload)
    assert event.status == "pending" and payload["card_status"] == "4" and payload["id_number"] == who.id_number
    assert payload["event_id"] == event.event_id and payload["type"] == "card.status_changed"

    now = clock.now()
    first = exchange.deliver(city.db, SYSTEM_ACTOR, now=now)
    assert (first.delivered, first.failed) == (0, 1)  # stored by the department, but answered 503
    [event] = _events(city, dept.agreement_no)
    assert event.status == "pending" and event.attempts == 1 and event.last_error == "HTTP 503"
    assert exchange.deliver(city.db, SYSTEM_ACTOR, now=now + dt.timedelta(seconds=5)).failed == 0  # backing off
    second = exchange.deliver(city.db, SYSTEM_ACTOR, now=now + outbox.backoff(1) + dt.timedelta(seconds=1))
    assert second.delivered == 1
    [event] = _events(city, dept.agreement_no)
    assert event.status == "delivered" and event.attempts == 2
    log = _log(store)
    assert [r["event_id"] for r in log if r["kind"] == "received"] == [event.event_id, event.event_id]
    assert [r["event_id"] for r in log if r["kind"] == "accepted"] == [event.event_id]
    # delivered once: a later run sends nothing more
    assert exchange.deliver(city.db, SYSTEM_ACTOR, now=now + dt.timedelta(hours=2)).delivered == 0
    # and the holder sees the department's use of their data
    assert [u.mode for u in exchange.holder_uses(city.db, city.admin, who.person_id)] == ["subscription"]


def test_a_revoked_subscription_queues_nothing_and_withdraws_what_waits(city: City, department: Start) -> None:
    a, b = holder(city), holder(city)
    dept, store = department()
    assert a.card_no is not None and b.card_no is not None
    cards.report_temporary_loss(city.db, city.counter, a.card_no)
    assert len(_events(city, dept.agreement_no)) == 1
    exchange.revoke(city.db, city.supervisor, dept.agreement_no, "协议终止")
    cards.cancel(city.db, city.supervisor, b.card_no, CancelReason.DEATH)
    assert len(_events(city, dept.agreement_no)) == 1  # nothing queued after the revocation
    report = exchange.deliver(city.db, SYSTEM_ACTOR)
    assert report.delivered == 0 and [e.status for e in _events(city, dept.agreement_no)] == ["withdrawn"]
    assert _log(store) == []


def test_the_event_rolls_back_with_the_change(city: City, department: Start) -> None:
    who = holder(city)
    dept, _ = department()
    assert who.card_no is not None
    cards.report_temporary_loss(city.db, city.counter, who.card_no)
    with pytest.raises(CardStateInvalid):  # a second temporary loss is refused: its event is not written either
        cards.report_temporary_loss(city.db, city.counter, who.card_no)
    assert [json.loads(e.payload)["card_status"] for e in _events(city, dept.agreement_no)] == ["4"]


def test_a_replacement_handed_over_and_a_pin_lock_are_events_too(city: City, department: Start) -> None:
    who, other = holder(city), holder(city)
    dept, _ = department()
    assert who.card_no is not None and other.card_no is not None
    cards.report_formal_loss(city.db, city.counter, who.card_no)
    new_no = cards.apply_replacement(city.db, city.counter, who.card_no).card.card_no
    for status in ("10", "20", "30"):
        cards.advance_production(city.db, city.admin, new_no, ProductionStatus(status))
    cards.advance_production(city.db, city.admin, new_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
    cards.pick_up(city.db, city.counter, new_no)
    mine = [json.loads(e.payload) for e in _events(city, dept.agreement_no)]
    assert [(p["card_status"], p["cancel_reason"]) for p in mine] == [("2", None), ("9", "replaced"), ("0", None)]

    for _ in range(6):  # the configured limit of wrong tries, whatever it is, is reached within six
        if cards.verify_pin(city.db, city.counter, other.card_no, "000000").locked:
            break
    last = json.loads(_events(city, dept.agreement_no)[-1].payload)
    assert (last["card_status"], last["id_number"]) == ("3", other.id_number)
