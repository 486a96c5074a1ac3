"""Registering and maintaining persons. Every change is audited."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection

from sqlalchemy import Subquery, select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.bulksql import copy_text, fetch_all
from sscard.db import Database
from sscard.registry import idnumber
from sscard.registry.errors import (
    BirthDateMismatch,
    NameInvalid,
    PersonExists,
    PersonNotFound,
    PhoneInvalid,
    RegionInvalid,
    SexMismatch,
)
from sscard.registry.models import Person, PersonIdAlias
from sscard.registry.regions import DIVISION_BY_CODE
from sscard.registry.schemas import LivingStatus, PersonIn, PersonUpdate

NAME_MAX = 50
# Mainland mobile (1xx xxxx xxxx) or a fixed line with area code (0763 is Qingyuan's).
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def normalise_name(raw: str) -> str:
    """NFC-normalise and check a name: 1–50 code points, no control characters, '·' as U+00B7."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    # 民委发〔2016〕33号: the separator in multi-part names is U+00B7 (GB18030 A1A4); fold look-alikes.
    name = name.replace("•", "·").replace("・", "·").replace("．", "·")
    if not name or len(name) > NAME_MAX:
        raise NameInvalid(f"{len(name)} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in name):
        raise NameInvalid("control, private-use or unassigned characters")
    return name


def mask_name(name: str) -> str:
    """A name as UIs and partners see it: the first character, then one * per other character (陈**)."""
    return name[:1] + "*" * max(1, len(name) - 1)


def normalise_phone(raw: str | None) -> str | None:
    """The registry's phone rule: blank is no phone; otherwise a mainland mobile or a fixed line, else
    ``PHONE_INVALID``."""
    if raw is None or raw.strip() == "":
        return None
    phone = raw.strip().replace(" ", "")
    if not _PHONE.match(phone):
        raise PhoneInvalid(phone)
    return phone


def _region(code: str) -> str:
    if code not in DIVISION_BY_CODE:
        raise RegionInvalid(code, region=code)
    return code


def find_by_id_number(session: Session, raw: str) -> Person:
    number = idnumber.parse(raw).value
    person = session.execute(select(Person).where(Person.id_number == number)).scalar_one_or_none()
    if person is None:  # a number the public-security bureau has since corrected still finds its person
        alias = session.get(PersonIdAlias, number)
        person = session.get(Person, alias.person_id) if alias is not None else None
    if person is None:
        raise PersonNotFound(idnumber.mask(number))
    return person


def record_move_out_in(session: Session, actor: Actor, person_id: int, to_region: str, moved_on: dt.date,
                       source: str) -> str:
    """户籍迁出 as the public-security bureau reports it, inside the caller's transaction: the person's division of
    residence becomes ``to_region`` (the destination's six-digit division code, outside the city); the record,
    card, contributions and benefits stay on the person. Audited with the division before. Returns it."""
    actor.require(Permission.PERSON_WRITE)
    if not (len(to_region) == 6 and to_region.isdigit()):
        raise ValueError("the destination is a 6-digit division code")
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"person {person_id}")
    before = person.region_code
    person.region_code = to_region
    audit.record(session, actor, "person.moved_out", "person", person.id, {"region_code": before},
                 {"region_code": to_region, "moved_on": moved_on.isoformat(), "source": source[:64]})
    return before


def correct_id_number_in(session: Session, actor: Actor, person_id: int, new_raw: str, source: str) -> str:
    """身份证号变更 / 一人多号 as the public-security bureau reports it, inside the caller's transaction: the person's
    number becomes ``new_raw`` and the old one is kept as an alias that still finds them; nothing else moves
    (cards, contributions, accounts and benefits hang on the person id). Refused (``PERSON_EXISTS``) when the
    new number is another person's (two records to merge: a case for an operator). Returns the old number."""
    actor.require(Permission.PERSON_WRITE)
    parsed = idnumber.parse(new_raw)
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"person {person_id}")
    old = person.id_number
    if parsed.value == old:
        return old
    holder = session.execute(select(Person.id).where(Person.id_number == parsed.value)).scalar_one_or_none()
    alias = session.get(PersonIdAlias, parsed.value)
    if holder is not None or (alias is not None and alias.person_id != person_id):
        raise PersonExists(parsed.masked())
    before = person.snapshot()
    if alias is not None:  # corrected back to a number the person held before
        session.delete(alias)
        session.flush()
    session.add(PersonIdAlias(id_number=old, person_id=person_id, replaced_by=parsed.value, source=source[:64]))
    person.id_number = parsed.value
    person.sex, person.birth_date = parsed.sex, parsed.birth_date
    person.version += 1
    session.flush()
    audit.record(session, actor, "person.id_number_corrected", "person", person.id, before,
                 {**person.snapshot(), "source": source[:64]})
    return old


