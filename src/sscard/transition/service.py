"""The move from the old medical cards (处理好现有医保卡和社会保障卡过渡衔接工作): import the old system's card
register with its personal medical account balances, match each old card to a person, carry each balance into
the person's new personal medical account, report that the old total equals the new total to the fen, and tell
the hospitals who an old card number belongs to during the transition window (docs/transition.md).

One import is one transaction: the file is checked whole first (``legacy_file``), then matched, recorded,
carried (one balanced ledger transfer per card with a balance, ``legacy:<source>:<card>`` from
``chart.LegacyTransition(source)`` to ``chart.PersonalMedical(person)``, posted in bulk) and audited — or,
on any refusal, nothing of it is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from sqlalchemy import case, column, func, insert, literal, null, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.bulksql import copy_blocks, copy_text, fetch_all, no_gc
from sscard.db import Database
from sscard.kms.partners import PartnerKeys
from sscard.ledger import bulk, chart
from sscard.ledger import service as ledger
from sscard.ledger.bulk import BulkTransfer
from sscard.policy import service as policy
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonDeceased
from sscard.registry.schemas import LivingStatus
from sscard.transition import legacy_file
from sscard.transition.errors import (
    LegacyCardAlreadyImported,
    LegacyCardConflict,
    LegacyCardNotFound,
    LegacyCardNotUsable,
    LegacyCardUnmatched,
    LegacyCardWindowClosed,
    LegacyExceptionNotFound,
    LegacyFileDuplicate,
    LegacyFileDuplicateLine,
    LegacyImportNotFound,
)
from sscard.transition.models import LegacyCard, LegacyImport
from sscard.transition.schemas import ExceptionOut, ImportOut, ReportOut, ResolvedOut, WindowOut

TRANSFER_CODE = "transition.legacy_balance"  # the ledger reason of every carried balance
WINDOW_FROM = "transition.legacy_window_from"
WINDOW_UNTIL = "transition.legacy_window_until"
CARRIED, EXCEPTION = "carried", "exception"
NO_PERSON, ID_INVALID, DECEASED = "NO_PERSON", "ID_INVALID", "PERSON_DECEASED"
_CHECK_CHUNK = 50_000
_COLUMNS = ("legacy_card_no", "import_id", "line_no", "id_number", "name", "balance_fen", "legacy_status",
            "person_id", "state", "reason")

Progress = Callable[[str], None]


def transfer_id(source: str, legacy_card_no: str) -> str:
    """The idempotency key of a card's carried balance: a balance moves once, whatever is retried."""
    return f"legacy:{source}:{legacy_card_no}"


def mask_card(number: str) -> str:
    """An old card number as shown in pages and reports: its first two and last two characters."""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


# ---------------------------------------------------------------------------------------------------- import


