"""Importing a feed file: check it whole (``formats``), refuse a re-sent or out-of-order one, then apply every line
in one transaction with the file's record, each line's outcome and the audit record — or, on any refusal,
nothing (docs/exchange-feeds.md).

What the lines do, each through the owning package's public functions:

- ``DEATH`` (public security): the card cancelled through the cards flow (which records the death in the
  registry), the monthly benefits ended with the month of death and months after it already paid turned into
  recoveries with a ledger receivable (``funds.benefits.recovery``), a funeral grant and (for a pensioner) a
  survivor benefit opened for review; cross-checked with a cremation record if civil affairs sent one.
- ``IDCHG``: the person's number corrected in the registry, the old one kept as an alias that still finds them.
- ``NAME``: the name changed in the registry and the card exchange (换卡, reason 信息变更) opened.
- ``MOVE``: a move out of the city recorded for review (the card stays valid; the insurance relationship moves
  only on the person's transfer application).
- ``CREM`` (civil affairs): the second death source; agreement confirms, a disagreement or a cremation of a
  person public security did not report dead goes to the exceptions queue (a supervisor may apply the death).
- ``LIST``: 低保 / 特困 / severe disability → the residents' contributions paid by the government from that month.
- ``STU`` (education): the student registered if new, a card applied for through the school (bulk, like an
  employer's), the guardian recorded with the application.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.cards.states import CancelReason, Source
from sscard.db import Database
from sscard.errors import DomainError
from sscard.exchange.feeds import formats
from sscard.exchange.feeds.errors import (
    FeedDuplicate,
    FeedExceptionClosed,
    FeedExceptionNotFound,
    FeedOutOfOrder,
    FeedRejected,
)
from sscard.exchange.feeds.formats import Envelope, FeedFile, Line
from sscard.exchange.feeds.models import DeathReport, FeedCase, FeedFileRecord, FeedLine, StudentApplication
from sscard.exchange.feeds.schemas import CaseOut, FileOut, ImportOut
from sscard.funds.benefits import recovery
from sscard.funds.contributions import government
from sscard.kms.partners import PartnerKeys
from sscard.policy import service as policy
from sscard.policy.errors import PolicyMissing
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonNotFound
from sscard.registry.models import Person
from sscard.registry.schemas import LivingStatus, PersonIn

APPLIED, SKIPPED, EXCEPTION = "applied", "skipped", "exception"
FUNERAL_GRANT = "benefits.funeral_grant_fen"
SURVIVOR_MONTHS = "benefits.survivor_grant_months"
_PENSION_KINDS = {"pension", "work_injury"}
CrashHook = Callable[[str], None]


def _no_crash(_point: str) -> None:
    return None


class _Outcome:
    """What applying one line decided: the outcome, its reason, the person."""

    __slots__ = ("outcome", "person_id", "reason")

    def __init__(self, outcome: str, reason: str = "", person_id: int | None = None) -> None:
        self.outcome, self.reason, self.person_id = outcome, reason, person_id


# ---------------------------------------------------------------------------------------------------- import


def check_file(db: Database, data: bytes, partner: str, keys: PartnerKeys | None = None) -> tuple[Envelope,
                                                                                               FeedFile]:
    """Everything that refuses a file, without applying it (the importer runs the same checks inside its
    transaction): the envelope, the plaintext, then re-sent and out of order against what was imported."""
    env, feed = formats.read_file(data, partner, keys)
    with db.unit_of_work() as session:
        _check_order(session, partner, env, hashlib.sha256(data).hexdigest())
    return env, feed


def import_file(db: Database, actor: Actor, data: bytes, partner: str, filename: str = "",
                keys: PartnerKeys | None = None, crash: CrashHook = _no_crash) -> ImportOut:
    """Check and apply one whole file from ``partner`` in one transaction (see the module's note). Raises a
    ``FeedRejected`` (its code says why) with nothing written."""
    actor.require(Permission.EXCHANGE_FEED_IMPORT)
    env, feed = formats.read_file(data, partner, keys)
    sha = hashlib.sha256(data).hexdigest()
    h = feed.header
    try:
        with db.unit_of_work() as session:
            _check_order(session, partner, env, sha)
            record = FeedFileRecord(partner=partner, kind=h.kind, file_id=h.file_id, seq=h.seq, sha256=sha,
                                    filename=filename[-200:] or f"{h.file_id}.feed", status="imported",
                                    line_count=len(feed.lines), operator=actor.username[:64], finished=False,
                                    received_at=clock.now())
            session.add(record)
            session.flush()
            counts = _apply(session, actor, record, feed, crash)
            record.applied, record.skipped, record.exceptions = counts
            audit.record_read(session, actor, "person.match", "exchange_feed_file", record.id,
                              f"department feed {h.kind} from {partner}", count=len(feed.lines))
            audit.record(session, actor, "exchange.feed.import", "exchange_feed_file", record.id, None,
                         {"partner": partner, "kind": h.kind, "file_id": h.file_id, "seq": h.seq, "sha256": sha,
                          "lines": len(feed.lines), "applied": counts[0], "skipped": counts[1],
                          "exceptions": counts[2]})
            crash("before_commit")
            session.flush()
            out = ImportOut(file_pk=record.id, partner=partner, kind=h.kind, file_id=h.file_id, seq=h.seq,
                            line_count=len(feed.lines), applied=counts[0], skipped=counts[1],
                            exceptions=counts[2])
    except IntegrityError as exc:  # a concurrent importer took the same file first
        raise FeedDuplicate(f"file {h.file_id} (sequence {h.seq}) was imported meanwhile") from exc
    return out


def _check_order(session: Session, partner: str, env: Envelope, sha: str) -> None:
    same = session.execute(select(FeedFileRecord.file_id, FeedFileRecord.seq).where(
        FeedFileRecord.status == "imported",
        ((FeedFileRecord.partner == partner) & ((FeedFileRecord.file_id == env.file_id)
                                                | (FeedFileRecord.seq == env.seq)))
        | (FeedFileRecord.sha256 == sha)).limit(1)).first()
    if same is not None:
        raise FeedDuplicate(f"file {same[0]} (sequence {same[1]}) was imported already", file_id=same[0],
                            seq=same[1])
    last = session.execute(select(func.max(FeedFileRecord.seq)).where(
        FeedFileRecord.partner == partner, FeedFileRecord.status == "imported")).scalar_one_or_none() or 0
    if env.seq != last + 1:
        raise FeedOutOfOrder(f"sequence {env.seq} arrived, {last + 1} is next", expected=last + 1, seq=env.seq)


def _apply(session: Session, actor: Actor, record: FeedFileRecord, feed: FeedFile,
           crash: CrashHook) -> tuple[int, int, int]:
    counts = {APPLIED: 0, SKIPPED: 0, EXCEPTION: 0}
    source = f"{record.partner}:{record.file_id}"
    if feed.header.kind == "ROLL":
        outcomes = _apply_roll(session, actor, record, feed.lines)
    else:
        outcomes = {}
        for line in feed.lines:
            try:
                with session.begin_nested():
                    outcomes[line.line_no] = _APPLY[line.type](session, actor, record, line, source)
            except DomainError as err:  # an unexpected refusal of one line: queued, the rest goes on
                outcomes[line.line_no] = _case(session, "exception", err.code[:40], None, record, line,
                                               err.message_en[:300])
            if line.line_no == max(1, len(feed.lines) // 2):
                crash("mid_file")
    for line in feed.lines:
        o = outcomes[line.line_no]
        counts[o.outcome] += 1
        session.add(FeedLine(file_pk=record.id, line_no=line.line_no, type=line.type, person_id=o.person_id,
                             outcome=o.outcome, reason=o.reason[:40]))
    session.flush()
    return counts[APPLIED], counts[SKIPPED], counts[EXCEPTION]


def _case(session: Session, queue: str, code: str, person_id: int | None, record: FeedFileRecord, line: Line,
          detail: str = "", amount: int | None = None) -> _Outcome:
    session.add(FeedCase(queue=queue, reason_code=code, person_id=person_id, file_pk=record.id,
                         line_no=line.line_no, detail=detail[:300], amount_fen=amount, status="open"))
    return _Outcome(EXCEPTION if queue == "exception" else APPLIED, code, person_id)


def _person(session: Session, raw: str) -> Person | None:
    try:
        return registry.find_by_id_number(session, raw)
    except PersonNotFound:
        return None


def _same_name(person: Person, name: str) -> bool:
    return person.name == registry.normalise_name(name)


# ---------------------------------------------------------------------------------------------------- public security


def _death(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    number, name, day = line.fields
    person = _person(session, number)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if not _same_name(person, name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line,
                     "the death names another person than the register holds under this number")
    death_date = formats.parse_date(day)
    if session.get(DeathReport, (person.id, "PSB")) is not None:
        return _Outcome(SKIPPED, "ALREADY_REPORTED", person.id)
    session.add(DeathReport(person_id=person.id, source="PSB", death_date=death_date, file_pk=record.id,
                            line_no=line.line_no))
    cremation = session.get(DeathReport, (person.id, "CIVIL"))
    if cremation is not None and cremation.death_date != death_date:
        _case(session, "exception", "DEATH_DATE_MISMATCH", person.id, record, line,
              f"public security {death_date.isoformat()}, cremation record {cremation.death_date.isoformat()}")
    apply_death_in(session, actor, person, death_date, source, record, line)
    return _Outcome(APPLIED, "DECEASED", person.id)


def apply_death_in(session: Session, actor: Actor, person: Person, death_date: dt.date, source: str,
                   record: FeedFileRecord, line: Line) -> recovery.DeathStop:
    """A death reaches the card and the money, in the caller's transaction (the module's note)."""
    cards.cancel_person_cards_in(session, actor, person.id, CancelReason.DEATH)
    stop = recovery.stop_for_death_in(session, actor, person.id, death_date, source)
    grant = _policy(session, FUNERAL_GRANT, death_date)
    _case(session, "review", "FUNERAL_GRANT", person.id, record, line,
          f"丧葬补助金 for the death on {death_date.isoformat()}", grant)
    if _PENSION_KINDS & set(stop.kinds):
        months = _policy(session, SURVIVOR_MONTHS, death_date)
        monthly = _last_amount(session, person.id)
        amount = months * monthly if months is not None and monthly is not None else None
        _case(session, "review", "SURVIVOR_BENEFIT", person.id, record, line,
              f"遗属待遇 (抚恤金): {months or '?'} months of the last benefit", amount)
    if stop.recoveries:
        _case(session, "review", "OVERPAYMENT_RECOVERY", person.id, record, line,
              f"多发追回: {len(stop.recoveries)} months after the death already paid", stop.recoverable_fen)
    return stop


def _policy(session: Session, name: str, on: dt.date) -> int | None:
    try:
        return policy.get_int(session, name, on)
    except PolicyMissing:
        return None


def _last_amount(session: Session, person_id: int) -> int | None:
    from sscard.funds.benefits.models import Entitlement, EntitlementAmount

    row = session.execute(select(EntitlementAmount.amount).join(
        Entitlement, Entitlement.id == EntitlementAmount.entitlement_id).where(
        Entitlement.person_id == person_id, Entitlement.kind.in_(sorted(_PENSION_KINDS)))
        .order_by(EntitlementAmount.from_period.desc(), EntitlementAmount.version.desc()).limit(1)).first()
    return int(row[0]) if row is not None else None


def _id_change(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    old, new, name = line.fields
    person = _person(session, old)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if person.id_number == idnumber.parse(new).value:
        return _Outcome(SKIPPED, "ALREADY_CORRECTED", person.id)
    if not _same_name(person, name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line,
                     "the correction names another person than the register holds under the old number")
    holder = _person(session, new)
    if holder is not None and holder.id != person.id:
        return _case(session, "exception", "ID_NUMBER_CONFLICT", person.id, record, line,
                     f"the new number is person {holder.id}'s: two records of one person (一人多号) to merge")
    registry.correct_id_number_in(session, actor, person.id, new, source)
    return _Outcome(APPLIED, "ID_CORRECTED", person.id)


def _name_change(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    number, old_name, new_name = line.fields
    person = _person(session, number)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if _same_name(person, new_name):
        return _Outcome(SKIPPED, "ALREADY_CHANGED", person.id)
    if not _same_name(person, old_name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line,
                     "the old name is not the name the register holds")
    registry.change_name_in(session, actor, person.id, new_name, source)
    try:
        with session.begin_nested():
            applied = cards.apply_data_change_exchange_in(session, actor, person.id,
                                                          f"feed:{source}:{line.line_no}"[:100])
    except DomainError as err:  # e.g. an application already open: the operator opens the exchange later
        return _case(session, "exception", "EXCHANGE_NOT_OPENED", person.id, record, line,
                     f"name changed; the card exchange was refused: {err.code}")
    return _Outcome(APPLIED, "EXCHANGE_OPENED" if applied is not None else "NAME_CHANGED", person.id)


def _move(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    number, name, day, dest = line.fields
    person = _person(session, number)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if not _same_name(person, name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line, "another name")
    moved_on = formats.parse_date(day)
    before = registry.record_move_out_in(session, actor, person.id, dest, moved_on, source)
    return _case(session, "review", "MOVED_OUT", person.id, record, line,
                 f"户籍迁出 on {moved_on.isoformat()} from {before} to {dest}: the card stays valid; the "
                 "insurance relationship moves on the person's transfer application")


# ---------------------------------------------------------------------------------------------------- civil affairs


def _cremation(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    number, name, death_day, cremation_day = line.fields
    person = _person(session, number)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if not _same_name(person, name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line, "another name")
    death_date = formats.parse_date(death_day)
    if session.get(DeathReport, (person.id, "CIVIL")) is not None:
        return _Outcome(SKIPPED, "ALREADY_REPORTED", person.id)
    session.add(DeathReport(person_id=person.id, source="CIVIL", death_date=death_date,
                            cremation_date=formats.parse_date(cremation_day), file_pk=record.id,
                            line_no=line.line_no))
    psb = session.get(DeathReport, (person.id, "PSB"))
    if psb is None:
        return _case(session, "exception", "NOT_REPORTED_DEAD", person.id, record, line,
                     f"cremation record of a death on {death_date.isoformat()}; public security has not "
                     "reported it (the register still has the person alive)")
    if psb.death_date != death_date:
        return _case(session, "exception", "DEATH_DATE_MISMATCH", person.id, record, line,
                     f"public security {psb.death_date.isoformat()}, cremation record {death_date.isoformat()}")
    return _Outcome(APPLIED, "CONFIRMED", person.id)


def _assistance(session: Session, actor: Actor, record: FeedFileRecord, line: Line, source: str) -> _Outcome:
    number, name, category, start, end = line.fields
    person = _person(session, number)
    if person is None:
        return _Outcome(SKIPPED, "NO_PERSON")
    if not _same_name(person, name):
        return _case(session, "exception", "NAME_MISMATCH", person.id, record, line, "another name")
    if person.living_status != LivingStatus.ALIVE.value:
        return _Outcome(SKIPPED, "NOT_ALIVE", person.id)
    government.designate_in(session, actor, person, formats.ASSIST_CATEGORIES[category],
                            formats.parse_month(start), formats.parse_month(end) if end else None, source)
    return _Outcome(APPLIED, "GOVERNMENT_PAYS", person.id)


# ---------------------------------------------------------------------------------------------------- education


def _apply_roll(session: Session, actor: Actor, record: FeedFileRecord, lines: list[Line]) -> dict[int, _Outcome]:
    outcomes: dict[int, _Outcome] = {}
    by_school: dict[str, list[tuple[Line, Person]]] = defaultdict(list)
    for line in lines:
        number, name, region, school, _g_id, _g_name, _g_phone = line.fields
        try:
            with session.begin_nested():
                person = _person(session, number)
                if person is None:
                    person = registry.register_in(session, actor, PersonIn(id_number=number, name=name,
                                                                           region_code=region))
        except DomainError as err:
            outcomes[line.line_no] = _case(session, "exception", err.code[:40], None, record, line,
                                           err.message_en[:300])
            continue
        if not _same_name(person, name):
            outcomes[line.line_no] = _case(session, "exception", "NAME_MISMATCH", person.id, record, line,
                                           "another name")
            continue
        by_school[school].append((line, person))
    for school, rows in sorted(by_school.items()):
        results = cards.apply_bulk_in(session, actor, school, [p for _, p in rows], Source.SCHOOL)
        for (line, person), result in zip(rows, results, strict=True):
            if isinstance(result, DomainError):
                outcomes[line.line_no] = _Outcome(SKIPPED, result.code, person.id)
                continue
            _n, _name, _r, _s, g_id, g_name, g_phone = line.fields
            session.add(StudentApplication(application_id=result.application.id, person_id=person.id,
                                           school_uscc=school, guardian_id_number=idnumber.parse(g_id).value,
                                           guardian_name=registry.normalise_name(g_name),
                                           guardian_phone=g_phone or None, file_pk=record.id,
                                           line_no=line.line_no))
            outcomes[line.line_no] = _Outcome(APPLIED, "APPLIED", person.id)
    session.flush()
    return outcomes


_APPLY: dict[str, Callable[[Session, Actor, FeedFileRecord, Line, str], _Outcome]] = {
    "DEATH": _death, "IDCHG": _id_change, "NAME": _name_change, "MOVE": _move,
    "CREM": _cremation, "LIST": _assistance,
}


# ---------------------------------------------------------------------------------------------------- records


def record_rejected(db: Database, actor: Actor, partner: str, data: bytes, filename: str,
                    err: FeedRejected) -> FileOut:
    """A refused file's record (its code and reason) and the audit record; nothing of the file is applied."""
    actor.require(Permission.EXCHANGE_FEED_IMPORT)
    env = formats.peek(data)
    with db.unit_of_work() as session:
        row = FeedFileRecord(partner=partner[:24], kind=None, file_id=env.file_id if env else None,
                             seq=env.seq if env else None, sha256=hashlib.sha256(data).hexdigest(),
                             filename=filename[-200:], status="rejected", code=err.code,
                             reason=(err.detail or err.message_en)[:300], operator=actor.username[:64],
                             finished=True, received_at=clock.now())
        session.add(row)
        session.flush()
        audit.record(session, actor, "exchange.feed.reject", "exchange_feed_file", row.id, None,
                     {"partner": partner, "file": filename[-200:], "code": err.code, "sha256": row.sha256})
        return FileOut.model_validate(row)


