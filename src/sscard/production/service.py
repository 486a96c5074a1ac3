"""Collection use cases: importing collection data and the population extract, comparing them, the exceptions
queue and its resolution, and turning clean records into approved applications (through the cards service, so
one person one card and the audit trail hold). Each public function is one transaction.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.cards.models import Application, Card
from sscard.cards.states import ApplicationStatus, AppStatus
from sscard.db import Database
from sscard.errors import DomainError
from sscard.production import compare, imports
from sscard.production.errors import (
    ExceptionAlreadyResolved,
    ExceptionNotFound,
    FileAlreadyImported,
    ResolutionInvalid,
)
from sscard.production.models import (
    CollectedRecord,
    ComparisonException,
    CooperatingBank,
    DataImport,
    ImportRowError,
    PopulationRecord,
)
from sscard.production.schemas import (
    ComparisonOut,
    ExceptionOut,
    ExceptionReview,
    ImportOut,
    Resolution,
    ResolveOut,
    RowErrorOut,
)
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.models import Person
from sscard.registry.schemas import PersonIn

_COLLECTED_COLUMNS = ("record_id", "id_number", "name", "sex", "birth_date", "region_code", "phone", "photo_ref",
                      "photo_width", "photo_height", "accepted_codes")


# ------------------------------------------------------------------------------------------------ imports


def photo_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a JPEG (SOFn marker) or PNG (IHDR) header; None if absent or unreadable."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if not head.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker, length = head[i + 1], int.from_bytes(head[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[i + 5:i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def _import(db: Database, actor: Actor, kind: str, source: Path | bytes, filename: str, fmt: str | None,
            photo_root: Path | None, show_progress: bool) -> ImportOut:
    actor.require(Permission.PRODUCTION_IMPORT)
    with db.unit_of_work() as session:
        record = DataImport(kind=kind, filename=filename[:200], sha256="-" * 64, rows_total=0, rows_ok=0,
                            rows_bad=0, operator=actor.username)
        session.add(record)
        session.flush()
        import_id = record.id

        def sink(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                row["import_id"] = import_id
                if kind == "collection":
                    size = photo_size(photo_root / row["photo_ref"]) if photo_root and row["photo_ref"] else None
                    row["photo_width"], row["photo_height"] = size if size else (None, None)
                    row["status"], row["accepted_codes"] = "pending", ""
                else:
                    row.pop("row_no")
            if kind == "population":  # the latest extract's row replaces an earlier one
                session.execute(delete(PopulationRecord).where(
                    PopulationRecord.id_number.in_([r["id_number"] for r in rows])))
                session.execute(insert(PopulationRecord), rows)
            else:
                session.execute(insert(CollectedRecord), rows)

        result = imports.read(source, kind, sink, fmt, show_progress)
        if session.execute(select(DataImport.id).where(DataImport.sha256 == result.sha256)).first():
            raise FileAlreadyImported(filename, sha256=result.sha256)
        record.sha256 = result.sha256
        record.rows_total, record.rows_ok, record.rows_bad = result.rows_total, result.rows_ok, len(result.errors)
        if result.errors:
            session.execute(insert(ImportRowError), [
                {"import_id": import_id, "row_no": e.row_no, "code": e.code, "reason": e.reason[:300]}
                for e in result.errors])
        audit.record(session, actor, f"production.import_{kind}", "data_import", import_id, None,
                     {"filename": filename, "sha256": result.sha256, "rows_total": result.rows_total,
                      "rows_ok": result.rows_ok, "rows_bad": len(result.errors)})
        return ImportOut(import_id=import_id, kind=kind, rows_total=result.rows_total, rows_ok=result.rows_ok,
                         rows_bad=len(result.errors),
                         errors=[RowErrorOut(row_no=e.row_no, code=e.code, reason=e.reason) for e in result.errors])


def import_collection(db: Database, actor: Actor, source: Path | bytes, filename: str = "", fmt: str | None = None,
                      photo_root: Path | None = None, show_progress: bool = False) -> ImportOut:
    """采集数据导入 (CSV or Parquet; photos referenced by file under ``photo_root``)."""
    name = filename or (source.name if isinstance(source, Path) else "upload")
    return _import(db, actor, "collection", source, name, fmt, photo_root, show_progress)


def import_population(db: Database, actor: Actor, source: Path | bytes, filename: str = "", fmt: str | None = None,
                      show_progress: bool = False) -> ImportOut:
    """公安人口信息导入: each row replaces the earlier row of the same ID number."""
    name = filename or (source.name if isinstance(source, Path) else "upload")
    return _import(db, actor, "population", source, name, fmt, None, show_progress)


# --------------------------------------------------------------------------------------------- comparison


def _table(rows: Sequence[Any], columns: tuple[str, ...], types: dict[str, pa.DataType]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pa.table({c: pa.array(list(v), types.get(c, pa.string())) for c, v in zip(columns, cols, strict=True)})


def division_charsets(session: Session) -> dict[str, str]:
    """The narrowest file character set among the banks serving each division (where a fallback is needed)."""
    out: dict[str, str] = {}
    for bank in session.execute(select(CooperatingBank)).scalars():
        for code in bank.divisions.split(","):
            if out.get(code) != "gb2312":
                out[code] = bank.charset
    return out


def _check(session: Session, record_ids: list[int]) -> pa.Table:
    """Run the engine on the given collected records against the register and the card holders."""
    rows = session.execute(
        select(CollectedRecord.id, CollectedRecord.id_number, CollectedRecord.name, CollectedRecord.sex,
               CollectedRecord.birth_date, CollectedRecord.region_code, CollectedRecord.phone,
               CollectedRecord.photo_ref, CollectedRecord.photo_width, CollectedRecord.photo_height,
               CollectedRecord.accepted_codes).where(CollectedRecord.id.in_(record_ids))).all()
    collected = _table(rows, _COLLECTED_COLUMNS, {"record_id": pa.int64(), "birth_date": pa.date32(),
                                                  "photo_width": pa.int64(), "photo_height": pa.int64()})
    ids = {r[1] for r in rows}
    pop_rows = session.execute(
        select(PopulationRecord.id_number, PopulationRecord.name, PopulationRecord.sex, PopulationRecord.birth_date,
               PopulationRecord.region_code, PopulationRecord.living_status)
        .where(PopulationRecord.id_number.in_(ids))).all()
    population = _table(pop_rows, imports.POPULATION_COLUMNS, {"birth_date": pa.date32()})
    holders: list[tuple[str, str]] = [
        (n, "card") for (n,) in session.execute(
            select(Person.id_number).join(Card, Card.person_id == Person.id)
            .where(Person.id_number.in_(ids), Card.app_status.is_not(None),
                   Card.app_status != AppStatus.CANCELLED.value))]
    holders += [(n, "application") for (n,) in session.execute(
        select(Person.id_number).join(Application, Application.person_id == Person.id)
        .where(Person.id_number.in_(ids), Application.status == ApplicationStatus.OPEN.value))]
    holders += [(n, "collected") for (n,) in session.execute(
        select(CollectedRecord.id_number).where(CollectedRecord.id_number.in_(ids),
                                                CollectedRecord.status == "exception",
                                                CollectedRecord.id.not_in(record_ids)))]
    return compare.run(collected, population, _table(holders, ("id_number", "kind"), {}), division_charsets(session))


def _refused(session: Session, record: CollectedRecord, code: str, detail: str) -> list[str]:
    session.add(ComparisonException(record_id=record.id, reason_code=code[:40], detail=detail[:300]))
    record.status = "exception"
    return [code]


def _approve(session: Session, actor: Actor, record: CollectedRecord) -> list[str]:
    """A clean record → (person registered if new) → an open application with its card (production 00).

    A refusal by the registry or cards service becomes an exception with that error's code: never dropped.
    """
    try:
        with session.begin_nested():
            person = session.execute(select(Person).where(Person.id_number == record.id_number)).scalar_one_or_none()
            if person is None:
                person = registry.register_in(session, actor, PersonIn(
                    id_number=record.id_number, name=record.name, sex=record.sex, birth_date=record.birth_date,
                    ethnicity=record.ethnicity, region_code=record.region_code, phone=record.phone))
            applied = cards.apply_new_in(session, actor, person,
                                         record.employer_uscc if record.source == "employer" else None)
    except DomainError as err:
        return _refused(session, record, err.code, err.message_en)
    except ValidationError as err:  # e.g. an ethnicity code outside GB/T 3304
        return _refused(session, record, "PERSON_DATA_INVALID", str(err.errors()[0]["msg"]))
    record.status, record.application_id, record.card_no = "approved", applied.application.id, applied.card.card_no
    return []


def _apply_findings(session: Session, actor: Actor, record_ids: list[int], found: pa.Table) -> tuple[int, Counter[str]]:
    by_reason: Counter[str] = Counter()
    flagged: set[int] = set()
    if found.num_rows:
        rows = found.to_pylist()
        session.execute(insert(ComparisonException), [{**r, "status": "open", "created_at": clock.now()}
                                                      for r in rows])
        for r in rows:
            by_reason[r["reason_code"]] += 1
            flagged.add(r["record_id"])
    approved = 0
    records = session.execute(select(CollectedRecord).where(CollectedRecord.id.in_(record_ids))
                              .order_by(CollectedRecord.id)).scalars().all()
    for record in records:
        if record.id in flagged:
            record.status = "exception"
            continue
        refused = _approve(session, actor, record)
        by_reason.update(refused)
        approved += not refused
    return approved, by_reason


def run_comparison(db: Database, actor: Actor, import_id: int | None = None) -> ComparisonOut:
    """比对: every pending record (of one import, or all) is checked; exceptions queued, clean ones approved."""
    actor.require(Permission.PRODUCTION_IMPORT)
    with db.unit_of_work() as session:
        query = select(CollectedRecord.id).where(CollectedRecord.status == "pending")
        if import_id is not None:
            query = query.where(CollectedRecord.import_id == import_id)
        record_ids = list(session.execute(query.order_by(CollectedRecord.id)).scalars())
        found = _check(session, record_ids) if record_ids else pa.table({"record_id": pa.array([], pa.int64())})
        approved, by_reason = _apply_findings(session, actor, record_ids, found)
        with_exceptions = len(record_ids) - approved
        out = ComparisonOut(compared=len(record_ids), with_exceptions=with_exceptions,
                            exceptions=sum(by_reason.values()), approved=approved, by_reason=dict(by_reason))
        audit.record(session, actor, "production.compare", "data_import", import_id or "*", None,
                     out.model_dump())
        return out


# ------------------------------------------------------------------------------------------ exceptions queue


def list_exceptions(db: Database, actor: Actor, status: str = "open", reason_code: str | None = None,
                    limit: int = 100, offset: int = 0, import_id: int | None = None) -> list[ExceptionOut]:
    """The exceptions queue, oldest first, optionally of one reason and one import."""
    actor.require(Permission.PRODUCTION_RESOLVE)
    with db.unit_of_work() as session:
        query = select(ComparisonException).where(ComparisonException.status == status)
        if reason_code:
            query = query.where(ComparisonException.reason_code == reason_code)
        if import_id is not None:
            query = query.join(CollectedRecord, CollectedRecord.id == ComparisonException.record_id).where(
                CollectedRecord.import_id == import_id)
        rows = session.execute(query.order_by(ComparisonException.id).limit(min(limit, 1000)).offset(offset))
        found = [ExceptionOut.model_validate(e) for e in rows.scalars()]
        audit.record(session, actor, "production.exceptions_read", "comparison_exception", "*", None,
                     {"status": status, "reason_code": reason_code, "import_id": import_id, "returned": len(found)})
        return found


def review_queue(db: Database, actor: Actor, limit: int = 200) -> list[ExceptionReview]:
    """The open exceptions with what an operator needs to decide each one: the collected record's name and
    masked ID number, the reason's wording, and the value collected for the field the register disagrees on."""
    actor.require(Permission.PRODUCTION_RESOLVE)
    with db.unit_of_work() as session:
        rows = session.execute(
            select(ComparisonException, CollectedRecord)
            .join(CollectedRecord, CollectedRecord.id == ComparisonException.record_id)
            .where(ComparisonException.status == "open")
            .order_by(ComparisonException.id).limit(min(limit, 1000)))
        found = []
        for exc, record in rows:
            wording = compare.REASONS.get(exc.reason_code, f"{exc.reason_code} / {exc.reason_code}")
            zh, _, en = wording.partition(" / ")
            collected = getattr(record, exc.field) if exc.field and hasattr(record, exc.field) else None
            found.append(ExceptionReview(
                exception=ExceptionOut.model_validate(exc), name=record.name,
                id_masked=idnumber.mask(record.id_number),
                reason_zh=zh, reason_en=en or zh,
                collected_value=collected.isoformat() if isinstance(collected, dt.date) else collected))
        audit.record(session, actor, "production.exceptions_read", "comparison_exception", "*", None,
                     {"status": "open", "returned": len(found)})
        return found