def import_file(db: Database, actor: Actor, data: bytes, source: str | None = None,
                keys: PartnerKeys | None = None, progress: Progress | None = None) -> ImportOut:
    """Check, match, record and carry a whole LMC1 file in one transaction (see the module's note).

    ``source``: the old system the file is expected from (its key must have made the MAC; default the one
    the header names). Refusals: every ``LegacyFileRejected`` code, LEGACY_FILE_DUPLICATE (the file id or
    content was imported already), LEGACY_CARD_ALREADY_IMPORTED / LEGACY_CARD_CONFLICT (an old card of an
    earlier file, with the same or another ID number).

    PostgreSQL (``_record_staged``): the file is read a chunk at a time, each chunk checked and COPYed into a
    scratch table while the next is read, and matched, recorded, carried and counted there in set-wise
    statements — no object per card in this process, whatever the file's size. SQLite (``_record_plain``): the
    file is read whole and matched in pages (the same results, for the sizes SQLite serves)."""
    actor.require(Permission.TRANSITION_IMPORT)
    say = progress or (lambda _step: None)
    opened = legacy_file.open_file(data, keys, source)
    say("checked (MAC, checksum, header, trailer)")
    h = opened.header
    with db.unit_of_work() as session:
        _refuse_duplicate(session, h.file_id, opened.checksum)
        imp = LegacyImport(source=h.source, file_id=h.file_id, checksum=opened.checksum,
                           as_of=dt.date(int(h.as_of[:4]), int(h.as_of[4:6]), int(h.as_of[6:])),
                           encoding=h.encoding, line_count=h.count, total_fen=h.total,
                           carried_count=0, carried_fen=0, exception_count=h.count, exception_fen=h.total,
                           imported_by=actor.username[:64], imported_at=clock.now())
        session.add(imp)
        session.flush()
        if session.get_bind().dialect.name == "postgresql":
            carried_count, carried_fen = _record_staged(session, actor, opened, imp.id, say)
        else:
            carried_count, carried_fen = _record_plain(session, actor, opened, imp.id, say)
        imp.carried_count, imp.carried_fen = carried_count, carried_fen
        imp.exception_count, imp.exception_fen = h.count - carried_count, h.total - carried_fen
        account = chart.LegacyTransition(h.source)
        chart.open_account(session, account)
        posted, opened_now = _carry(session, imp.id, h.source, h.file_id, account)
        say("balances carried (accounts opened with them)")
        opened_now += chart.open_personal_medical_selected(session, select(LegacyCard.person_id).where(
            LegacyCard.import_id == imp.id, LegacyCard.state == CARRIED, LegacyCard.balance_fen == 0))
        say("accounts of zero balances opened")
        audit.record_read(session, actor, "person.match", "legacy_import", imp.id, "legacy medical card migration",
                          count=h.count, matched=carried_count)
        record = audit.record(session, actor, "transition.import", "legacy_import", imp.id, None,
                              {"source": h.source, "file_id": h.file_id, "checksum": opened.checksum,
                               "lines": h.count, "total_fen": h.total, "carried": carried_count,
                               "carried_fen": carried_fen, "exceptions": h.count - carried_count,
                               "exception_fen": h.total - carried_fen, "transfers": posted})
        session.flush()
        return ImportOut(import_id=imp.id, source=h.source, file_id=h.file_id, as_of=imp.as_of,
                         encoding=h.encoding, line_count=imp.line_count, total_fen=imp.total_fen,
                         carried_count=imp.carried_count, carried_fen=imp.carried_fen,
                         exception_count=imp.exception_count, exception_fen=imp.exception_fen,
                         accounts_opened=opened_now, transfers_posted=posted, audit_seq=record.seq)


# The file's detail lines as they stand (``C|line|card|id|name|balance|status`` with ``|`` made a tab): a temporary
# table of this transaction only, no index, nothing logged — the match and the register are made from it.
_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS transition_stage (tag VARCHAR(1) NOT NULL, line_no INTEGER NOT NULL, "
          "legacy_card_no VARCHAR(20) NOT NULL, id_number VARCHAR(18) NOT NULL, name VARCHAR(50) NOT NULL, "
          "balance_fen BIGINT NOT NULL, legacy_status VARCHAR(1) NOT NULL) ON COMMIT DROP")
_STAGED = table("transition_stage", column("line_no"), column("legacy_card_no"), column("id_number"),
                column("name"), column("balance_fen"), column("legacy_status"))
# Sorting and hashing millions of staged rows in memory rather than in temporary files (this transaction only).
_MEMORY = "SELECT set_config('work_mem', '256MB', true)"


def _stage_blocks(opened: legacy_file.Opened) -> Iterator[str]:
    """Each checked chunk as COPY text: the file's own text with ``|`` made a tab — one ``str.replace`` a
    chunk, no string per field — unless an ID number was normalised (then the fields are joined again)."""
    for chunk in legacy_file.read_chunks(opened):
        if chunk.as_written:
            yield chunk.text.replace(legacy_file.SEP, "\t")
        else:
            yield "".join(f"C\t{no}\t{card}\t{number}\t{name}\t{balance}\t{status}\n"
                          for no, card, number, name, balance, status in zip(
                              range(chunk.first, chunk.first + len(chunk)), chunk.cards, chunk.id_numbers,
                              chunk.names, chunk.balances, chunk.statuses, strict=True))


