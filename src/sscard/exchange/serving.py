"""A department's signed requests (docs/exchange.md): authenticate (key, clock, signature, nonce), find the
agreement in force that covers the item and mode, count the day's quota, answer, and record the access.

Every refusal raises an ``ExchangeError`` (or a registry input error) inside the use case's transaction, which
rolls back: the only thing written is the refusal's audit record, in a transaction of its own.

Data of other packages is read only through their public service functions: ``registry`` (persons, names),
``cards`` (a person's valid card), ``funds.contributions`` (schemes in force), ``funds.benefits`` (entitlements)
and ``health.stats`` (the de-identified statistics).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import psycopg
from sqlalchemy import Table, bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.bulksql import copy_rows, execute, fetch_all, insert_columns, insert_rows
from sscard.cards import service as cards
from sscard.db import Database, utcnow
from sscard.errors import DomainError
from sscard.exchange import signing
from sscard.exchange.errors import (
    ExchangeAgreementExpired,
    ExchangeAgreementMissing,
    ExchangeClockSkew,
    ExchangeDepartmentUnknown,
    ExchangeError,
    ExchangeItemNotAgreed,
    ExchangeItemNotShareable,
    ExchangeItemUnknown,
    ExchangeQuotaExceeded,
    ExchangeReplay,
    ExchangeRequestMalformed,
)
from sscard.exchange.keys import SECRETS, department_actor
from sscard.exchange.models import (
    ExchangeAccess,
    ExchangeAgreement,
    ExchangeAgreementItem,
    ExchangeDepartment,
    ExchangeItem,
    ExchangeKey,
    ExchangeNonce,
)
from sscard.exchange.schemas import QueryIn, QueryOut, VerifyIn, VerifyOut
from sscard.funds.benefits import entitlements as benefits
from sscard.funds.contributions import service as contributions
from sscard.health import stats as health_stats
from sscard.kms.sealed import SealedInvalid
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonNotFound
from sscard.registry.schemas import LivingStatus

T = TypeVar("T")
MAX_BODY = 64 * 1024  # verification and query bodies (bulk files: the upload limit)
INSURANCE_OF = {"flex_pension": "pension", "resident_pension": "pension", "employee_medical": "medical",
                "resident_medical": "medical", "unemployment": "unemployment"}
NORMAL = "1"  # the card's application status 正常


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as received: what the signature covers."""

    method: str
    path: str
    query: bytes
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Caller:
    department_id: int
    department: str
    key_id: str

    @property
    def actor(self) -> Actor:
        return department_actor(self.department)


@dataclass(frozen=True, slots=True)
class Granted:
    """The agreement a request is answered under."""

    caller: Caller
    agreement_id: int
    agreement_no: str
    purpose: str
    masking: str
    item: str
    mode: str


# ------------------------------------------------------------------------------------------- authentication


_LAST_PURGE = [0.0]
PURGE_EVERY_SECONDS = 60


def purge_nonces(db: Database, now: float | None = None) -> int:
    """Forget the nonces that can no longer pass the clock check (older than the window, with a margin)."""
    moment = time.time() if now is None else now
    with db.unit_of_work() as session:
        result = session.execute(delete(ExchangeNonce).where(
            ExchangeNonce.ts < int(moment) - signing.WINDOW_SECONDS - 60))
        return int(getattr(result, "rowcount", 0) or 0)


def _maybe_purge(db: Database) -> None:
    moment = time.time()
    if moment - _LAST_PURGE[0] >= PURGE_EVERY_SECONDS:
        _LAST_PURGE[0] = moment
        purge_nonces(db, moment)


_KEY_QUERY = (select(ExchangeKey.secret_sealed, ExchangeKey.status, ExchangeDepartment.id, ExchangeDepartment.code,
                     ExchangeDepartment.status)
              .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeKey.department_id)
              .where(ExchangeKey.key_id == bindparam("key_id")))


_NONCE_INSERT = insert(ExchangeNonce).values(key_id=bindparam("key_id"), nonce=bindparam("nonce"),
                                             ts=bindparam("ts"))
_ACCESS_INSERT = insert(cast(Table, ExchangeAccess.__table__)).inline().values(
    at=bindparam("at"), department_id=bindparam("department_id"), agreement_id=bindparam("agreement_id"),
    item_code=bindparam("item_code"), mode=bindparam("mode"), person_id=bindparam("person_id"),
    outcome=bindparam("outcome"))