def _set_field(record: CollectedRecord, field: str, value: str) -> None:
    if field == "birth_date":
        record.birth_date = dt.date.fromisoformat(value)
    else:
        setattr(record, field, value)


def resolutions_for(field: str | None, register_value: str | None, reason_code: str) -> list[Resolution]:
    """The decisions an exception admits: the register's value only where it has one for the field, accept only
    for a flag (``compare.FLAGS``); reject and send back always."""
    allowed = []
    if field is not None and register_value is not None:
        allowed.append(Resolution.TAKE_REGISTER)
    if reason_code in compare.FLAGS:
        allowed.append(Resolution.ACCEPT)
    return [*allowed, Resolution.REJECT, Resolution.SEND_BACK]


def resolve_exception(db: Database, actor: Actor, exception_id: int, resolution: Resolution) -> ResolveOut:
    """An operator's decision on one exception (audited). When a record has no open exception left it is
    checked again (with the corrected values) and approved if clean."""
    actor.require(Permission.PRODUCTION_RESOLVE)
    resolution = Resolution(resolution)
    with db.unit_of_work() as session:
        exc = session.get(ComparisonException, exception_id, with_for_update=True)
        if exc is None:
            raise ExceptionNotFound(str(exception_id))
        if exc.status != "open":
            raise ExceptionAlreadyResolved(str(exception_id), resolution=exc.resolution)
        record = session.get_one(CollectedRecord, exc.record_id, with_for_update=True)
        before = {"record_status": record.status, "exception_status": exc.status,
                  "field": exc.field, "value": getattr(record, exc.field) if exc.field else None}
        now = clock.now()
        open_ones = list(session.execute(select(ComparisonException).where(
            ComparisonException.record_id == record.id, ComparisonException.status == "open")).scalars())
        new_codes: list[str] = []
        if resolution is Resolution.TAKE_REGISTER:
            if exc.field is None or exc.register_value is None:  # as resolutions_for, narrowed for the type checker
                raise ResolutionInvalid(f"{exc.reason_code} has no register value to take")
            _set_field(record, exc.field, exc.register_value)
            closing = [exc]
        elif resolution is Resolution.ACCEPT:
            if resolution not in resolutions_for(exc.field, exc.register_value, exc.reason_code):
                raise ResolutionInvalid(f"{exc.reason_code} cannot be accepted; only {sorted(compare.FLAGS)}")
            record.accepted_codes = ",".join(filter(None, [*record.accepted_codes.split(","), exc.reason_code]))
            closing = [exc]
        else:
            closing = open_ones
            record.status = "rejected" if resolution is Resolution.REJECT else "returned"
        for each in closing:
            each.status, each.resolution, each.resolved_by, each.resolved_at = (
                "resolved", resolution.value, actor.username, now)
        session.flush()
        if record.status == "exception":
            new_codes = _recheck(session, actor, record, now)
        value = getattr(record, exc.field) if exc.field else None
        entry = audit.record(session, actor, "production.resolve_exception", "comparison_exception", exc.id, before,
                             {"resolution": resolution.value, "reason_code": exc.reason_code,
                              "record_status": record.status, "value": value, "card_no": record.card_no})
        return ResolveOut(exception=ExceptionOut.model_validate(exc), record_status=record.status,
                          card_no=record.card_no, new_exceptions=new_codes, audit_seq=entry.seq)


