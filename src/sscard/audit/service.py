"""Writing audit records inside the caller's transaction, verifying the whole chain, and anchoring its head
outside the database (see ``chain`` for the keyed digests and ``anchors`` for the checkpoint files)."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
from sqlalchemy import Engine, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from sscard.access import Actor, Permission
from sscard.audit import anchors as anchor_files
from sscard.audit.chain import (
    GENESIS,
    canonical,
    key,
    keyed_material,
    keyed_material_from,
    keyed_tail,
    legacy_digest,
    material,
)
from sscard.audit.masking import masked
from sscard.audit.models import AuditHead, AuditRecord
from sscard.bulksql import Write, execute, insert_columns, insert_rows, prepare_all, send_prepared, write_all
from sscard.db import Database, utcnow

__all__ = ["GENESIS", "Entry", "VerifyResult", "anchor", "anchoring", "history", "last_seq_by_actor", "read_details",
           "record", "record_batch", "record_grouped", "record_many", "record_read", "record_with", "verify"]


def _locked_head(session: Session) -> AuditHead:
    """The chain head, locked to the end of the transaction; a database's first record makes it, keyed from 1."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS, keyed_from=1, seal=key().seal(1, GENESIS))
        session.add(head)
    return head


def _chained(prev: str, seq: int, at: dt.datetime, actor: Actor, action: str, entity_type: str, entity_id: str,
             before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """The columns of record ``seq`` after the record whose hash is ``prev`` (identifiers masked here, once for
    every caller: ``masking``)."""
    before_s, after_s = canonical(masked(before)), canonical(masked(after))
    digest = key().mac(keyed_material(prev, seq, at, actor.operator_id, actor.username, actor.role.value,
                                      actor.outlet_code, action, entity_type, entity_id, before_s, after_s))
    return {"seq": seq, "at": at, "operator_id": actor.operator_id, "operator": actor.username,
            "role": actor.role.value, "outlet": actor.outlet_code, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "before": before_s, "after": after_s, "prev_hash": prev, "hash": digest}


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: str | int,
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> AuditRecord:
    """Append one record in the caller's transaction; it commits or rolls back with the change itself.

    Identifiers in ``before``/``after`` (bank account, ID, card and phone numbers) are masked here, once for
    every caller (``masking``)."""
    head = _locked_head(session)
    row = AuditRecord(**_chained(head.last_hash, head.last_seq + 1, utcnow(), actor, action, entity_type,
                                 str(entity_id), before, after))
    session.add(row)
    head.last_seq, head.last_hash = row.seq, row.hash
    return row


def read_details(purpose: str, **details: Any) -> dict[str, Any]:
    """What the record of a read of personal data holds: the purpose and a few details of the answer."""
    return {"purpose": purpose, **details}


def record_read(session: Session, actor: Actor, action: str, entity_type: str, entity_id: str | int,
                purpose: str, **details: Any) -> AuditRecord:
    """Audit a read of personal data: who read what, and for what (``purpose``: the screen, report or use
    case that asked), with a few details of the answer (how many rows, the filter) but never the data."""
    return record(session, actor, action, entity_type, entity_id, None, read_details(purpose, **details))


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
    head = _locked_head(session)
    at = utcnow()
    seq, prev = head.last_seq, head.last_hash
    rows: list[dict[str, Any]] = []
    for e in items:
        seq += 1
        rows.append(_chained(prev, seq, at, actor, e.action, e.entity_type, str(e.entity_id), e.before, e.after))
        prev = rows[-1]["hash"]
    insert_rows(session, cast(Table, AuditRecord.__table__), rows)  # one INSERT, or one per page on SQLite
    head.last_seq, head.last_hash = seq, prev
    return len(rows)


# ``record_with``: prebuilt statements (``bulksql``), the record's parameters prefixed so that they cannot meet
# the caller's own writes' in one statement.
_RECORDS = cast(Table, AuditRecord.__table__)
_HEADS = cast(Table, AuditHead.__table__)
_HEAD_LOCK = select(_HEADS.c.last_seq, _HEADS.c.last_hash).where(_HEADS.c.id == bindparam("a_head")).with_for_update()
_RECORD_INSERT = insert(_RECORDS).inline().values({c.key: bindparam(f"a_{c.key}") for c in _RECORDS.columns})
_HEAD_SAVE = (update(_HEADS).where(_HEADS.c.id == bindparam("a_head"))
              .values(last_seq=bindparam("a_last_seq"), last_hash=bindparam("a_last_hash")))


def record_with(session: Session, actor: Actor, entry: Entry, writes: Sequence[Write] = (),
                commit: bool = False) -> None:
    """``record`` of ``entry`` together with the caller's own ``writes`` (INSERTs of new rows, parameter names
    distinct and not starting with ``a_``: see ``bulksql.write_all``), for a use case that runs hundreds of
    times a second.

    The chain head is locked by one prebuilt statement; the caller's rows, the record and the new head then go
    in one more (two round trips, not four, with the head held). Call it last in the transaction: the head
    stays locked until COMMIT and serialises every writer of the chain. ``commit=True`` (nothing may follow in
    the transaction) sends that statement and COMMIT in one round trip (``bulksql.write_all``): the head is then
    held for one client round trip, not two, which is what bounds the chain's writers per second. Falls back
    to ``record`` (then the writes one by one) when the chain has no head yet or this transaction holds the head
    through the ORM; the session then commits when its unit of work ends, as without ``commit``."""
    if identity_key(AuditHead, 1) in session.identity_map:
        session.flush()
        record(session, actor, entry.action, entry.entity_type, entry.entity_id, entry.before, entry.after)
        session.flush()
        if writes:
            write_all(session, writes)
        return
    found = execute(session, _HEAD_LOCK, {"a_head": 1})
    if not found:  # a database's first record: made through the ORM, which creates the head
        record(session, actor, entry.action, entry.entity_type, entry.entity_id, entry.before, entry.after)
        session.flush()
        if writes:
            write_all(session, writes)
        return
    last_seq, last_hash = found[0]
    row = _chained(last_hash, last_seq + 1, utcnow(), actor, entry.action, entry.entity_type, str(entry.entity_id),
                   entry.before, entry.after)
    write_all(session, [*writes, (_RECORD_INSERT, {f"a_{k}": v for k, v in row.items()}),
                        (_HEAD_SAVE, {"a_head": 1, "a_last_seq": row["seq"], "a_last_hash": row["hash"]})],
              commit=commit)


def record_batch(session: Session, entries: Sequence[tuple[Actor, Entry]], commit: bool = False) -> int:
    """Append one record per ``(actor, entry)``, in the given order, in the caller's transaction — exactly as
    that many ``record`` calls would chain them, each with its own actor — locking the chain head once and
    writing the rows in one prebuilt INSERT (``insert_columns``). For a group commit of many requests answered
    in one transaction (``exchange``'s verifications): call it last, the head stays locked until COMMIT;
    ``commit=True`` (nothing may follow) sends the head's update and COMMIT in one round trip, as
    ``record_with`` does. Returns the number of records written."""
    if not entries:
        return 0
    session.flush()  # a record of this transaction still pending in the session (a new head row) comes first
    if identity_key(AuditHead, 1) in session.identity_map or not (found := execute(session, _HEAD_LOCK,
                                                                                    {"a_head": 1})):
        for actor, e in entries:  # the head held through the ORM, or none yet: record() makes it
            record(session, actor, e.action, e.entity_type, e.entity_id, e.before, e.after)
        session.flush()
        return len(entries)
    seq, prev = found[0]
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for actor, e in entries:
        seq += 1
        rows.append(_chained(prev, seq, at, actor, e.action, e.entity_type, str(e.entity_id), e.before, e.after))
        prev = rows[-1]["hash"]
    names = list(rows[0])
    insert_columns(session, _RECORDS, names, [[row[n] for n in names] for row in rows])
    write_all(session, [(_HEAD_SAVE, {"a_head": 1, "a_last_seq": seq, "a_last_hash": prev})], commit=commit)
    return len(rows)


# ------------------------------------------------------------------------------------------- group commit
# Every audited write holds the chain's one head row from its lock to the end of COMMIT, and each such write
# paid its own head lock, head update and COMMIT. ``record_grouped`` lets the use cases that run hundreds of
# times a second (a health-index publish or search, bench/health_index.py) share them: concurrent callers queue,
# one of them (the leader) locks the head once for all that are waiting, chains their records in the queue's
# order — each caller still gets its own record, exactly as that many ``record_with`` calls would chain them —
# and writes every caller's rows, the records and the new head in one statement sent with COMMIT. Nobody waits
# for a batch to fill: a caller that finds no batch running leads one at once (alone, it is ``record_with``),
# and those who arrive meanwhile form the next. PostgreSQL only; on SQLite each caller writes on its own.

GROUP_MAX = 64  # callers in one batch (the statement grows with each)


@dataclass(eq=False)
class _Waiting:
    actor: Actor
    entry: Entry
    writes: Sequence[Write]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead the next batch, not because its record is written
    done: bool = False
    error: BaseException | None = None


class _Group:
    """The callers waiting to be written on one database, and whether a batch is being written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: list[_Waiting] = []
        self.leading = False


_groups_lock = threading.Lock()
_groups: weakref.WeakKeyDictionary[Engine, _Group] = weakref.WeakKeyDictionary()


def _group_of(db: Database) -> _Group:
    with _groups_lock:
        group = _groups.get(db.engine)
        if group is None:
            group = _groups[db.engine] = _Group()
        return group


def record_grouped(db: Database, actor: Actor, entry: Entry, writes: Sequence[Write] = ()) -> None:
    """``record_with(..., commit=True)`` of ``entry`` and ``writes`` in a transaction of its own, committed
    together with those of concurrent callers (see above). Returns once they are committed; raises what that
    one caller's transaction would have raised (a unique violation of its own rows: the batch is then written
    again one caller at a time, so that only that caller fails). Call it with no transaction of the caller's
    open: its rows must not depend on anything uncommitted."""
    if db.dialect != "postgresql":
        with db.unit_of_work() as session:
            record_with(session, actor, entry, writes, commit=True)
        return
    group, me = _group_of(db), _Waiting(actor, entry, writes)
    with group.lock:
        group.queue.append(me)
        lead = not group.leading
        group.leading = True
    if not lead:
        me.wake.wait()
    if lead or me.lead:
        with group.lock:  # this caller is first in the queue
            batch, group.queue = group.queue[:GROUP_MAX], group.queue[GROUP_MAX:]
        try:
            _write_batch(db, batch)
        finally:
            with group.lock:
                after = group.queue[0] if group.queue else None
                group.leading = after is not None
            if after is not None:
                after.lead = True
                after.wake.set()
            for waiting in batch:
                if waiting is not me:
                    waiting.wake.set()
    if me.error is not None:
        raise me.error
    if not me.done:
        raise RuntimeError("audit: the batch with this record was not written")


def _write_batch(db: Database, batch: list[_Waiting]) -> None:
    """Lock the head once, chain the batch's records in order, write everything and COMMIT in one round trip;
    on a unique violation, each caller again on its own. Every caller in ``batch`` ends done or with an error.

    Everything but the records' places in the chain is made before the head is locked: the statement, its
    values, each record's MAC material but the previous hash, sequence number and time. Under the lock only the
    MACs are computed and four values per record filled in. Why: the thread holding the head competes for the
    GIL with the worker's other requests (each Python step under the lock took several times its own CPU time
    under load), and every audited writer on the database waits for the head meanwhile."""
    try:
        with db.unit_of_work() as session:
            placeholder = utcnow()
            writes: list[Write] = []
            records: list[tuple[int, str]] = []  # (its write's number, its MAC material but the chain's part)
            for waiting in batch:
                e, actor = waiting.entry, waiting.actor
                before, after = canonical(masked(e.before)), canonical(masked(e.after))
                entity_id = str(e.entity_id)
                writes += waiting.writes
                records.append((len(writes), keyed_tail(actor.operator_id, actor.username, actor.role.value,
                                                        actor.outlet_code, e.action, e.entity_type, entity_id,
                                                        before, after)))
                writes.append((_RECORD_INSERT, {
                    "a_seq": 0, "a_at": placeholder, "a_operator_id": actor.operator_id, "a_operator": actor.username,
                    "a_role": actor.role.value, "a_outlet": actor.outlet_code, "a_action": e.action,
                    "a_entity_type": e.entity_type, "a_entity_id": entity_id, "a_before": before, "a_after": after,
                    "a_prev_hash": "", "a_hash": ""}))
            head = len(writes)
            writes.append((_HEAD_SAVE, {"a_head": 1, "a_last_seq": 0, "a_last_hash": ""}))
            prepared = prepare_all(session, writes, numbered=True)
            found = execute(session, _HEAD_LOCK, {"a_head": 1})
            if not found:  # a database's first record: made through the ORM, one caller at a time
                raise _NoHead()
            last_seq, last_hash = found[0]
            at, mac, values = utcnow(), key().mac, prepared.values
            for n, tail in records:
                last_seq += 1
                digest = mac(keyed_material_from(last_hash, last_seq, at, tail))
                values[f"a_seq__{n}"], values[f"a_at__{n}"] = last_seq, at
                values[f"a_prev_hash__{n}"], values[f"a_hash__{n}"] = last_hash, digest
                last_hash = digest
            values[f"a_last_seq__{head}"], values[f"a_last_hash__{head}"] = last_seq, last_hash
            send_prepared(session, prepared, commit=True)
    except (_NoHead, IntegrityError, psycopg.IntegrityError) as exc:
        if len(batch) == 1 and not isinstance(exc, _NoHead):
            batch[0].error = exc
            return
        for waiting in batch:  # the one whose rows violate a constraint fails, the others are written
            try:
                with db.unit_of_work() as session:
                    record_with(session, waiting.actor, waiting.entry, waiting.writes, commit=True)
                waiting.done = True
            except Exception as own:  # raised again in that caller's thread
                waiting.error = own
        return
    except Exception as exc:  # the database failed: every caller of the batch sees it
        for waiting in batch:
            waiting.error = exc
        return
    for waiting in batch:
        waiting.done = True


class _NoHead(Exception):
    pass


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    keyed_from: int | None = None  # the first keyed record; the ones before it are SHA-256 only (legacy)
    anchors: int = 0  # anchor checkpoints checked against the chain
    latest_anchor_seq: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _rows(session: Session, upto: int | None, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        query = select(AuditRecord).where(AuditRecord.seq > last)
        if upto is not None:
            query = query.where(AuditRecord.seq <= upto)
        rows = session.execute(query.order_by(AuditRecord.seq).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def _legacy(prev: str, row: AuditRecord) -> str:
    return legacy_digest(material(prev, row.seq, row.at, row.operator, row.role, row.outlet, row.action,
                                  row.entity_type, row.entity_id, row.before, row.after))


_SEAL_BROKEN = ("the switch-over to the keyed chain is not authentic (its seal does not match): the records "
                "before it were rewritten, or the switch-over was moved")


def verify(db: Database, actor: Actor) -> VerifyResult:
    """Recompute every digest and link (HMAC under the audit key from the switch-over on, SHA-256 before it),
    check the seal of the switch-over and the head, then the anchors outside the database: report the first
    thing that does not match."""
    actor.require(Permission.AUDIT_READ)
    k = key()
    where = anchor_files.directory()
    found, forged = anchor_files.read_all(k, where) if where is not None else ([], [])
    wanted = {a.seq for a in found}
    seen: dict[int, str] = {}
    with db.unit_of_work() as session:
        head = session.get(AuditHead, 1)
        head_seq = head.last_seq if head is not None else 0
        head_hash = head.last_hash if head is not None else GENESIS
        keyed_from = head.keyed_from if head is not None else None
        seal = head.seal if head is not None else None
        sealed = head is None  # an empty database has nothing to seal yet
        prev, expected_seq, checked = GENESIS, 1, 0

        def fail(seq: int | None, reason: str) -> VerifyResult:
            return VerifyResult(False, checked, seq, reason, keyed_from, len(found))

        # Up to the head read first: records appended while the walk runs are not this verification's.
        for row in _rows(session, head_seq if head is not None else None):
            if head is None:
                return fail(row.seq, "the chain head is missing")
            if keyed_from is None or seal is None:
                return fail(row.seq, "the chain has no sealed switch-over to the keyed chain")
            if row.seq != expected_seq:
                return fail(expected_seq, "missing record (gap in sequence)")
            if row.seq == keyed_from:
                if k.seal(keyed_from, prev) != seal:
                    return fail(row.seq, _SEAL_BROKEN)
                sealed = True
            if row.prev_hash != prev:
                return fail(row.seq, "link to previous record broken")
            if row.seq < keyed_from:
                if _legacy(prev, row) != row.hash:
                    return fail(row.seq, "record content does not match its hash")
            elif k.mac(keyed_material(prev, row.seq, row.at, row.operator_id, row.operator, row.role, row.outlet,
                                      row.action, row.entity_type, row.entity_id, row.before, row.after)) != row.hash:
                if _legacy(prev, row) == row.hash:
                    return fail(row.seq, "record content does not match its hash (re-hashed without the audit "
                                         "key: the chain was rebuilt)")
                return fail(row.seq, "record content does not match its hash")
            if row.seq in wanted:
                seen[row.seq] = row.hash
            prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        if head is not None and (head_seq != checked or head_hash != prev):
            return fail(checked + 1, "records after the last one are missing")
        beyond = session.execute(select(func.max(AuditRecord.seq))).scalar_one_or_none() or 0
        if head is not None and beyond > head_seq:  # the head was moved back over records still there …
            now_at = session.execute(select(AuditHead.last_seq).where(AuditHead.id == 1)).scalar_one_or_none()
            if now_at is None or now_at < beyond:  # … unless they were appended meanwhile
                return fail(head_seq + 1, f"records {head_seq + 1}..{beyond} lie beyond the chain head")
        if not sealed and (keyed_from is None or seal is None or keyed_from != checked + 1
                           or k.seal(keyed_from, prev) != seal):  # no keyed record yet: the seal covers the head
            return fail(keyed_from or checked + 1, _SEAL_BROKEN)
    if forged:
        return fail(None, f"anchor {forged[0].file}: {forged[0].reason}")
    for a in found:
        if a.seq > checked:
            return fail(checked + 1, f"the chain ends at record {checked} but anchor {a.file} records {a.seq}: "
                                     f"records {checked + 1}..{a.seq} were deleted and the head rewound")
        if a.seq > 0 and seen.get(a.seq) != a.head:
            return fail(a.seq, f"record {a.seq} differs from anchor {a.file}: the chain was rebuilt")
        if a.keyed_from is not None and (a.keyed_from, a.seal) != (keyed_from, seal):
            return fail(keyed_from, f"the switch-over to the keyed chain differs from anchor {a.file}")
    latest = found[-1].seq if found else None
    warnings: list[str] = []
    if keyed_from is not None and keyed_from > 1:
        warnings.append(f"records 1..{keyed_from - 1} were written before the keyed chain (SHA-256 only; "
                        "sealed by the first keyed record)")
    if where is None:
        warnings.append("no anchor directory (SSCARD_AUDIT_ANCHOR_DIR): a deleted tail with the head rewound "
                        "cannot be detected")
    elif latest is None and checked:
        warnings.append(f"no anchor in {where} yet: run `sscard audit anchor` or the jobs")
    elif latest is not None and latest < checked:
        warnings.append(f"records {latest + 1}..{checked} are after the latest anchor")
    return VerifyResult(True, checked, None, None, keyed_from, len(found), latest, tuple(warnings))


def anchor(db: Database, actor: Actor, now: dt.datetime | None = None) -> anchor_files.Anchor | None:
    """Write a checkpoint of the chain head to the anchor directory; ``None`` if the head has not moved since
    the latest anchor. Refused (``AUDIT_CHAIN_REWOUND``) if the chain is shorter than an anchor already
    written, so that a rewound head is never blessed. The head record's own MAC is checked first."""
    actor.require(Permission.JOBS_RUN)
    where = anchor_files.directory()
    if where is None:
        raise anchor_files.AnchorDirUnset()
    k = key()
    found, _ = anchor_files.read_all(k, where)
    with db.unit_of_work() as session:
        head = session.get(AuditHead, 1)
        if head is None:
            return None
        seq, last_hash, keyed_from, seal = head.last_seq, head.last_hash, head.keyed_from, head.seal
        row = session.get(AuditRecord, seq) if seq else None
        intact = row is not None and row.hash == last_hash and (
            keyed_from is None or seq < keyed_from
            or k.mac(keyed_material(row.prev_hash, row.seq, row.at, row.operator_id, row.operator, row.role,
                                    row.outlet, row.action, row.entity_type, row.entity_id, row.before,
                                    row.after)) == row.hash)
        if seq and not intact:
            raise anchor_files.ChainRewound("the head record does not match the head (run `sscard audit verify`)")
        for a in found:
            if a.seq > seq:
                raise anchor_files.ChainRewound(f"chain at {seq}, anchor {a.file} at {a.seq}")
            if a.seq == seq and a.head != last_hash:
                raise anchor_files.ChainRewound(f"record {seq} differs from anchor {a.file}")
    if found and found[-1].seq == seq:
        return None
    return anchor_files.write(k, where, seq, last_hash, keyed_from, seal, now or utcnow())