def id_number_history(session: Session, person_id: int) -> list[str]:
    """The numbers a person held before corrections (oldest first): what still finds them."""
    return list(session.execute(select(PersonIdAlias.id_number).where(PersonIdAlias.person_id == person_id)
                                .order_by(PersonIdAlias.created_at, PersonIdAlias.id_number)).scalars())


def change_name_in(session: Session, actor: Actor, person_id: int, new_name: str, source: str) -> tuple[str, str]:
    """A name change the public-security bureau reports (姓名变更), inside the caller's transaction; audited.
    Returns (old, new). The card shows the old name until it is exchanged (the caller opens that)."""
    actor.require(Permission.PERSON_WRITE)
    name = normalise_name(new_name)
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"person {person_id}")
    old = person.name
    if old != name:
        before = person.snapshot()
        person.name = name
        person.version += 1
        session.flush()
        audit.record(session, actor, "person.name_changed", "person", person.id, before,
                     {**person.snapshot(), "source": source[:64]})
    return old, name


_PG_MATCH_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS registry_match_in (id_number VARCHAR(18) NOT NULL) "
                   "ON COMMIT DELETE ROWS")
_PG_MATCH = ("SELECT p.id_number, p.id, p.living_status FROM registry_match_in m "
             "JOIN persons p ON p.id_number = m.id_number "
             "UNION ALL SELECT a.id_number, p.id, p.living_status FROM registry_match_in m "
             "JOIN person_id_aliases a ON a.id_number = m.id_number JOIN persons p ON p.id = a.person_id")


def persons_by_id_numbers_in(session: Session, actor: Actor, numbers: Collection[str]) -> dict[str, tuple[int, str]]:
    """ID number → (person id, living status) for those of ``numbers`` (already normalised: 18 characters, an
    upper-case X) that are registered — under their number or under one they held before (an alias: the old
    number still finds the person) — for matching millions of records of another system in one go
    (PostgreSQL: COPY into a scratch table and one join; SQLite: pages of ``IN``). The caller audits the read
    (what it matched, how many); nothing here is written."""
    actor.require(Permission.PERSON_READ)
    wanted = sorted(set(numbers))
    found: dict[str, tuple[int, str]] = {}
    if not wanted:
        return found
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_PG_MATCH_STAGE))
        session.execute(text("TRUNCATE registry_match_in"))
        copy_text(session, "registry_match_in", ("id_number",), [f"{n}\n" for n in wanted])
        session.execute(text("ANALYZE registry_match_in"))
        rows = fetch_all(session, _PG_MATCH)
        session.execute(text("TRUNCATE registry_match_in"))
    else:
        rows = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            rows += fetch_all(session, f"SELECT id_number, id, living_status FROM persons WHERE id_number IN ({marks})",
                              chunk)
            rows += fetch_all(session, "SELECT a.id_number, p.id, p.living_status FROM person_id_aliases a "
                                       f"JOIN persons p ON p.id = a.person_id WHERE a.id_number IN ({marks})", chunk)
    for number, person_id, living in rows:
        found[number] = (int(person_id), str(living))
    return found