def authenticate(session: Session, request: SignedRequest, now: float | None = None) -> Caller:
    """The department behind a signed request: key known and active, clock within ±300 s, signature right,
    nonce not seen within the window (stored here: the primary key refuses it a second time)."""
    signed = signing.parse_headers(request.headers)
    row = session.execute(_KEY_QUERY, {"key_id": signed.key_id}).first()
    if row is None or row[1] != "active" or row[4] != "active":
        raise ExchangeDepartmentUnknown(signed.key_id)
    sealed, _, department_id, code, _ = row
    if not signing.within_window(signed.timestamp, time.time() if now is None else now):
        raise ExchangeClockSkew(f"timestamp {signed.timestamp}")
    try:
        secret = SECRETS.secret(signed.key_id, sealed)
    except SealedInvalid as exc:  # sealed under another KEK: the key cannot sign anything here
        raise ExchangeDepartmentUnknown("the key's secret does not open") from exc
    query = signing.parse_query(request.query)
    signing.check_signature(secret, signed, request.method, request.path, query, request.body)
    try:  # no savepoint: a replay ends the use case, whose transaction then rolls back
        session.execute(_NONCE_INSERT, {"key_id": signed.key_id, "nonce": signed.nonce, "ts": signed.timestamp})
    except IntegrityError as exc:
        raise ExchangeReplay(signed.nonce) from exc
    return Caller(int(department_id), str(code), signed.key_id)


# ------------------------------------------------------------------------------------------------ agreement

_COVERING = (select(ExchangeAgreement.id, ExchangeAgreement.agreement_no, ExchangeAgreement.status,
                    ExchangeAgreement.valid_from, ExchangeAgreement.valid_until, ExchangeAgreement.purpose,
                    ExchangeAgreement.masking, ExchangeAgreementItem.mode)
             .join(ExchangeAgreementItem, ExchangeAgreementItem.agreement_id == ExchangeAgreement.id)
             .order_by(ExchangeAgreement.id))
# One statement: the day's first request makes the counter, later ones add to it, none passes the quota (no
# row inserted or updated: the quota is used up). PostgreSQL and SQLite (3.24+) both read this upsert.
_USAGE_COUNT = text(
    "INSERT INTO exchange_usage (agreement_id, day, used) "
    "SELECT :a, :d, :n WHERE :n <= (SELECT daily_quota FROM exchange_agreements WHERE id = :a) "
    "ON CONFLICT (agreement_id, day) DO UPDATE SET used = exchange_usage.used + excluded.used "
    "WHERE exchange_usage.used + excluded.used <= "
    "(SELECT daily_quota FROM exchange_agreements WHERE id = excluded.agreement_id)")


def grant(session: Session, caller: Caller, item: str, mode: str, today: dt.date | None = None,
          units: int = 1, count: bool = True) -> Granted:
    """The agreement in force that covers ``item`` in ``mode`` for the caller's department, with ``units``
    counted against its daily quota (``count=False``: the caller counts them with ``count_quota`` later, as
    late in its transaction as it can, for the counter's row lock is held until the commit)."""
    day = today or clock.local_date()
    rows = session.execute(_COVERING.where(ExchangeAgreement.department_id == caller.department_id,
                                           ExchangeAgreementItem.item_code == item)).all()
    if not rows:
        if session.get(ExchangeItem, item) is None:
            raise ExchangeItemUnknown(item[:40], item=item[:40])
        any_agreement = session.execute(select(ExchangeAgreement.id).where(
            ExchangeAgreement.department_id == caller.department_id,
            ExchangeAgreement.status == "approved")).first()
        if any_agreement is not None:
            raise ExchangeItemNotAgreed(f"{item[:40]} is in none of the department's agreements", item=item[:40])
        raise ExchangeAgreementMissing(f"the department has no approved agreement for {item[:40]}")
    covering = [r for r in rows if r[7] == mode]
    if not covering:
        raise ExchangeItemNotAgreed(f"{item} is not agreed in mode {mode}", item=item, mode=mode)
    active = [r for r in covering if r[2] == "approved" and r[3] <= day <= r[4]]
    if not active:
        if any(r[2] == "revoked" or (r[2] == "approved" and r[4] < day) for r in covering):
            raise ExchangeAgreementExpired(covering[-1][1], agreement=covering[-1][1])
        raise ExchangeAgreementMissing(f"no approved agreement in force covers {item} in mode {mode}")
    agreement_id, number, _, _, _, purpose, masking, _ = active[0]
    granted = Granted(caller, int(agreement_id), str(number), str(purpose), str(masking), item, mode)
    if count:
        count_quota(session, granted, units, day)
    return granted


def count_quota(session: Session, granted: Granted, units: int = 1, today: dt.date | None = None) -> None:
    """``units`` more requests today under the agreement, or ``EXCHANGE_QUOTA_EXCEEDED``."""
    params = {"a": granted.agreement_id, "d": today or clock.local_date(), "n": units}
    if cast(Any, session.execute(_USAGE_COUNT, params)).rowcount != 1:
        raise ExchangeQuotaExceeded(granted.agreement_no, agreement=granted.agreement_no)


