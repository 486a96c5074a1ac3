"""Subscriptions: events written to the outbox in the transaction of the change, delivered by a worker
(``sscard exchange deliver-outbox``) to the department's endpoint, signed as requests are (docs/exchange.md
"Subscriptions"), retried with exponential back-off, at least once, each with its idempotency id ``event_id``.

Card status changes reach here through ``cards.service.on_status_change`` (cards cannot import exchange: exchange
reads cards); the listener is registered when this module is imported, which every process that changes cards
does (the API application and the CLI import the exchange interface).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.db import Database, utcnow
from sscard.exchange import signing
from sscard.exchange.keys import SECRETS, department_actor
from sscard.exchange.models import (
    ExchangeAccess,
    ExchangeAgreement,
    ExchangeAgreementItem,
    ExchangeDepartment,
    ExchangeKey,
    ExchangeOutbox,
)
from sscard.exchange.schemas import DeliveryReport
from sscard.registry import idnumber
from sscard.registry import service as registry

EVENT_CARD_STATUS = "card.status_changed"
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed delivery: 30 s, 60 s, 120 s, … at most an hour."""
    return dt.timedelta(seconds=min(BACKOFF_FIRST_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def _subscribers(session: Session, item: str, today: dt.date) -> list[tuple[int, str, str, int]]:
    rows = session.execute(
        select(ExchangeAgreement.id, ExchangeAgreement.agreement_no, ExchangeAgreement.masking,
               ExchangeAgreement.department_id)
        .join(ExchangeAgreementItem, ExchangeAgreementItem.agreement_id == ExchangeAgreement.id)
        .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeAgreement.department_id)
        .where(ExchangeAgreementItem.item_code == item, ExchangeAgreementItem.mode == "subscription",
               ExchangeAgreement.status == "approved", ExchangeAgreement.valid_from <= today,
               ExchangeAgreement.valid_until >= today, ExchangeDepartment.status == "active",
               ExchangeDepartment.endpoint.is_not(None))
        .order_by(ExchangeAgreement.id)).all()
    return [(int(a), str(n), str(m), int(d)) for a, n, m, d in rows]


def emit_in(session: Session, item: str, event_type: str, person_id: int | None, data: dict[str, object],
            id_number: str | None = None) -> int:
    """Queue ``data`` as an event of ``item`` for every department whose agreement in force subscribes to it, in
    the caller's transaction. ``id_number`` is added clear or masked as each agreement says. Returns how many."""
    subscribers = _subscribers(session, item, clock.local_date())
    at = utcnow().isoformat(timespec="seconds")
    for agreement_id, agreement_no, masking, department_id in subscribers:
        event_id = uuid.uuid4().hex
        payload = {"event_id": event_id, "type": event_type, "item": item, "occurred_at": at,
                   "agreement": agreement_no, **data}
        if id_number is not None:
            payload["id_number"] = id_number if masking == "clear" else idnumber.mask(id_number)
        session.add(ExchangeOutbox(event_id=event_id, department_id=department_id, agreement_id=agreement_id,
                                   item_code=item, person_id=person_id, status="pending",
                                   payload=json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                                      separators=(",", ":"))))
    return len(subscribers)


def _card_changed(session: Session, actor: Actor, card: Card) -> None:
    if not _subscribers(session, "card_status", clock.local_date()):
        return
    person = registry.find_by_person_id(session, card.person_id)
    emit_in(session, "card_status", EVENT_CARD_STATUS, card.person_id,
            {"card_status": card.app_status, "cancel_reason": card.cancel_reason}, id_number=person.id_number)


cards.on_status_change(_card_changed)


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    event_id: str
    payload: str
    endpoint: str | None
    key_id: str | None
    sealed: str | None
    attempts: int
    agreement_in_force: bool
    department_id: int
    department: str
    agreement_id: int
    agreement_no: str
    purpose: str
    item: str
    person_id: int | None


def signed_headers(key_id: str, secret: bytes, url: str, body: bytes, timestamp: int | None = None,
                   nonce: str | None = None) -> dict[str, str]:
    """The headers of a signed POST of ``body`` to ``url`` (what sscard sends a department)."""
    parts = urlsplit(url)
    ts = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    once = nonce or uuid.uuid4().hex
    query = signing.parse_query(parts.query)
    return {"X-Dept-Key": key_id, "X-Timestamp": ts, "X-Nonce": once,
            "X-Signature": signing.sign(secret, "POST", parts.path or "/", query, ts, once, body),
            "Content-Type": "application/json"}