def _record_staged(session: Session, actor: Actor, opened: legacy_file.Opened, import_id: int, say: Progress
                   ) -> tuple[int, int]:
    """PostgreSQL: stage the checked lines (COPY, the next chunk parsed while one is sent), then write the
    register in one ``INSERT … SELECT`` joining the registry's ID numbers (``registry.id_number_matches``, aliases
    included) and counting what was carried. A card given twice in the file or taken by an earlier file breaks
    the register's primary key: the statement is undone and the first such line named. Returns (carried
    cards, their fen)."""
    session.execute(text(_STAGE))
    session.execute(text("TRUNCATE transition_stage"))
    with no_gc():
        copy_blocks(session, "transition_stage", ("tag", "line_no", "legacy_card_no", "id_number", "name",
                                                  "balance_fen", "legacy_status"), _stage_blocks(opened),
                    overlap=True)
    say("parsed, checked and staged")
    session.execute(text("ANALYZE transition_stage"))
    session.execute(text(_MEMORY))
    s = _STAGED.c
    found = registry.id_number_matches(actor)
    alive = LivingStatus.ALIVE.value
    state = case((found.c.living_status == alive, literal(CARRIED)), else_=literal(EXCEPTION))
    reason = case((found.c.person_id.is_(None),
                   case((idnumber.check_digit_ok_sql(s.id_number), literal(NO_PERSON)), else_=literal(ID_INVALID))),
                  (found.c.living_status != alive, literal(DECEASED)), else_=null())
    rows = (select(s.legacy_card_no, literal(import_id), s.line_no, s.id_number, s.name, s.balance_fen,
                   s.legacy_status, found.c.person_id, state, reason)
            .select_from(_STAGED.outerjoin(found, found.c.id_number == s.id_number)))
    written = (insert(LegacyCard).from_select(list(_COLUMNS), rows)
               .returning(LegacyCard.state, LegacyCard.balance_fen).cte("written"))
    split = select(written.c.state, func.count(), func.coalesce(func.sum(written.c.balance_fen), 0)).group_by(
        written.c.state)
    try:
        with session.begin_nested():
            counted = {str(st): (int(c), int(f)) for st, c, f in session.execute(split)}
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == "pk_transition_cards":
            _refuse_staged_duplicates(session)
        raise
    say("matched and recorded")
    return counted.get(CARRIED, (0, 0))


def _refuse_staged_duplicates(session: Session) -> None:
    """The first line whose card came before (in this file, then in an earlier one), refused as
    ``legacy_file`` and ``_refuse_known_cards`` would."""
    twice = session.execute(text(
        "SELECT d.first, f.id_number, d.line_no, d.id_number FROM (SELECT line_no, id_number, "
        "min(line_no) OVER (PARTITION BY legacy_card_no) AS first FROM transition_stage) d "
        "JOIN transition_stage f ON f.line_no = d.first WHERE d.line_no > d.first ORDER BY d.line_no LIMIT 1"
    )).first()
    if twice is not None:
        first, first_number, line, number = twice
        if first_number != number:
            raise LegacyCardConflict(f"lines {first} and {line}: one legacy card is claimed by two ID numbers "
                                     f"({idnumber.mask(first_number)}, {idnumber.mask(number)})")
        raise LegacyFileDuplicateLine(f"lines {first} and {line}: the same legacy card twice")
    earlier = session.execute(text(
        "SELECT s.line_no, s.id_number, c.id_number FROM transition_stage s "
        "JOIN transition_cards c ON c.legacy_card_no = s.legacy_card_no ORDER BY s.line_no LIMIT 1")).first()
    if earlier is not None:
        line, number, recorded = earlier
        if recorded != number:
            raise LegacyCardConflict(f"line {line}: the legacy card was recorded for another person "
                                     f"({idnumber.mask(recorded)}) by an earlier file")
        raise LegacyCardAlreadyImported(f"line {line}: the legacy card was migrated by an earlier file")


def _record_plain(session: Session, actor: Actor, opened: legacy_file.Opened, import_id: int, say: Progress
                  ) -> tuple[int, int]:
    """SQLite: the file's columns in memory, matched in pages (``registry.persons_by_id_numbers_in``), the
    register written by ``copy_text`` (an ``executemany``). Returns (carried cards, their fen)."""
    parsed = legacy_file.parse_opened(opened)
    say("parsed")
    _refuse_known_cards(session, parsed)
    matched = registry.persons_by_id_numbers_in(session, actor, parsed.id_numbers)
    say("matched")
    with no_gc():
        person_ids, states, reasons = _classify(parsed.id_numbers, matched)
    carried = [i for i, s in enumerate(states) if s == CARRIED]
    _insert_cards(session, import_id, parsed, person_ids, states, reasons)
    say("cards recorded")
    return len(carried), sum(parsed.balances[i] for i in carried)