def persons_to_verify_in(session: Session, actor: Actor, numbers: Collection[str]) -> dict[str, tuple[int, str, str]]:
    """ID number → (person id, name, living status) for those of ``numbers`` (already normalised) that are
    registered, found as ``find_by_id_number`` finds them (the number itself first, then a number the person
    held before), for answering a few dozen verification requests in one go: two statements, no ORM objects
    (``exchange`` answers hundreds a second). The caller audits the read; nothing is written."""
    actor.require(Permission.PERSON_READ)
    wanted = sorted(set(numbers))
    found: dict[str, tuple[int, str, str]] = {}
    if session.get_bind().dialect.name == "postgresql":  # constant text, one array: prepared by the driver
        found.update((str(n), (int(i), str(name), str(living))) for n, i, name, living in fetch_all(
            session, "SELECT id_number, id, name, living_status FROM persons WHERE id_number = ANY(?)", (wanted,)))
        missing = [n for n in wanted if n not in found]
        if missing:
            found.update((str(n), (int(i), str(name), str(living))) for n, i, name, living in fetch_all(
                session, "SELECT a.id_number, p.id, p.name, p.living_status FROM person_id_aliases a "
                         "JOIN persons p ON p.id = a.person_id WHERE a.id_number = ANY(?)", (missing,)))
        return found
    persons = Person.__table__.c
    aliases = PersonIdAlias.__table__.c
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update((str(n), (int(i), str(name), str(living))) for n, i, name, living in session.execute(
            select(persons.id_number, persons.id, persons.name, persons.living_status)
            .where(persons.id_number.in_(chunk))))
        missing = [n for n in chunk if n not in found]
        if missing:
            found.update((str(n), (int(i), str(name), str(living))) for n, i, name, living in session.execute(
                select(aliases.id_number, persons.id, persons.name, persons.living_status)
                .join(Person.__table__, persons.id == aliases.person_id).where(aliases.id_number.in_(missing))))
    return found


def id_number_matches(actor: Actor) -> Subquery:
    """The registry's ID numbers as a subquery of (``id_number``, ``person_id``, ``living_status``) — each
    person under their number and under every number they held before (an alias), exactly what
    ``persons_by_id_numbers_in`` finds — for a caller that matches millions of staged numbers of its own in one
    statement (a join on ``id_number``) without the rows ever leaving the server. A number is listed at most
    once (an alias is never another person's number: ``correct_id_number``). The caller audits the read;
    nothing here is written."""
    actor.require(Permission.PERSON_READ)
    by_number = select(Person.id_number.label("id_number"), Person.id.label("person_id"),
                       Person.living_status.label("living_status"))
    by_alias = (select(PersonIdAlias.id_number, Person.id, Person.living_status)
                .join(Person, Person.id == PersonIdAlias.person_id))
    return union_all(by_number, by_alias).subquery("registry_id_numbers")


