"""The hub's journal on both databases, in process (tests/remote's three-process world runs its hub on SQLite;
the bench runs it on PostgreSQL, where each journal statement runs alone in autocommit): a relayed settle
message is journalled once with the home centre's answer and its amount; the same message again is answered
from the journal without being forwarded; another message under the same id is REMOTE_MESSAGE_CONFLICT; a
refusal is journalled as refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sscard.db import Database
from sscard.kms.partners import PartnerKeys
from sscard.remote import messages
from sscard.remote.config import HubSettings
from sscard.remote.errors import RemoteMessageConflict
from sscard.remote.hub import Hub, HubMessage, create_schema
from support.city import Backend

RING = PartnerKeys.demo_ring()
HUB, QY, SG = "440000", "441800", "440200"
SETTLE_BODY = {"bill": {"lines": []}, "card_no": "X"}  # the hub relays the body as it is (it does not read it)


class HomeCentre:
    """What the hub forwards to: answers each message as the home centre would, and counts them."""

    def __init__(self, answer_body: dict[str, Any]) -> None:
        self.answer_body = answer_body
        self.received: list[str] = []

    def __call__(self, url: str, raw: bytes, timeout: float) -> bytes:
        env = messages.parse(raw, RING, receiver=SG, senders={HUB})
        self.received.append(env.msg_id)
        return messages.seal(RING, "answer", f"A{env.msg_id}"[:64], SG, env.origin, SG, HUB,
                             {"in_reply_to": env.msg_id, **self.answer_body}).raw


@pytest.fixture
def hub_db(backend: Backend) -> Iterator[Database]:
    db = Database(backend.new_url())
    create_schema(db)
    yield db
    db.dispose()


def _hub(db: Database, home: HomeCentre) -> Hub:
    hub = Hub(db, HubSettings(), ring=RING, send=home)
    hub.register(QY, "清远市", "http://127.0.0.1:9")
    hub.register(SG, "韶关市", "http://127.0.0.1:9")
    return hub


def _settle(msg_id: str, body: dict[str, Any] | None = None) -> bytes:
    return messages.seal(RING, "settle", msg_id, QY, SG, QY, HUB, body or SETTLE_BODY).raw


def _row(db: Database, msg_id: str) -> HubMessage:
    with db.unit_of_work() as session:
        row = session.execute(select(HubMessage).where(HubMessage.msg_id == msg_id)).scalar_one()
        session.expunge(row)
        return row


def test_a_settle_message_is_journalled_once_with_its_answer_and_replayed_from_the_journal(hub_db: Database) -> None:
    home = HomeCentre({"ok": True, "split": {"fund_paid_fen": 1200, "account_paid_fen": 300}})
    hub = _hub(hub_db, home)
    first = messages.parse(hub.relay(_settle("Shubjournal1")), RING, receiver=QY, senders={HUB})
    assert first.kind == "answer" and first.body["in_reply_to"] == "Shubjournal1"
    row = _row(hub_db, "Shubjournal1")
    assert (row.status, row.outcome, row.amount_fen, row.origin, row.destination) == \
        ("answered", "settled", 1500, QY, SG)
    assert row.month and row.answer is not None and row.answered_at is not None

    again = messages.parse(hub.relay(_settle("Shubjournal1")), RING, receiver=QY, senders={HUB})
    assert again.body == first.body and home.received == ["Shubjournal1"]  # not forwarded again

    with pytest.raises(RemoteMessageConflict):
        hub.relay(_settle("Shubjournal1", {**SETTLE_BODY, "card_no": "Y"}))
    assert home.received == ["Shubjournal1"]


def test_a_refusal_is_journalled_as_refused(hub_db: Database) -> None:
    hub = _hub(hub_db, HomeCentre({"ok": False, "code": "REMOTE_NOT_REGISTERED"}))
    answer = messages.parse(hub.relay(_settle("Shubjournal2")), RING, receiver=QY, senders={HUB})
    assert answer.body["ok"] is False
    row = _row(hub_db, "Shubjournal2")
    assert (row.status, row.outcome, row.amount_fen) == ("answered", "refused", 0)
