"""Writing audit records inside the caller's transaction, and verifying the whole chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.roles import Actor, Permission
from sscard.bulksql import insert_rows
from sscard.db import Database, utcnow

GENESIS = "0" * 64


def _canonical(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _digest(prev_hash: str, seq: int, at: dt.datetime, operator: str, role: str, outlet: str | None,
            action: str, entity_type: str, entity_id: str, before: str | None, after: str | None) -> str:
    material = json.dumps(
        [prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), operator, role, outlet,
         action, entity_type, entity_id, before, after],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: str | int,
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> AuditRecord:
    """Append one record in the caller's transaction; it commits or rolls back with the change itself."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
    at = utcnow()
    seq = head.last_seq + 1
    before_s, after_s = _canonical(before), _canonical(after)
    digest = _digest(head.last_hash, seq, at, actor.username, actor.role.value, actor.outlet_code, action,
                     entity_type, str(entity_id), before_s, after_s)
    row = AuditRecord(seq=seq, at=at, operator_id=actor.operator_id, operator=actor.username,
                      role=actor.role.value, outlet=actor.outlet_code, action=action, entity_type=entity_type,
                      entity_id=str(entity_id), before=before_s, after=after_s, prev_hash=head.last_hash,
                      hash=digest)
    session.add(row)
    head.last_seq, head.last_hash = seq, digest
    return row


@dataclass(frozen=True)
class Entry:
    """One state change for ``record_many``: the same fields ``record`` takes."""

    action: str
    entity_type: str
    entity_id: str | int
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def record_many(session: Session, actor: Actor, entries: Iterable[Entry]) -> int:
    """Append many records in the given order, in the caller's transaction, exactly as that many ``record``
    calls would chain them — but locking the chain head once and writing all rows with multi-row INSERTs.

    Returns the number of records written. The head lock is held to the end of the caller's transaction, so
    concurrent ``record``/``record_many`` calls queue behind it and the chain stays linear.
    """
    items = list(entries)
    if not items:
        return 0
    # Earlier records of this transaction may still be pending in the session (a ``record`` under
    # no_autoflush, a new head row): write them first so the head read below is the true tip.
    session.flush()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
    at = utcnow()
    seq, prev = head.last_seq, head.last_hash
    operator, role, outlet = actor.username, actor.role.value, actor.outlet_code
    rows: list[dict[str, Any]] = []
    for e in items:
        seq += 1
        entity_id = str(e.entity_id)
        before_s, after_s = _canonical(e.before), _canonical(e.after)
        digest = _digest(prev, seq, at, operator, role, outlet, e.action, e.entity_type, entity_id, before_s,
                         after_s)
        rows.append({"seq": seq, "at": at, "operator_id": actor.operator_id, "operator": operator, "role": role,
                     "outlet": outlet, "action": e.action, "entity_type": e.entity_type, "entity_id": entity_id,
                     "before": before_s, "after": after_s, "prev_hash": prev, "hash": digest})
        prev = digest
    insert_rows(session, cast(Table, AuditRecord.__table__), rows)  # one INSERT, or one per page on SQLite
    head.last_seq, head.last_hash = seq, prev
    return len(rows)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


def _rows(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.execute(
            select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(db: Database, actor: Actor) -> VerifyResult:
    """Recompute every hash and link; report the first record that does not match."""
    actor.require(Permission.AUDIT_READ)
    with db.unit_of_work() as session:
        prev, expected_seq, checked = GENESIS, 1, 0
        for row in _rows(session):
            if row.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "missing record (gap in sequence)")
            if row.prev_hash != prev:
                return VerifyResult(False, checked, row.seq, "link to previous record broken")
            digest = _digest(prev, row.seq, row.at, row.operator, row.role, row.outlet, row.action,
                             row.entity_type, row.entity_id, row.before, row.after)
            if digest != row.hash:
                return VerifyResult(False, checked, row.seq, "record content does not match its hash")
            prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        head = session.get(AuditHead, 1)
        if head is not None and (head.last_seq != checked or head.last_hash != prev):
            return VerifyResult(False, checked, checked + 1, "records after the last one are missing")
        return VerifyResult(True, checked)


def history(db: Database, actor: Actor, entity_type: str, entity_id: str, limit: int = 200) -> list[AuditRecord]:
    actor.require(Permission.AUDIT_READ)
    with db.unit_of_work() as session:
        return list(session.execute(
            select(AuditRecord).where(AuditRecord.entity_type == entity_type, AuditRecord.entity_id == entity_id)
            .order_by(AuditRecord.seq.desc()).limit(limit)
        ).scalars())


def last_seq_by_actor(db: Database, actor: Actor, entity_type: str, entity_id: str | int) -> int | None:
    """The audit reference of what this operator just did to the entity (their own latest record of it)."""
    with db.unit_of_work() as session:
        seq: int | None = session.execute(
            select(func.max(AuditRecord.seq)).where(AuditRecord.operator == actor.username,
                                                    AuditRecord.entity_type == entity_type,
                                                    AuditRecord.entity_id == str(entity_id))).scalar_one()
        return seq