def _recheck(session: Session, actor: Actor, record: CollectedRecord, now: dt.datetime) -> list[str]:
    """After a correction: exceptions the check no longer finds are cleared, new findings queued, and a
    record with nothing open left is approved."""
    found = {r["reason_code"]: r for r in _check(session, [record.id]).to_pylist()}
    still_open = 0
    for each in session.execute(select(ComparisonException).where(
            ComparisonException.record_id == record.id, ComparisonException.status == "open")).scalars():
        if each.reason_code in found:
            found.pop(each.reason_code)
            still_open += 1
        elif each.reason_code in compare.REASONS:  # service refusals (e.g. APPLICATION_PENDING) stay for a person
            each.status, each.resolution = "resolved", "cleared"
            each.resolved_by, each.resolved_at = actor.username, now
        else:
            still_open += 1
    for row in found.values():
        session.add(ComparisonException(**row, status="open"))
    if still_open or found:
        return sorted(found)
    return _approve(session, actor, record)


def import_errors(db: Database, actor: Actor, import_id: int) -> list[RowErrorOut]:
    actor.require(Permission.PRODUCTION_IMPORT)
    with db.unit_of_work() as session:
        rows = session.execute(select(ImportRowError).where(ImportRowError.import_id == import_id)
                               .order_by(ImportRowError.row_no)).scalars()
        return [RowErrorOut(row_no=r.row_no, code=r.code, reason=r.reason) for r in rows]