def grant_for_department(db: Database, department: str, item: str, mode: str = "bulk", units: int = 1) -> Granted:
    """For a department's request that came another way than a signed HTTP request (a bulk file through the
    spool, authenticated by the file's MAC): the agreement in force and its quota, committed and audited."""
    with db.unit_of_work() as session:
        found = session.execute(select(ExchangeDepartment.id, ExchangeDepartment.status)
                                .where(ExchangeDepartment.code == department)).first()
        if found is None or found[1] != "active":
            raise ExchangeDepartmentUnknown(department[:20])
        granted = grant(session, Caller(int(found[0]), department, "spool"), item, mode, units=units)
        audit.record_read(session, granted.caller.actor, f"exchange.{mode}", "exchange_agreement",
                          granted.agreement_no, purpose=granted.purpose, item=item, mode=mode, via="spool")
        return granted


# ------------------------------------------------------------------------------------------------- refusal


def _refused(db: Database, request: SignedRequest, err: DomainError, item: str | None, mode: str) -> None:
    key_id = {k.lower(): v for k, v in request.headers.items()}.get("x-dept-key", "")[:64] or "-"
    with db.unit_of_work() as session:
        code = session.execute(select(ExchangeDepartment.code)
                               .join(ExchangeKey, ExchangeKey.department_id == ExchangeDepartment.id)
                               .where(ExchangeKey.key_id == key_id)).scalar_one_or_none()
        audit.record(session, department_actor(code or "unknown"), "exchange.refused", "exchange_key", key_id, None,
                     {"code": err.code, "method": request.method[:10], "path": request.path[:100],
                      "item": (item or "")[:40], "mode": mode})


def serve(db: Database, request: SignedRequest, mode: str, item_of: Callable[[], str],
          answer: Callable[[Session, Granted], T], *, units: int = 1, count: bool = True) -> T:
    """One signed request: authenticate, grant, answer, in one transaction; a refusal is audited and re-raised.
    With ``count=False`` the answer counts the quota itself (``_record`` does, last).

    The request's first statement stores the nonce and finds the key, its department and the first agreement in
    force covering the item in the mode (``_first_statement``); the checks then run in the documented order
    (key, clock, signature, nonce, body, agreement). A nonce already stored, or a request the one statement does
    not grant, is answered by the step-by-step path (``_serve_stepwise``), which tells its refusal apart."""
    _maybe_purge(db)
    signed = signing.parse_headers_or_none(request.headers)
    if signed is None:
        return _serve_stepwise(db, request, mode, item_of, answer, units, count)
    item: str | None = None
    parsed: str | None = None
    body_error: DomainError | None = None
    try:
        parsed = item_of()
    except DomainError as err:  # refused only once the request is known to be the department's own
        body_error = err
    try:
        with db.unit_of_work() as session:
            row = _first_statement(session, signed, parsed or "", mode)
            if row is None:
                raise _Stepwise
            caller = _check(request, signed, row)
            item = parsed  # the refusal's audit record names the item once the request is authenticated
            if body_error is not None:
                raise body_error
            assert item is not None
            if row[5] is None:
                raise _Stepwise
            granted = Granted(caller, int(row[5]), str(row[6]), str(row[7]), str(row[8]), item, mode)
            if count:
                count_quota(session, granted, units)
            return answer(session, granted)
    except _Stepwise:
        return _serve_stepwise(db, request, mode, item_of, answer, units, count)
    except DomainError as err:
        _refused(db, request, err, item, mode)
        raise


class _Stepwise(Exception):
    """The one-statement path cannot tell this request's answer or refusal: take the step-by-step path."""


_KEYS = cast(Table, ExchangeKey.__table__)
_DEPARTMENTS = cast(Table, ExchangeDepartment.__table__)
_AGREEMENTS = cast(Table, ExchangeAgreement.__table__)
_AGREEMENT_ITEMS = cast(Table, ExchangeAgreementItem.__table__)
_IN_FORCE = (select(_AGREEMENTS.c.id, _AGREEMENTS.c.agreement_no, _AGREEMENTS.c.purpose, _AGREEMENTS.c.masking,
                    _AGREEMENTS.c.department_id)
             .join(_AGREEMENT_ITEMS, _AGREEMENT_ITEMS.c.agreement_id == _AGREEMENTS.c.id)
             .where(_AGREEMENTS.c.status == "approved", _AGREEMENTS.c.valid_from <= bindparam("day"),
                    _AGREEMENTS.c.valid_until >= bindparam("day"), _AGREEMENT_ITEMS.c.item_code == bindparam("item"),
                    _AGREEMENT_ITEMS.c.mode == bindparam("mode"))
             .subquery("a"))
_LOOKUP = (select(_KEYS.c.secret_sealed, _KEYS.c.status, _DEPARTMENTS.c.id, _DEPARTMENTS.c.code,
                  _DEPARTMENTS.c.status, _IN_FORCE.c.id, _IN_FORCE.c.agreement_no, _IN_FORCE.c.purpose,
                  _IN_FORCE.c.masking)
           .select_from(_KEYS.join(_DEPARTMENTS, _DEPARTMENTS.c.id == _KEYS.c.department_id)
                        .outerjoin(_IN_FORCE, _IN_FORCE.c.department_id == _DEPARTMENTS.c.id))
           .where(_KEYS.c.key_id == bindparam("key_id"))
           .order_by(_IN_FORCE.c.id).limit(1))