def _refuse_duplicate(session: Session, file_id: str, checksum: str) -> None:
    found = session.execute(select(LegacyImport.file_id).where(
        (LegacyImport.file_id == file_id) | (LegacyImport.checksum == checksum))).first()
    if found is not None:
        raise LegacyFileDuplicate(f"file {found[0]} was imported already", file_id=found[0])


def _refuse_known_cards(session: Session, parsed: legacy_file.LegacyFile) -> None:
    """No old card is taken twice: one already recorded by an earlier file refuses this one (skipped while
    the register is empty, as it is for the first, big file)."""
    if session.execute(select(LegacyCard.legacy_card_no).limit(1)).first() is None:
        return
    index = {card: i for i, card in enumerate(parsed.cards)}
    cards = list(index)
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(cards), _CHECK_CHUNK if postgres else 500):
        chunk = cards[start:start + (_CHECK_CHUNK if postgres else 500)]
        if postgres:
            rows = fetch_all(session, "SELECT legacy_card_no, id_number FROM transition_cards "
                                      "WHERE legacy_card_no = ANY(?)", (chunk,))
        else:
            rows = fetch_all(session, "SELECT legacy_card_no, id_number FROM transition_cards "
                                      f"WHERE legacy_card_no IN ({', '.join('?' * len(chunk))})", chunk)
        for card, number in sorted(rows):
            i = index[card]
            if number != parsed.id_numbers[i]:
                raise LegacyCardConflict(f"line {i + 1}: the legacy card was recorded for another person "
                                         f"({idnumber.mask(number)}) by an earlier file")
            raise LegacyCardAlreadyImported(f"line {i + 1}: the legacy card was migrated by an earlier file")


def _classify(numbers: Sequence[str], matched: dict[str, tuple[int, str]]
              ) -> tuple[list[int | None], list[str], list[str | None]]:
    alive = LivingStatus.ALIVE.value
    person_ids: list[int | None] = []
    states: list[str] = []
    reasons: list[str | None] = []
    for number in numbers:
        found = matched.get(number)
        if found is not None and found[1] == alive:
            person_ids.append(found[0])
            states.append(CARRIED)
            reasons.append(None)
            continue
        person_ids.append(found[0] if found is not None else None)
        states.append(EXCEPTION)
        if found is not None:
            reasons.append(DECEASED)
        else:
            reasons.append(NO_PERSON if idnumber.check_digit(number[:17]) == number[17] else ID_INVALID)
    return person_ids, states, reasons


def _insert_cards(session: Session, import_id: int, parsed: legacy_file.LegacyFile, person_ids: list[int | None],
                  states: list[str], reasons: list[str | None]) -> None:
    """COPY text lines (PostgreSQL; an executemany on SQLite), formatted while psycopg's thread sends the ones
    before: names hold no tab or control character (the parser refused those), an empty person or reason is
    NULL."""
    with no_gc():
        lines = (f"{card}\t{import_id}\t{no}\t{number}\t{name}\t{balance}\t{status}\t{'' if pid is None else pid}"
                 f"\t{state}\t{reason or ''}\n"
                 for no, (card, number, name, balance, status, pid, state, reason) in enumerate(zip(
                     parsed.cards, parsed.id_numbers, parsed.names, parsed.balances, parsed.statuses, person_ids,
                     states, reasons, strict=True), start=1))
        copy_text(session, "transition_cards", _COLUMNS, lines, empty_is_null=True, overlap=True)


def _carry(session: Session, import_id: int, source: str, file_id: str, account: chart.LegacyTransition
           ) -> tuple[int, int]:
    """One posted transfer per carried card with a balance, selected from the register just written (on
    PostgreSQL the rows never leave the server: ``chart.credit_personal_medical_openings_selected``)."""
    before, after = transfer_id(source, "{}").split("{}")
    person_id = cast("InstrumentedAttribute[int]", LegacyCard.person_id)  # carried cards always have one (CHECK)
    query = (select(literal(before) + LegacyCard.legacy_card_no + literal(after),
                    chart.PersonalMedical.code_sql(person_id), LegacyCard.balance_fen,
                    literal(TRANSFER_CODE), literal(file_id))
             .where(LegacyCard.import_id == import_id, LegacyCard.state == CARRIED, LegacyCard.balance_fen > 0))
    done = chart.credit_personal_medical_openings_selected(session, account, query)
    return done.posted, done.opened