def unfinished(db: Database, partner: str, sha: str) -> FeedFileRecord | None:
    """An imported file whose spool step did not finish (a crash after the commit)."""
    with db.unit_of_work() as session:
        row = session.execute(select(FeedFileRecord).where(
            FeedFileRecord.partner == partner, FeedFileRecord.sha256 == sha, FeedFileRecord.status == "imported",
            FeedFileRecord.finished.is_(False))).scalar_one_or_none()
        if row is not None:
            session.expunge(row)
        return row


def mark_finished(db: Database, file_pk: int) -> None:
    with db.unit_of_work() as session:
        row = session.get_one(FeedFileRecord, file_pk)
        row.finished = True


def line_outcomes(db: Database, file_pk: int) -> list[tuple[int, str, str]]:
    with db.unit_of_work() as session:
        return [(n, o, r) for n, o, r in session.execute(
            select(FeedLine.line_no, FeedLine.outcome, FeedLine.reason).where(FeedLine.file_pk == file_pk)
            .order_by(FeedLine.line_no))]


def files(db: Database, actor: Actor, partner: str | None = None, status: str | None = None,
          limit: int = 100) -> list[FileOut]:
    actor.require(Permission.EXCHANGE_FEED_READ)
    with db.unit_of_work() as session:
        query = select(FeedFileRecord).order_by(FeedFileRecord.id.desc()).limit(min(limit, 1000))
        if partner:
            query = query.where(FeedFileRecord.partner == partner)
        if status:
            query = query.where(FeedFileRecord.status == status)
        return [FileOut.model_validate(r) for r in session.execute(query).scalars()]