# PostgreSQL: the nonce is stored by the same statement (a writable CTE runs whether or not it is read); a
# request refused later rolls it back with everything else.
_LOOKUP_STORING_NONCE = _LOOKUP.add_cte(
    insert(cast(Table, ExchangeNonce.__table__)).values(key_id=bindparam("key_id"), nonce=bindparam("nonce"),
                                                       ts=bindparam("ts")).cte("stored_nonce"))


def _first_statement(session: Session, signed: signing.SignedHeaders, item: str,
                     mode: str) -> tuple[Any, ...] | None:
    """The key's row with its department and the first agreement in force covering ``item`` in ``mode`` (or
    NULLs), the nonce stored; None when the key is unknown. ``_Stepwise`` when the nonce was stored before."""
    params = {"key_id": signed.key_id, "nonce": signed.nonce, "ts": signed.timestamp, "day": clock.local_date(),
              "item": item[:40], "mode": mode}
    if session.connection().dialect.name == "postgresql":
        try:
            rows = execute(session, _LOOKUP_STORING_NONCE, params)
        except psycopg.errors.UniqueViolation as exc:
            raise _Stepwise from exc
        return rows[0] if rows else None
    rows = execute(session, _LOOKUP, params)
    try:
        session.execute(_NONCE_INSERT, {"key_id": signed.key_id, "nonce": signed.nonce, "ts": signed.timestamp})
    except IntegrityError as exc:
        raise _Stepwise from exc
    return rows[0] if rows else None


def _check(request: SignedRequest, signed: signing.SignedHeaders, row: tuple[Any, ...]) -> Caller:
    """``authenticate``'s checks on the first statement's row (the nonce is stored already)."""
    sealed, key_status, department_id, code, department_status = row[:5]
    if key_status != "active" or department_status != "active":
        raise ExchangeDepartmentUnknown(signed.key_id)
    if not signing.within_window(signed.timestamp, time.time()):
        raise ExchangeClockSkew(f"timestamp {signed.timestamp}")
    try:
        secret = SECRETS.secret(signed.key_id, sealed)
    except SealedInvalid as exc:
        raise ExchangeDepartmentUnknown("the key's secret does not open") from exc
    signing.check_signature(secret, signed, request.method, request.path, signing.parse_query(request.query),
                            request.body)
    return Caller(int(department_id), str(code), signed.key_id)


def _serve_stepwise(db: Database, request: SignedRequest, mode: str, item_of: Callable[[], str],
                    answer: Callable[[Session, Granted], T], units: int, count: bool) -> T:
    item: str | None = None
    try:
        with db.unit_of_work() as session:
            caller = authenticate(session, request)
            item = item_of()
            granted = grant(session, caller, item, mode, units=units, count=count)
            return answer(session, granted)
    except DomainError as err:
        _refused(db, request, err, item, mode)
        raise


def _json_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY:
        raise ExchangeRequestMalformed(f"the body is larger than {MAX_BODY} bytes")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ExchangeRequestMalformed("the body is not a JSON object") from exc
    if not isinstance(value, dict):
        raise ExchangeRequestMalformed("the body is not a JSON object")
    return value


def _model(kind: type[T], raw: bytes) -> T:
    import pydantic

    try:
        return cast(Any, kind).model_validate(_json_body(raw))  # type: ignore[no-any-return]
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        raise ExchangeRequestMalformed(f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
                                       [:200]) from exc


# ------------------------------------------------------------------------------------------------ answers


def _record(session: Session, granted: Granted, person_id: int | None, outcome: str) -> None:
    """The request's last step: count it against the quota, record the access and its audit record, commit
    (the quota counter's and the audit chain's row locks are held from here to the commit only)."""
    count_quota(session, granted)
    access = {"at": utcnow(), "department_id": granted.caller.department_id, "agreement_id": granted.agreement_id,
              "item_code": granted.item, "mode": granted.mode, "person_id": person_id, "outcome": outcome}
    audit.record_with(session, granted.caller.actor, audit.Entry(
        f"exchange.{granted.mode}", "person" if person_id else "-", person_id or "-", None,
        audit.read_details(granted.purpose, agreement=granted.agreement_no, item=granted.item, outcome=outcome)),
        [(_ACCESS_INSERT, access)], commit=True)


def _person(session: Session, id_number: str) -> Any:
    try:
        return registry.find_by_id_number(session, id_number)
    except PersonNotFound:
        return None


def _card_answer(status: str | None) -> tuple[bool, str]:
    """card_status's verification answer for the status of the person's valid card (None: none) — the one home
    of the rule for a single request, a group and a bulk file."""
    if status is None:
        return False, "NO_CARD"
    return (True, "CARD_NORMAL") if status == NORMAL else (False, "CARD_NOT_NORMAL")