# ---------------------------------------------------------------------------------------------------- reports


def imports(db: Database, actor: Actor, limit: int = 100) -> list[LegacyImport]:
    """The imports, newest first (totals only: no personal data)."""
    actor.require(Permission.TRANSITION_READ)
    with db.unit_of_work() as session:
        rows = list(session.execute(select(LegacyImport).order_by(LegacyImport.id.desc())
                                    .limit(max(1, min(limit, 1000)))).scalars())
        session.expunge_all()
        return rows


def find_import(db: Database, actor: Actor, file_id: str) -> int:
    """The import id of a file id (LEGACY_IMPORT_NOT_FOUND if it was never imported)."""
    actor.require(Permission.TRANSITION_READ)
    with db.unit_of_work() as session:
        found = session.execute(select(LegacyImport.id).where(LegacyImport.file_id == file_id)).scalar_one_or_none()
    if found is None:
        raise LegacyImportNotFound(file_id[:40], file_id=file_id[:40])
    return int(found)


def report(db: Database, actor: Actor, import_id: int) -> ReportOut:
    """The reconciliation of one import: old totals = carried (as the ledger's journal has them) + queued."""
    actor.require(Permission.TRANSITION_READ)
    with db.unit_of_work() as session:
        imp = session.get(LegacyImport, import_id)
        if imp is None:
            raise LegacyImportNotFound(str(import_id), import_id=import_id)
        split = session.execute(select(LegacyCard.state, LegacyCard.reason, func.count(),
                                       func.coalesce(func.sum(LegacyCard.balance_fen), 0))
                                .where(LegacyCard.import_id == import_id)
                                .group_by(LegacyCard.state, LegacyCard.reason)).all()
        account = chart.LegacyTransition(imp.source).code
        journal_count, journal_fen = ledger.posted_from(session, account, TRANSFER_CODE, imp.file_id)
        taken_over = ledger.balance(session, account).debits_posted  # opened by every import of the source
        audit.record_read(session, actor, "transition.report", "legacy_import", import_id,
                          "legacy migration reconciliation")
        carried = [(int(c), int(f)) for state, _, c, f in split if state == CARRIED]
        queued = [(reason or "", int(c), int(f)) for state, reason, c, f in split if state == EXCEPTION]
        carried_count, carried_fen = sum(c for c, _ in carried), sum(f for _, f in carried)
        queued_count, queued_fen = sum(c for _, c, _ in queued), sum(f for *_, f in queued)
        old_count, old_fen = imp.line_count, imp.total_fen
        difference = old_fen - journal_fen - queued_fen
        reconciled = (difference == 0 and carried_fen == journal_fen and old_count == carried_count + queued_count
                      and imp.carried_fen == carried_fen and imp.exception_fen == queued_fen)
        return ReportOut(import_id=imp.id, source=imp.source, file_id=imp.file_id, as_of=imp.as_of,
                         imported_at=imp.imported_at, imported_by=imp.imported_by, old_count=old_count,
                         old_fen=old_fen, carried_count=carried_count, carried_fen=carried_fen,
                         journal_transfers=journal_count, journal_fen=journal_fen, queued_count=queued_count,
                         queued_fen=queued_fen, difference_fen=difference, transition_account=account,
                         transition_account_debit_fen=taken_over,
                         by_reason={r: (c, f) for r, c, f in queued}, reconciled=reconciled,
                         generated_at=clock.now())


def exceptions(db: Database, actor: Actor, import_id: int | None = None, limit: int = 100) -> list[ExceptionOut]:
    """The exceptions queue (masked), oldest line first."""
    actor.require(Permission.TRANSITION_READ)
    with db.unit_of_work() as session:
        query = (select(LegacyCard, LegacyImport.file_id).join(LegacyImport, LegacyImport.id == LegacyCard.import_id)
                 .where(LegacyCard.state == EXCEPTION))
        if import_id is not None:
            query = query.where(LegacyCard.import_id == import_id)
        rows = session.execute(query.order_by(LegacyCard.import_id, LegacyCard.line_no)
                               .limit(max(1, min(limit, 1000)))).all()
        audit.record_read(session, actor, "transition.exceptions.read", "legacy_import",
                          import_id if import_id is not None else "all", "legacy migration exceptions queue",
                          count=len(rows))
        return [ExceptionOut(legacy_card_no_masked=mask_card(c.legacy_card_no),
                             id_number_masked=idnumber.mask(c.id_number), name_masked=registry.mask_name(c.name),
                             balance_fen=c.balance_fen, reason=c.reason or "", file_id=file_id, line_no=c.line_no)
                for c, file_id in rows]