def anchoring() -> bool:
    """Whether anchors are written here (``SSCARD_AUDIT_ANCHOR_DIR`` is set): the jobs anchor only then."""
    return anchor_files.directory() is not None


def history(db: Database, actor: Actor, entity_type: str, entity_id: str, limit: int = 200) -> list[AuditRecord]:
    """The entity's records, newest first. Reading someone's audit trail is itself a read of their personal
    data: it is audited, under ``audit`` / ``<entity_type>/<entity_id>`` (so the trail read stays as it was)."""
    actor.require(Permission.AUDIT_READ)
    with db.unit_of_work() as session:
        rows = list(session.execute(
            select(AuditRecord).where(AuditRecord.entity_type == entity_type, AuditRecord.entity_id == entity_id)
            .order_by(AuditRecord.seq.desc()).limit(limit)
        ).scalars())
        target = f"{entity_type}/{entity_id}".replace("\x00", "")[:50]
        record_read(session, actor, "audit.history_read", "audit", target, "audit trail of a record", rows=len(rows))
        return rows


def last_seq_by_actor(db: Database, actor: Actor, entity_type: str, entity_id: str | int) -> int | None:
    """The audit reference of what this operator just did to the entity (their own latest record of it)."""
    with db.unit_of_work() as session:
        seq: int | None = session.execute(
            select(func.max(AuditRecord.seq)).where(AuditRecord.operator == actor.username,
                                                    AuditRecord.entity_type == entity_type,
                                                    AuditRecord.entity_id == str(entity_id))).scalar_one()
        return seq