def _living_answer(living_status: str) -> tuple[bool, str]:
    """person_basic's verification answer (one home, as ``_card_answer``)."""
    return (True, "REGISTERED") if living_status == LivingStatus.ALIVE.value else (False, "DECEASED")


def _card_reason(session: Session, person_id: int) -> tuple[bool, str]:
    card = cards.valid_card_of(session, person_id)
    return _card_answer(card.app_status if card is not None else None)


def _name_matches(person: Any, name: str | None) -> bool:
    if name is None:
        return False
    try:
        return bool(registry.normalise_name(name) == person.name)
    except DomainError:
        return False


def _period(day: dt.date | None = None) -> str:
    return f"{day or clock.local_date():%Y-%m}"


def verify(db: Database, request: SignedRequest) -> VerifyOut:
    """核验: yes or no and a reason code, never the data itself."""
    body: list[VerifyIn] = []

    def item_of() -> str:
        body.append(_model(VerifyIn, request.body))
        return body[0].item

    def answer(session: Session, granted: Granted) -> VerifyOut:
        data = body[0]
        person = _person(session, data.id_number)
        if person is None:
            result, reason = False, "PERSON_UNKNOWN"
        elif not _name_matches(person, data.name):
            result, reason = False, "NAME_MISMATCH"
        elif granted.item == "card_status":
            result, reason = _card_reason(session, person.id)
        elif granted.item == "person_basic":
            result, reason = _living_answer(person.living_status)
        elif granted.item == "participation_status":
            if data.insurance is None:
                raise ExchangeRequestMalformed("insurance: pension, medical or unemployment")
            schemes = contributions.schemes_in_force(session, person.id, _period())
            enrolled = data.insurance in {INSURANCE_OF[s.value] for s in schemes}
            result, reason = (True, "ENROLLED") if enrolled else (False, "NOT_ENROLLED")
        elif granted.item == "pension_receipt":
            receiving = _pension_since(session, person.id, granted.agreement_no) is not None
            result, reason = receiving, "RECEIVING" if receiving else "NOT_RECEIVING"
        else:
            raise ExchangeItemNotShareable(f"{granted.item} has no verification", item=granted.item)
        _record(session, granted, person.id if person is not None else None, reason)
        return VerifyOut(item=granted.item, result=result, reason=reason, agreement=granted.agreement_no)

    return serve(db, request, "verification", item_of, answer, count=False)


# ------------------------------------------------------------------------------------------ group commit
# Why: one verification is a few dozen microseconds of checks and a handful of rows, but one transaction per
# request cost about 2.5 ms of PostgreSQL CPU and, worse, held the quota counter's and the audit chain head's
# row locks for a commit each — every department's requests queued behind one another's commits. The API hands
# the requests that arrive while a group is being answered to ``verify_many`` together: each is checked in
# memory (headers, body, signature, clock) and the group is answered in ONE transaction — its nonces stored by
# one statement, the quota counted once per agreement, the persons and cards read set-wise by Core statements,
# one access row and one audit record per request (the chain exact, in the group's order) — then committed
# once. Whatever the group cannot answer exactly as ``verify`` would — a refusal of any kind, a replayed nonce,
# an item with its own reads — is answered by ``verify`` itself, on its own, after the group's commit.

GROUPED_ITEMS = ("card_status", "person_basic")
_NONCES = cast(Table, ExchangeNonce.__table__)


@dataclass(frozen=True, slots=True)
class _Candidate:
    request: SignedRequest
    signed: signing.SignedHeaders
    item: str
    id_number: str  # normalised
    name: str | None  # normalised; None when absent or not a valid name (it then matches nobody's)


class _Regroup(Exception):
    """The group's quota count did not pass: each of its requests is answered on its own (counted one by one)."""


def _candidate(request: SignedRequest) -> _Candidate | None:
    """The request's in-memory checks for the group; None when ``verify`` alone should answer it."""
    signed = signing.parse_headers_or_none(request.headers)
    if signed is None:
        return None
    try:
        data = _model(VerifyIn, request.body)
        number = idnumber.parse(data.id_number).value
    except DomainError:
        return None
    if data.item not in GROUPED_ITEMS:
        return None
    return _Candidate(request, signed, data.item, number, _normalised(data.name) if data.name is not None else None)