def names_of_persons_in(session: Session, actor: Actor, person_ids: Collection[int]) -> dict[int, str]:
    """Person id → name for those of ``person_ids`` that exist (pages of ``IN``), for checking a name given with
    each of many ID numbers (a department's bulk verification). The caller audits the read; nothing is written."""
    actor.require(Permission.PERSON_READ)
    wanted = sorted(set(person_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update((int(i), str(n)) for i, n in session.execute(
            select(Person.id, Person.name).where(Person.id.in_(chunk))))
    return found


def register_in(session: Session, actor: Actor, data: PersonIn) -> Person:
    """Register inside an existing transaction (used by bulk applications and the demo loader)."""
    actor.require(Permission.PERSON_WRITE)
    parsed = idnumber.parse(data.id_number)
    if data.sex is not None and data.sex != parsed.sex:
        raise SexMismatch(f"the ID number says {parsed.sex}")
    if data.birth_date is not None and data.birth_date != parsed.birth_date:
        raise BirthDateMismatch(f"the ID number says {parsed.birth_date.isoformat()}")
    person = Person(
        id_number=parsed.value,
        legacy_id_number=parsed.upgraded_from,
        name=normalise_name(data.name),
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        ethnicity=data.ethnicity,
        region_code=_region(data.region_code),
        phone=normalise_phone(data.phone),
        living_status=LivingStatus.ALIVE.value,
    )
    if session.execute(select(Person.id).where(Person.id_number == parsed.value)).first() \
            or session.get(PersonIdAlias, parsed.value) is not None:  # an old number finds its person still
        raise PersonExists(parsed.masked())
    try:
        # Add inside the savepoint: begin_nested() flushes what is pending *before* the savepoint starts.
        with session.begin_nested():
            session.add(person)
            session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise PersonExists(parsed.masked()) from exc
    person.recorded(audit.record(session, actor, "person.register", "person", person.id, None, person.snapshot()))
    return person


def register(db: Database, actor: Actor, data: PersonIn) -> Person:
    with db.unit_of_work() as session:
        return register_in(session, actor, data)


def find_by_person_id(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"person {person_id}")
    return person


def get_by_person_id(db: Database, actor: Actor, person_id: int) -> Person:
    """The person by internal id: what API paths carry (an ID number belongs in a body, never in a URL)."""
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        person = find_by_person_id(session, person_id)
        audit.record(session, actor, "person.read", "person", person.id)
        return person


def get(db: Database, actor: Actor, id_number: str) -> Person:
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        person = find_by_id_number(session, id_number)
        audit.record(session, actor, "person.read", "person", person.id)
        return person


def get_with_full_id(db: Database, actor: Actor, id_number: str, purpose: str) -> Person:
    """The person for a caller who asked to see the whole ID number (``sscard person show --full-id``): only an
    actor who may change the record (as the counter's person page), audited as ``person.read_full_id`` with the
    purpose given; every other view masks it."""
    actor.require(Permission.PERSON_WRITE)
    with db.unit_of_work() as session:
        person = find_by_id_number(session, id_number)
        audit.record_read(session, actor, "person.read_full_id", "person", person.id, purpose)
        return person


def update(db: Database, actor: Actor, id_number: str, change: PersonUpdate) -> Person:
    actor.require(Permission.PERSON_WRITE)
    with db.unit_of_work() as session:
        return _update(session, actor, find_by_id_number(session, id_number), change)


def update_by_person_id(db: Database, actor: Actor, person_id: int, change: PersonUpdate) -> Person:
    actor.require(Permission.PERSON_WRITE)
    with db.unit_of_work() as session:
        return _update(session, actor, find_by_person_id(session, person_id), change)


def _update(session: Session, actor: Actor, person: Person, change: PersonUpdate) -> Person:
    before = person.snapshot()
    if "phone" in change.model_fields_set:
        person.phone = normalise_phone(change.phone)
    if change.region_code is not None:
        person.region_code = _region(change.region_code)
    if change.living_status is not None:
        person.living_status = change.living_status.value
    person.version += 1
    session.flush()
    audit.record(session, actor, "person.update", "person", person.id, before, person.snapshot())
    return person


def record_death_in(session: Session, actor: Actor, person_id: int) -> None:
    """The person is deceased, as reported when their card is cancelled for death (so with that use case's
    permission), inside the caller's transaction; audited as ``person.deceased``. Nothing happens when the
    registry already knows."""
    actor.require(Permission.CARD_CANCEL)
    person = find_by_person_id(session, person_id)
    if person.living_status != LivingStatus.DECEASED.value:
        before = person.snapshot()
        person.living_status = LivingStatus.DECEASED.value
        session.flush()
        audit.record(session, actor, "person.deceased", "person", person.id, before, person.snapshot())


def change_phone_in(session: Session, actor: Actor, person_id: int, raw: str | None) -> tuple[str | None, str | None]:
    """The person's own new phone (the portal's contact form), inside the caller's transaction: by the registry's
    phone rule, the row locked and its version moved on. Returns (old, new); the caller audits the change together
    with what else it changed."""
    actor.require(Permission.PORTAL_SELF)
    actor.require_own(person_id)
    phone = normalise_phone(raw)
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"person {person_id}")
    old, person.phone = person.phone, phone
    person.version += 1
    return old, phone


def search(db: Database, actor: Actor, name: str | None = None, region_code: str | None = None,
           limit: int = 50, offset: int = 0) -> list[Person]:
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        query = select(Person).order_by(Person.id)
        if name:
            query = query.where(Person.name.contains(name, autoescape=True))  # % and _ are literal
        if region_code:
            query = query.where(Person.region_code == region_code)
        found = list(session.execute(query.limit(min(limit, 500)).offset(offset)).scalars())
        audit.record(session, actor, "person.search", "person", "*", None,
                     {"name": name, "region_code": region_code, "returned": len(found)})
        return found