def _due(session: Session, now: dt.datetime, limit: int) -> list[_Due]:
    newest_key = (select(func.max(ExchangeKey.id)).where(ExchangeKey.department_id == ExchangeDepartment.id,
                                                        ExchangeKey.status == "active")
                  .correlate(ExchangeDepartment).scalar_subquery())
    rows = session.execute(
        select(ExchangeOutbox, ExchangeDepartment.endpoint, ExchangeDepartment.code, ExchangeDepartment.status,
               ExchangeAgreement, ExchangeKey.key_id, ExchangeKey.secret_sealed)
        .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeOutbox.department_id)
        .join(ExchangeAgreement, ExchangeAgreement.id == ExchangeOutbox.agreement_id)
        .outerjoin(ExchangeKey, ExchangeKey.id == newest_key)
        .where(ExchangeOutbox.status == "pending", ExchangeOutbox.next_attempt_at <= now)
        .order_by(ExchangeOutbox.id).limit(limit)).all()
    today = clock.local_date(now)
    return [_Due(o.id, o.event_id, o.payload, endpoint, key_id, sealed, o.attempts,
                 a.status == "approved" and a.valid_from <= today <= a.valid_until and status == "active",
                 o.department_id, code, a.id, a.agreement_no, a.purpose, o.item_code, o.person_id)
            for o, endpoint, code, status, a, key_id, sealed in rows]


def deliver(db: Database, actor: Actor, *, now: dt.datetime | None = None, limit: int = 500,
            client: httpx.Client | None = None, timeout: float = 10.0) -> DeliveryReport:
    """Deliver the due events once each (a failure waits its back-off). An event whose agreement is no longer in
    force (revoked, expired) is withdrawn, not delivered. No transaction is held over a department's answer."""
    actor.require(Permission.EXCHANGE_ADMIN)
    moment = now or clock.now()
    with db.unit_of_work() as session:
        due = _due(session, moment, limit)
    delivered = failed = 0
    http = client or httpx.Client(timeout=timeout)
    try:
        for event in due:
            if not event.agreement_in_force:
                _finish(db, actor, event, "withdrawn", None)
                continue
            error: str | None
            if event.endpoint is None or event.key_id is None or event.sealed is None:
                error = "no endpoint or no active key"
            else:
                body = event.payload.encode("utf-8")
                headers = signed_headers(event.key_id, SECRETS.secret(event.key_id, event.sealed), event.endpoint,
                                         body)
                headers["X-Event-Id"] = event.event_id
                try:
                    answer = http.post(event.endpoint, content=body, headers=headers)
                    error = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}"
            if error is None:
                delivered += 1
                _finish(db, actor, event, "delivered", None)
            else:
                failed += 1
                _finish(db, actor, event, "pending", error, moment)
    finally:
        if client is None:
            http.close()
    with db.unit_of_work() as session:
        pending = session.execute(select(func.count()).select_from(ExchangeOutbox)
                                  .where(ExchangeOutbox.status == "pending")).scalar_one()
    return DeliveryReport(delivered=delivered, failed=failed, pending=int(pending))


def _finish(db: Database, actor: Actor, event: _Due, status: str, error: str | None,
            moment: dt.datetime | None = None) -> None:
    with db.unit_of_work() as session:
        row = session.get(ExchangeOutbox, event.id, with_for_update=True)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        if status == "pending":
            row.last_error = (error or "")[:200]
            row.next_attempt_at = (moment or clock.now()) + backoff(row.attempts)
            audit.record(session, actor, "exchange.event.failed", "exchange_event", event.event_id, None,
                         {"attempts": row.attempts, "error": row.last_error, "department": event.department})
            return
        row.status = status
        if status == "delivered":
            row.delivered_at = utcnow()
            session.add(ExchangeAccess(department_id=event.department_id, agreement_id=event.agreement_id,
                                       item_code=event.item, mode="subscription", person_id=event.person_id,
                                       outcome="DELIVERED"))
            audit.record_read(session, department_actor(event.department), "exchange.subscription",
                              "person" if event.person_id else "-", event.person_id or "-", purpose=event.purpose,
                              agreement=event.agreement_no, item=event.item, event_id=event.event_id)
        else:
            audit.record(session, actor, "exchange.event.withdrawn", "exchange_event", event.event_id, None,
                         {"agreement": event.agreement_no})


def outbox_rows(db: Database, actor: Actor, status: str | None = None, limit: int = 200) -> list[ExchangeOutbox]:
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        query = select(ExchangeOutbox).order_by(ExchangeOutbox.id.desc()).limit(limit)
        if status is not None:
            query = query.where(ExchangeOutbox.status == status)
        rows = list(session.execute(query).scalars())
        session.expunge_all()
        return rows