def verify_many(db: Database, requests: list[SignedRequest]) -> list[VerifyOut | Exception]:
    """``verify`` of each request, answered and committed as one group where they can be (see above); in the
    order given, each answer or the exception ``verify`` would raise for it."""
    _maybe_purge(db)
    results: list[VerifyOut | Exception | None] = [None] * len(requests)
    grouped: list[tuple[int, _Candidate]] = []
    seen: set[tuple[str, str]] = set()
    for index, request in enumerate(requests):
        found = _candidate(request)
        if found is None or (found.signed.key_id, found.signed.nonce) in seen:
            continue  # a nonce twice in one group: the second is a replay, told by ``verify`` after the commit
        seen.add((found.signed.key_id, found.signed.nonce))
        grouped.append((index, found))
    if grouped:
        # Rolled back whole (a quota used up inside the group, a deadlock, the database gone): each of its
        # requests is then answered on its own, as if it had come alone.
        with contextlib.suppress(_Regroup, SQLAlchemyError, psycopg.Error):
            results[:] = _answer_group(db, grouped, results)
    for index, request in enumerate(requests):
        if results[index] is None:
            try:
                results[index] = verify(db, request)
            except Exception as exc:
                results[index] = exc
    return cast(list[VerifyOut | Exception], results)


def _answer_group(db: Database, grouped: list[tuple[int, _Candidate]],
                  results: list[VerifyOut | Exception | None]) -> list[VerifyOut | Exception | None]:
    answered = list(results)
    with db.unit_of_work() as session:
        day = clock.local_date()
        rows: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        granted: list[tuple[int, _Candidate, Granted]] = []
        for index, c in grouped:
            key = (c.signed.key_id, c.item)
            if key not in rows:
                found = execute(session, _LOOKUP, {"key_id": c.signed.key_id, "day": day, "item": c.item,
                                                   "mode": "verification"})
                rows[key] = found[0] if found else None
            row = rows[key]
            if row is None or row[5] is None:
                continue
            try:
                caller = _check(c.request, c.signed, row)
            except DomainError:
                continue
            granted.append((index, c, Granted(caller, int(row[5]), str(row[6]), str(row[7]), str(row[8]), c.item,
                                              "verification")))
        if not granted:
            return answered
        actor = granted[0][2].caller.actor
        persons = registry.persons_to_verify_in(session, actor, {c.id_number for _, c, _ in granted})
        statuses = (cards.valid_card_statuses_of(session, [p[0] for p in persons.values()])
                    if any(c.item == "card_status" for _, c, _ in granted) else {})
        # The writes, the contended rows last: nonces (new rows), the quota counters, accesses, the chain head.
        stored = _store_nonces(session, [c.signed for _, c, _ in granted])
        granted = [g for g in granted if (g[1].signed.key_id, g[1].signed.nonce) in stored]
        if not granted:
            return answered
        units: dict[int, Granted] = {}
        counts: dict[int, int] = {}
        for _, _, g in granted:
            units.setdefault(g.agreement_id, g)
            counts[g.agreement_id] = counts.get(g.agreement_id, 0) + 1
        for agreement_id in sorted(counts):  # always in one order: two groups never wait on each other's counter
            try:
                count_quota(session, units[agreement_id], counts[agreement_id], day)
            except ExchangeQuotaExceeded as exc:
                raise _Regroup from exc
        at = utcnow()
        accesses: list[tuple[Any, ...]] = []
        entries: list[tuple[Actor, audit.Entry]] = []
        for index, c, g in granted:
            result, reason, person_id = _grouped_answer(c, persons.get(c.id_number), statuses)
            accesses.append((at, g.caller.department_id, g.agreement_id, g.item, g.mode, person_id, reason))
            entries.append((g.caller.actor, audit.Entry(
                f"exchange.{g.mode}", "person" if person_id else "-", person_id or "-", None,
                audit.read_details(g.purpose, agreement=g.agreement_no, item=g.item, outcome=reason))))
            answered[index] = VerifyOut(item=g.item, result=result, reason=reason, agreement=g.agreement_no)
        insert_columns(session, _ACCESSES, _ACCESS_COLUMNS, accesses)
        audit.record_batch(session, entries, commit=True)
    return answered


def _grouped_answer(c: _Candidate, person: tuple[int, str, str] | None,
                    statuses: Mapping[int, str]) -> tuple[bool, str, int | None]:
    """``verify``'s answer for one request of the group: result, reason, the person (if found)."""
    if person is None:
        return False, "PERSON_UNKNOWN", None
    person_id, name, living = person
    if c.name is None or c.name != name:
        return False, "NAME_MISMATCH", person_id
    result, reason = _card_answer(statuses.get(person_id)) if c.item == "card_status" else _living_answer(living)
    return result, reason, person_id


def _store_nonces(session: Session, signed: list[signing.SignedHeaders]) -> set[tuple[str, str]]:
    """Stores the nonces not seen before, in one statement; the (key id, nonce) pairs it stored. PostgreSQL: one
    prebuilt statement over arrays on the driver connection (a multi-row VALUES built per group cost more CPU to
    compile than the database spent on it)."""
    signed = sorted(signed, key=lambda s: (s.key_id, s.nonce))  # two groups meet their rows in one order
    if session.connection().dialect.name == "postgresql":
        return {(str(k), str(n)) for k, n in fetch_all(session, _PG_NONCES, (
            [s.key_id for s in signed], [s.nonce for s in signed], [s.timestamp for s in signed]))}
    from sqlalchemy.dialects import sqlite

    stmt = sqlite.insert(_NONCES).values([{"key_id": s.key_id, "nonce": s.nonce, "ts": s.timestamp}
                                          for s in signed]).on_conflict_do_nothing()
    return {(str(k), str(n)) for k, n in session.execute(stmt.returning(_NONCES.c.key_id, _NONCES.c.nonce))}