def cases(db: Database, actor: Actor, queue: str | None = None, status: str | None = "open",
          limit: int = 200) -> list[CaseOut]:
    actor.require(Permission.EXCHANGE_FEED_READ)
    with db.unit_of_work() as session:
        query = select(FeedCase).order_by(FeedCase.id).limit(min(limit, 1000))
        if queue:
            query = query.where(FeedCase.queue == queue)
        if status:
            query = query.where(FeedCase.status == status)
        found = [CaseOut.model_validate(r) for r in session.execute(query).scalars()]
        for case in found:  # who each case is about: the name and the masked ID number, as the counter shows them
            if case.person_id is not None:
                person = registry.find_by_person_id(session, case.person_id)
                case.person_name, case.id_masked = person.name, idnumber.mask(person.id_number)
        audit.record_read(session, actor, "exchange.feed.cases_read", "exchange_feed_case", "*",
                          "feed exceptions and reviews", rows=len(found))
        return found


def guardians(db: Database, actor: Actor, person_id: int) -> list[StudentApplication]:
    """The school applications of a student with the guardian their roll named."""
    actor.require(Permission.EXCHANGE_FEED_READ)
    with db.unit_of_work() as session:
        rows = list(session.execute(select(StudentApplication).where(StudentApplication.person_id == person_id)
                                    .order_by(StudentApplication.application_id)).scalars())
        for r in rows:
            session.expunge(r)
        audit.record_read(session, actor, "exchange.feed.guardian_read", "person", person_id,
                          "guardian of a school card application", rows=len(rows))
        return rows