PHOTO_MAX_BYTES = 2 * 1024 * 1024


def photo_image(db: Database, actor: Actor, id_number: str, root: Path) -> tuple[bytes, str] | None:
    """The newest collected photo of the person as (bytes, media type), read from ``root`` (the directory the
    collection's photo references are relative to); None when none was collected, or its file is missing, outside
    ``root``, too large or not a JPEG or PNG. Audited as a read of the person's data."""
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        ref = session.execute(
            select(CollectedRecord.photo_ref)
            .where(CollectedRecord.id_number == id_number, CollectedRecord.photo_ref.is_not(None))
            .order_by(CollectedRecord.id.desc()).limit(1)).scalar()
        audit.record(session, actor, "production.photo_image_read", "person", idnumber.mask(id_number))
    if not ref:
        return None
    base = root.resolve()
    path = (base / ref).resolve()
    try:
        if not path.is_relative_to(base) or not path.is_file() or path.stat().st_size > PHOTO_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    return None


def photo_of(db: Database, actor: Actor, id_number: str) -> tuple[int, int] | None:
    """The size (width, height) of the newest collected photo of the person, or None when none was collected."""
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        row = session.execute(
            select(CollectedRecord.photo_width, CollectedRecord.photo_height)
            .where(CollectedRecord.id_number == id_number, CollectedRecord.photo_ref.is_not(None))
            .order_by(CollectedRecord.id.desc()).limit(1)).first()
        audit.record(session, actor, "production.photo_read", "person", idnumber.mask(id_number))
        return (int(row[0] or 0), int(row[1] or 0)) if row else None