_PG_NONCES = ("INSERT INTO exchange_nonces (key_id, nonce, ts) SELECT * FROM unnest(?::varchar[], ?::varchar[], "
              "?::bigint[]) ON CONFLICT DO NOTHING RETURNING key_id, nonce")


def _pension_since(session: Session, person_id: int, agreement_no: str) -> str | None:
    actor = department_actor(f"agreement:{agreement_no}"[:40])
    found = [e for e in benefits.entitlements_of_in(session, actor, person_id)
             if e.kind == "pension" and e.status == "active"]
    return min(e.start_period for e in found) if found else None


def _mask_name(name: str, masking: str) -> str:
    return name if masking == "clear" else registry.mask_name(name)


def _mask_card(card_no: str, masking: str) -> str:
    return card_no if masking == "clear" else card_no[:3] + "*" * max(0, len(card_no) - 5) + card_no[-2:]


def query(db: Database, request: SignedRequest) -> QueryOut:
    """查询: the item's minimal fields, masked unless the agreement says otherwise."""
    body: list[QueryIn] = []

    def item_of() -> str:
        body.append(_model(QueryIn, request.body))
        return body[0].item

    def answer(session: Session, granted: Granted) -> QueryOut:
        data = body[0]
        if granted.item == "health_encounter_stats":
            if data.first is None or data.last is None or data.last < data.first:
                raise ExchangeRequestMalformed("first and last: the days of the statistics, first <= last")
            _record(session, granted, None, "STATISTICS")
            cells = health_stats.encounter_counts_in(session, department_actor(granted.agreement_no[:40]),
                                                     data.first, data.last)
            return QueryOut(item=granted.item, agreement=granted.agreement_no, found=True,
                            data=[{"division": c.division, "month": c.month, "encounter_type": c.encounter_type,
                                   "count": c.count} for c in cells])
        if data.id_number is None:
            raise ExchangeRequestMalformed("id_number is required for this item")
        person = _person(session, data.id_number)
        if person is None:
            _record(session, granted, None, "PERSON_UNKNOWN")
            return QueryOut(item=granted.item, agreement=granted.agreement_no, found=False, data={})
        fields: dict[str, object]
        if granted.item == "card_status":
            card = cards.valid_card_of(session, person.id)
            fields = ({"card_no": _mask_card(card.card_no, granted.masking), "card_status": card.app_status,
                       "issued_on": card.issued_at.date().isoformat() if card.issued_at else None}
                      if card is not None else {"card_no": None, "card_status": None, "issued_on": None})
        elif granted.item == "person_basic":
            fields = {"name": _mask_name(person.name, granted.masking), "sex": person.sex,
                      "birth_date": person.birth_date.isoformat(), "region_code": person.region_code,
                      "living_status": person.living_status}
        elif granted.item == "participation_status":
            schemes = contributions.schemes_in_force(session, person.id, _period())
            fields = {"schemes": sorted({INSURANCE_OF[s.value] for s in schemes})}
        elif granted.item == "pension_receipt":
            since = _pension_since(session, person.id, granted.agreement_no)
            fields = {"receiving": since is not None, "since_period": since}
        else:
            raise ExchangeItemNotShareable(f"{granted.item} has no query", item=granted.item)
        _record(session, granted, person.id, "ANSWERED")
        return QueryOut(item=granted.item, agreement=granted.agreement_no, found=True, data=fields)

    return serve(db, request, "query", item_of, answer, count=False)


# --------------------------------------------------------------------------------------------------- bulk

BULK_ITEMS = ("card_status", "person_basic")
CHUNK = 10_000  # lines per transaction: the answer holds one chunk's lines at a time
BULK_HEADER = "line,result,reason\n"
_ACCESSES = cast(Table, ExchangeAccess.__table__)


def bulk_start(db: Database, request: SignedRequest, item: str) -> Granted:
    """Authenticate a bulk verification file (the signature covers the whole file) and grant it: one request
    against the daily quota."""
    def answer(session: Session, granted: Granted) -> Granted:
        if granted.item not in BULK_ITEMS:
            raise ExchangeItemNotShareable(f"{granted.item} has no bulk verification", item=granted.item)
        audit.record_read(session, granted.caller.actor, "exchange.bulk", "exchange_agreement", granted.agreement_no,
                          purpose=granted.purpose, item=granted.item, bytes=len(request.body))
        return granted

    return serve(db, request, "bulk", lambda: item, answer)


def _parse_line(line: str, today: dt.date | None = None) -> tuple[str, str] | None:
    number, sep, name = line.partition(",")
    if not sep:
        return None
    try:
        return idnumber.parse(number.strip(), today).value, name.strip()
    except DomainError:
        return None