def resolve(db: Database, actor: Actor, case_id: int, resolution: str) -> CaseOut:
    """Close a case: ``dismiss`` (nothing to do), ``done`` (handled elsewhere), or for a cremation of a person
    public security did not report dead, ``apply_death`` (a supervisor confirmed the death: it is applied with
    the cremation record's date, as a public-security death would be)."""
    actor.require(Permission.EXCHANGE_FEED_RESOLVE)
    if resolution not in ("dismiss", "done", "apply_death"):
        raise FeedExceptionClosed(f"unknown resolution {resolution[:20]!r}")
    with db.unit_of_work() as session:
        case = session.get(FeedCase, case_id, with_for_update=True)
        if case is None:
            raise FeedExceptionNotFound(str(case_id))
        if case.status != "open":
            raise FeedExceptionClosed(str(case_id))
        if resolution == "apply_death":
            if case.reason_code != "NOT_REPORTED_DEAD" or case.person_id is None:
                raise FeedExceptionClosed("only a cremation not reported dead can apply a death")
            report = session.get_one(DeathReport, (case.person_id, "CIVIL"))
            record = session.get_one(FeedFileRecord, case.file_pk)
            line = Line(case.line_no, "CREM", ())
            apply_death_in(session, actor, session.get_one(Person, case.person_id), report.death_date,
                           f"{record.partner}:{record.file_id}:confirmed", record, line)
        case.status, case.resolution = "resolved", resolution
        case.resolved_by, case.resolved_at = actor.username[:64], clock.now()
        audit.record(session, actor, "exchange.feed.case_resolved", "exchange_feed_case", case.id,
                     {"status": "open"}, {"status": "resolved", "resolution": resolution})
        session.flush()
        return CaseOut.model_validate(case)