def resolve(db: Database, actor: Actor, import_id: int, line_no: int, id_number: str) -> ResolvedOut:
    """A supervisor who checked the holder's documents names the person of a queued old card (by the line it
    came on): the card is matched and its balance carried now, in one transaction, counted in the import's
    split (the report stays reconciled)."""
    actor.require(Permission.TRANSITION_RESOLVE)
    with db.unit_of_work() as session:
        card = session.execute(select(LegacyCard).where(LegacyCard.import_id == import_id,
                                                        LegacyCard.line_no == line_no, LegacyCard.state == EXCEPTION)
                               .with_for_update()).scalar_one_or_none()  # the exceptions' index
        if card is None:
            raise LegacyExceptionNotFound(f"{import_id}:{line_no}", import_id=import_id, line_no=line_no)
        person = registry.find_by_id_number(session, id_number)
        if person.living_status != LivingStatus.ALIVE.value:
            raise PersonDeceased(idnumber.mask(person.id_number))
        imp = session.get_one(LegacyImport, import_id, with_for_update=True)
        account = chart.LegacyTransition(imp.source)
        chart.open_account(session, account)
        chart.open_missing(session, [chart.PersonalMedical(person.id)])
        moved = None
        if card.balance_fen > 0:
            moved = transfer_id(imp.source, card.legacy_card_no)
            bulk.post_many(session, [BulkTransfer(moved, account.code, chart.PersonalMedical(person.id).code,
                                                  card.balance_fen, TRANSFER_CODE, imp.file_id)])
        before = {"state": card.state, "reason": card.reason}
        card.state, card.reason, card.person_id = CARRIED, None, person.id
        imp.carried_count += 1
        imp.carried_fen += card.balance_fen
        imp.exception_count -= 1
        imp.exception_fen -= card.balance_fen
        record = audit.record(session, actor, "transition.resolve", "legacy_card", f"{import_id}:{line_no}",
                              before, {"state": CARRIED, "person_id": person.id, "balance_fen": card.balance_fen,
                                       "transfer": moved})
        session.flush()
        return ResolvedOut(legacy_card_no_masked=mask_card(card.legacy_card_no), person_id=person.id,
                           balance_fen=card.balance_fen, transfer_id=moved, audit_seq=record.seq)


# ---------------------------------------------------------------------------------------------------- the window


def _day(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)


def window_in(session: Session, day: dt.date | None = None) -> WindowOut:
    """The transition window in effect on ``day`` (default: the bureau's today)."""
    day = day or clock.local_date()
    opens = _day(policy.get_int(session, WINDOW_FROM, day))
    closes = _day(policy.get_int(session, WINDOW_UNTIL, day))
    return WindowOut(opens=opens, closes=closes, open_today=opens <= day <= closes)


def window(db: Database, actor: Actor) -> WindowOut:
    actor.require(Permission.TRANSITION_READ)
    with db.unit_of_work() as session:
        return window_in(session)




def legacy_holder_in(session: Session, legacy_card_no: str) -> int:
    """The person an old card number belongs to, for a hospital's message during the transition window (the
    caller maps the person to their current card and applies that card's rules). Refused: after (or before)
    the window LEGACY_CARD_WINDOW_CLOSED, whatever the number; then LEGACY_CARD_NOT_FOUND,
    LEGACY_CARD_UNMATCHED (in the exceptions queue), LEGACY_CARD_NOT_USABLE (lost or cancelled in the old
    system)."""
    if not window_in(session).open_today:
        raise LegacyCardWindowClosed()
    number = legacy_card_no.strip().upper()
    row = session.execute(select(LegacyCard.person_id, LegacyCard.state, LegacyCard.legacy_status)
                          .where(LegacyCard.legacy_card_no == number)).one_or_none()
    if row is None:
        raise LegacyCardNotFound()
    person_id, state, status = row
    if state != CARRIED or person_id is None:
        raise LegacyCardUnmatched()
    if status != "1":
        raise LegacyCardNotUsable(status=legacy_file.STATUSES.get(status, status))
    return int(person_id)