def bulk_answer(db: Database, granted: Granted, lines: Iterable[str]) -> Iterator[str]:
    """The answer file of a bulk verification, streamed: ``line,result,reason`` and one line per input line
    (numbered from 1; blank lines and a first line ``id_number,name`` are answered as ``SKIPPED``). Input
    lines are ``id_number,name``; each chunk of ``CHUNK`` lines is looked up set-wise and its accesses recorded
    in one transaction. While one chunk is with the database, a helper thread parses the next (ID numbers
    checked, names normalised), so at most three chunks' lines are held at a time."""
    if granted.item not in BULK_ITEMS:
        raise ExchangeItemNotShareable(f"{granted.item} has no bulk verification", item=granted.item)
    yield BULK_HEADER
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchange-bulk") as parser:
        ready: list[_Parsed] | None = None
        for chunk in _chunks(lines):
            parsing = parser.submit(_parse_chunk, chunk)
            if ready is not None:
                yield _answer_chunk(db, granted, ready)
            ready = parsing.result()
        if ready is not None:
            yield _answer_chunk(db, granted, ready)


# line number, (ID number, the name normalised or None when it is not a valid name) or None, refusal reason
_Parsed = tuple[int, tuple[str, str | None] | None, str]


def _chunks(lines: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        chunk.append((number, line))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _normalised(name: str) -> str | None:
    try:
        return registry.normalise_name(name)
    except DomainError:
        return None


def _parse_chunk(chunk: list[tuple[int, str]]) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    today = dt.date.today()
    for number, raw in chunk:
        line = raw.rstrip("\r\n")
        if not line.strip() or (number == 1 and line.strip().lower().startswith("id_number")):
            parsed.append((number, None, "SKIPPED"))
            continue
        found = _parse_line(line, today)
        if found is None:
            parsed.append((number, None, "LINE_MALFORMED"))
        else:
            parsed.append((number, (found[0], _normalised(found[1])), ""))
    return parsed


def _answer_chunk(db: Database, granted: Granted, parsed: list[_Parsed]) -> str:
    actor = granted.caller.actor
    with db.unit_of_work() as session:
        numbers = {p[0] for _, p, _ in parsed if p is not None}
        persons = registry.persons_by_id_numbers_in(session, actor, numbers)
        person_ids = [pid for pid, _ in persons.values()]
        names = registry.names_of_persons_in(session, actor, person_ids)
        valid = cards.valid_cards_of_persons(session, person_ids) if granted.item == "card_status" else {}
        out: list[str] = []
        accesses: list[tuple[Any, ...]] = []
        at = utcnow()
        department_id, agreement_id, item = granted.caller.department_id, granted.agreement_id, granted.item
        for number, entry, reason in parsed:
            if entry is None:
                out.append(f"{number},0,{reason}\n")
                continue
            id_number, name = entry
            person = persons.get(id_number)
            if person is None:
                result, reason = False, "PERSON_UNKNOWN"
            else:
                pid, living = person
                if name is None or name != names.get(pid):
                    result, reason = False, "NAME_MISMATCH"
                elif item == "card_status":
                    card = valid.get(pid)
                    result, reason = _card_answer(card.app_status if card is not None else None)
                else:
                    result, reason = _living_answer(living)
                accesses.append((at, department_id, agreement_id, item, "bulk", pid, reason))
            out.append(f"{number},{1 if result else 0},{reason}\n")
        _insert_accesses(session, accesses)
        audit.record_read(session, actor, "exchange.bulk.lines", "exchange_agreement", granted.agreement_no,
                          purpose=granted.purpose, item=granted.item, first_line=parsed[0][0], lines=len(parsed),
                          persons=len(accesses))
        return "".join(out)


_ACCESS_COLUMNS = ("at", "department_id", "agreement_id", "item_code", "mode", "person_id", "outcome")


def _insert_accesses(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """A chunk's access records: COPY on PostgreSQL, pages of multi-row INSERTs on SQLite."""
    if not rows:
        return
    if session.connection().dialect.name == "postgresql":
        copy_rows(session, _ACCESSES.name, _ACCESS_COLUMNS, rows)
        return
    for start in range(0, len(rows), 1000):
        insert_rows(session, _ACCESSES, [dict(zip(_ACCESS_COLUMNS, row, strict=True))
                                         for row in rows[start:start + 1000]])


def refuse_bulk(db: Database, request: SignedRequest, err: DomainError, item: str) -> None:
    """Audit a bulk request refused before it was granted (the API's item parameter malformed)."""
    _refused(db, request, err, item, "bulk")


__all__ = ["BULK_HEADER", "Caller", "ExchangeError", "Granted", "SignedRequest", "authenticate", "bulk_answer",
           "bulk_start", "grant", "grant_for_department", "purge_nonces", "query", "serve", "verify",
           "verify_many"]
