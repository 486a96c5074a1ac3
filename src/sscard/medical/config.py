"""The persisted, effective-dated catalogue and policy: administrator edits (audited) and the settlement path's
lookups (the catalogue rows a bill names; the policy in effect on a date, parsed once per version and cached)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import pydantic
from sqlalchemy import ARRAY, Integer, String, bindparam, exists, func, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from sscard import bulksql, clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.errors import (
    CatalogueBackdated,
    CatalogueInEffect,
    CatalogueInvalid,
    CatalogueItemNotFound,
    MedicalHistoryClosed,
    MedicalPolicyBackdated,
    MedicalPolicyInEffect,
    PolicyInvalid,
    PolicyMissing,
    PolicyOverlap,
)
from sscard.medical.loading import parse_catalogue_csv, parse_policy
from sscard.medical.models import CatalogueRow, PolicyVersion, Settlement
from sscard.medical.policy import Policy

_cache_lock = threading.Lock()
_policy_cache: dict[tuple[object, int, int], Policy] = {}  # (database URL, row id, version) → parsed policy


# ---------------------------------------------------------------------------------------------------- catalogue


def _item(row: CatalogueRow) -> CatalogueItem:
    return CatalogueItem.model_validate({
        "code": row.code, "name": row.name, "item_type": row.item_type, "catalogue_class": row.catalogue_class,
        "price_cap_fen": row.price_cap_fen, "yi_self_pay_bp": row.yi_self_pay_bp,
        "effective_from": row.effective_from, "effective_to": row.effective_to})


_ITEM_FIELDS = ("code", "name", "item_type", "catalogue_class", "price_cap_fen", "yi_self_pay_bp", "effective_from",
                "effective_to")


def _values(item: CatalogueItem) -> dict[str, object]:
    return {"code": item.code, "name": item.name, "item_type": item.item_type.value,
            "catalogue_class": item.catalogue_class.value, "price_cap_fen": item.price_cap_fen,
            "yi_self_pay_bp": item.yi_self_pay_bp, "effective_from": item.effective_from,
            "effective_to": item.effective_to}


def _latest_row(session: Session, code: str, effective_from: dt.date) -> CatalogueRow | None:
    return session.execute(select(CatalogueRow).where(CatalogueRow.code == code,
                                                      CatalogueRow.effective_from == effective_from)
                           .order_by(CatalogueRow.version.desc()).limit(1)).scalar_one_or_none()


def _end_moved_from_today(old_to: dt.date | None, new_to: dt.date | None, today: dt.date) -> bool:
    """Moving an end date from ``old_to`` to ``new_to`` changes only days from today on (an end of yesterday
    is the earliest: it takes today away, never a day already past)."""
    earliest = today - dt.timedelta(days=1)
    return (old_to is None or old_to >= earliest) and (new_to is None or new_to >= earliest)


def _append_items(session: Session, items: Iterable[CatalogueItem], today: dt.date | None) -> tuple[int, int]:
    """Append each item as the next version of its (code, effective_from), unchanged ones skipped. ``today``
    None is the initial load (any date); otherwise the rule of the module applies."""
    added = changed = 0
    for item in items:
        latest = _latest_row(session, item.code, item.effective_from)
        current = None if latest is None or latest.withdrawn else _item(latest)
        if current == item:
            continue
        if today is not None:
            _check_item_change(current, item, today)
        session.add(CatalogueRow(**_values(item), version=latest.version + 1 if latest else 1))
        if current is None:
            added += 1
        else:
            changed += 1
    session.flush()
    return added, changed


def _check_item_change(current: CatalogueItem | None, item: CatalogueItem, today: dt.date) -> None:
    where = f"{item.code} from {item.effective_from.isoformat()}"
    if current is None:
        if item.effective_from < today:
            raise CatalogueBackdated(f"{where} is before today ({today.isoformat()})", code=item.code,
                                     today=today.isoformat())
        return
    if item.effective_from > today:
        return  # not in effect yet: any change is a new version, the old one kept
    same_but_end = current.model_copy(update={"effective_to": item.effective_to}) == item
    if not same_but_end or not _end_moved_from_today(current.effective_to, item.effective_to, today):
        raise CatalogueInEffect(f"{where} is in effect: only its end can move, from today on", code=item.code,
                                today=today.isoformat())


def _check_codes(session: Session, codes: set[str]) -> None:
    """The rows in force of every touched code must still not overlap in time (the engine's Catalogue rule)."""
    rows = session.execute(select(CatalogueRow).where(CatalogueRow.code.in_(codes), *_CATALOGUE_LATEST)
                           ).scalars().all()
    try:
        Catalogue([_item(r) for r in rows])
    except ValueError as exc:
        raise CatalogueInvalid(str(exc)) from None


def put_catalogue_item(db: Database, actor: Actor, item: CatalogueItem) -> None:
    """Add a row effective today or later, or change one: a row not yet in effect freely, a row in effect only
    by moving its end (from today on). Each change is appended as a new version, the earlier one kept."""
    actor.require(Permission.MEDICAL_ADMIN)
    today = clock.local_date()
    with db.unit_of_work() as session:
        before = _latest_row(session, item.code, item.effective_from)
        before_json = _item(before).model_dump(mode="json") if before and not before.withdrawn else None
        added, changed = _append_items(session, [item], today)
        if not added and not changed:
            return
        _check_codes(session, {item.code})
        audit.record(session, actor, "medical.catalogue.put", "medical_catalogue", item.code, before_json,
                     item.model_dump(mode="json"))


def import_catalogue_csv(db: Database, actor: Actor, text: str, source: str = "<upload>") -> dict[str, int]:
    """Import a catalogue CSV (the settle-trial format): each row added or changed under the rule of
    :func:`put_catalogue_item` (appended as a new version), all or nothing."""
    actor.require(Permission.MEDICAL_ADMIN)
    items = parse_catalogue_csv(text, source).items()
    return _import_items(db, actor, items, text, source, clock.local_date(), "medical.catalogue.import")


def _import_items(db: Database, actor: Actor, items: Sequence[CatalogueItem], text: str, source: str,
                  today: dt.date | None, action: str) -> dict[str, int]:
    with db.unit_of_work() as session:
        if today is None:
            _require_fresh(session, f"catalogue {source}")
        added, changed = _append_items(session, items, today)
        codes = {i.code for i in items}
        for chunk in _chunks(sorted(codes), 500):
            _check_codes(session, set(chunk))
        summary = {"rows": len(items), "added": added, "changed": changed, "unchanged": len(items) - added - changed}
        audit.record(session, actor, action, "medical_catalogue", source[:100], None,
                     {**summary, "sha256": hashlib.sha256(text.encode()).hexdigest()})
        return summary


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def delete_catalogue_item(db: Database, actor: Actor, code: str, effective_from: dt.date) -> None:
    """Withdraw a row that is not in effect yet (appended as a withdrawn version, the row kept in history).
    A row already in effect is ended instead (:func:`put_catalogue_item` with an ``effective_to``):
    CATALOGUE_IN_EFFECT."""
    actor.require(Permission.MEDICAL_ADMIN)
    today = clock.local_date()
    with db.unit_of_work() as session:
        row = _latest_row(session, code, effective_from)
        if row is None or row.withdrawn:
            raise CatalogueItemNotFound(code, code=code)
        if effective_from <= today:
            raise CatalogueInEffect(f"{code} from {effective_from.isoformat()} is in effect: end-date it instead",
                                    code=code, today=today.isoformat())
        before = _item(row)
        session.add(CatalogueRow(**_values(before), version=row.version + 1, withdrawn=True))
        session.flush()
        audit.record(session, actor, "medical.catalogue.delete", "medical_catalogue", code,
                     before.model_dump(mode="json"), None)


def list_catalogue(db: Database, actor: Actor, code_prefix: str = "", limit: int = 200) -> list[CatalogueItem]:
    """The rows in force (the latest version of each, withdrawn ones left out)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        rows = session.execute(select(CatalogueRow).where(CatalogueRow.code.startswith(code_prefix, autoescape=True),
                                                          *_CATALOGUE_LATEST)
                               .order_by(CatalogueRow.code, CatalogueRow.effective_from)
                               .limit(max(1, min(limit, 5000)))).scalars()
        return [_item(r) for r in rows]


def catalogue_history(db: Database, actor: Actor, code: str) -> list[tuple[int, bool, CatalogueItem]]:
    """Every stored version of a code's rows, oldest first: (version, withdrawn, row)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        rows = session.execute(select(CatalogueRow).where(CatalogueRow.code == code)
                               .order_by(CatalogueRow.effective_from, CatalogueRow.version)).scalars()
        return [(r.version, r.withdrawn, _item(r)) for r in rows]


# ---------------------------------------------------------------------------------------------------- policy


def _latest_policy(session: Session, policy_id: str) -> PolicyVersion | None:
    return session.execute(select(PolicyVersion).where(PolicyVersion.policy_id == policy_id)
                           .order_by(PolicyVersion.version.desc()).limit(1)).scalar_one_or_none()


def put_policy(db: Database, actor: Actor, policy: Policy) -> int:
    """Store a policy (new ``policy_id``, effective today or later) or change one: a policy not yet in effect
    freely (from today or later), a policy in effect only by moving its end from today on. Each change is
    appended as the next version, the earlier document kept; windows of different ids must not overlap.
    Returns the version in force (unchanged if the document is the same)."""
    actor.require(Permission.MEDICAL_ADMIN)
    return _store_policy(db, actor, policy, clock.local_date())


def _check_policy_change(current: Policy | None, policy: Policy, today: dt.date) -> None:
    pid = policy.policy_id
    if current is not None and current.effective_from <= today:
        same_but_end = current.model_copy(update={"effective_to": policy.effective_to}) == policy
        if not same_but_end or not _end_moved_from_today(current.effective_to, policy.effective_to, today):
            raise MedicalPolicyInEffect(f"{pid} is in effect since {current.effective_from.isoformat()}: only its "
                                        "end can move, from today on; add a new policy from today or later",
                                        policy_id=pid, today=today.isoformat())
    elif policy.effective_from < today:
        raise MedicalPolicyBackdated(f"{pid} from {policy.effective_from.isoformat()} is before today "
                                     f"({today.isoformat()})", policy_id=pid, today=today.isoformat())


def _store_policy(db: Database, actor: Actor, policy: Policy, today: dt.date | None) -> int:
    with db.unit_of_work() as session:
        if today is None:
            _require_fresh(session, f"policy {policy.policy_id}")
        row = _latest_policy(session, policy.policy_id)
        current = Policy.model_validate_json(row.document) if row else None
        if current == policy and row is not None:
            return row.version
        if today is not None:
            _check_policy_change(current, policy, today)
        others = session.execute(select(PolicyVersion).where(PolicyVersion.policy_id != policy.policy_id,
                                                             *_POLICY_LATEST)).scalars()
        for other in others:
            if _overlaps(policy.effective_from, policy.effective_to, other.effective_from, other.effective_to):
                raise PolicyOverlap(f"{policy.policy_id} overlaps {other.policy_id}; end-date it first",
                                    other=other.policy_id)
        document = policy.model_dump_json()
        new = PolicyVersion(policy_id=policy.policy_id, effective_from=policy.effective_from,
                            effective_to=policy.effective_to, document=document,
                            version=row.version + 1 if row else 1)
        session.add(new)
        session.flush()
        audit.record(session, actor, "medical.policy.put" if today else "medical.policy.initial_load",
                     "medical_policy", policy.policy_id, json.loads(row.document) if row else None,
                     {**json.loads(document), "version": new.version})
        return new.version


def import_policy_file(db: Database, actor: Actor, text: str, source: str = "<upload>") -> list[str]:
    """Store every policy of a policy file (format sscard-policy/1), each under the rule of :func:`put_policy`
    as its own audited version."""
    book = parse_policy(text, source)
    for policy in sorted(book.policies, key=lambda p: p.effective_from):
        put_policy(db, actor, policy)
    return [p.policy_id for p in book.policies]


def _require_fresh(session: Session, what: str) -> None:
    if session.execute(select(Settlement.id).limit(1)).first() is not None:
        raise MedicalHistoryClosed(f"{what}: settlements exist")


def load_initial(db: Database, actor: Actor, policy_text: str, catalogue_text: str,
                 policy_source: str = "<policy>", catalogue_source: str = "<catalogue>") -> None:
    """Give a database without settlements its past policy and catalogue (rows of any date), the sanctioned
    path for seeds, commissioning and test worlds; no API, page or CLI command calls it. Each row is appended
    as a version (nothing stored changes) and audited as an initial load. Once a settlement exists, decisions
    were taken under what is stored and this is refused (MEDICAL_HISTORY_CLOSED)."""
    actor.require(Permission.MEDICAL_ADMIN)
    book = parse_policy(policy_text, policy_source)
    items = parse_catalogue_csv(catalogue_text, catalogue_source).items()
    for policy in sorted(book.policies, key=lambda p: p.effective_from):
        _store_policy(db, actor, policy, None)
    _import_items(db, actor, items, catalogue_text, catalogue_source, None, "medical.catalogue.initial_load")


def end_policy(db: Database, actor: Actor, policy_id: str, effective_to: dt.date) -> int:
    """End-date a policy (so that a successor can start the day after): from yesterday at the earliest."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        row = _latest_policy(session, policy_id)
        if row is None:
            raise PolicyMissing(policy_id, policy_id=policy_id)
    document = Policy.model_validate_json(row.document).model_dump()
    try:
        ended = Policy.model_validate({**document, "effective_to": effective_to})
    except pydantic.ValidationError as exc:
        raise PolicyInvalid(exc.errors()[0]["msg"], policy_id=policy_id) from exc
    return put_policy(db, actor, ended)


def policy_history(db: Database, actor: Actor, policy_id: str) -> list[tuple[int, Policy]]:
    """Every stored version of a policy, oldest first: (version, document)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        rows = session.execute(select(PolicyVersion.version, PolicyVersion.document)
                               .where(PolicyVersion.policy_id == policy_id).order_by(PolicyVersion.version)).all()
        if not rows:
            raise PolicyMissing(policy_id, policy_id=policy_id)
        return [(int(v), Policy.model_validate_json(d)) for v, d in rows]


def _overlaps(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    return (a_to is None or a_to >= b_from) and (b_to is None or b_to >= a_from)


# Only the latest version of a policy id / of a catalogue row (code, effective_from) is in force; a withdrawn
# catalogue version takes its row out.
_later_policy = aliased(PolicyVersion)
_POLICY_LATEST = (~exists().where(_later_policy.policy_id == PolicyVersion.policy_id,
                                  _later_policy.version > PolicyVersion.version),)
_later_row = aliased(CatalogueRow)
_CATALOGUE_LATEST = (CatalogueRow.withdrawn.is_(False),
                     ~exists().where(_later_row.code == CatalogueRow.code,
                                     _later_row.effective_from == CatalogueRow.effective_from,
                                     _later_row.version > CatalogueRow.version))


# The settlement path's two lookups, built once (a statement built per call costs more CPU than its round trip).
_POLICY_IN_EFFECT = (PolicyVersion.effective_from <= bindparam("day"),
                     or_(PolicyVersion.effective_to.is_(None), PolicyVersion.effective_to >= bindparam("day")),
                     *_POLICY_LATEST)
_CATALOGUE_IN_EFFECT = (CatalogueRow.effective_from <= bindparam("day"),
                        or_(CatalogueRow.effective_to.is_(None), CatalogueRow.effective_to >= bindparam("day")),
                        *_CATALOGUE_LATEST)
_CODES = {  # PostgreSQL: one array parameter, so the statement text is the same for any number of codes
    "postgresql": CatalogueRow.code == func.any(bindparam("codes", type_=ARRAY(String))),
    "sqlite": CatalogueRow.code.in_(bindparam("codes", expanding=True))}


def _policy(session: Session, day: dt.date, rows: Sequence[tuple[Any, ...]]) -> Policy:
    """The policy of a row (id, version) found in effect on ``day``: from the cache, or read and parsed once."""
    if not rows:
        raise PolicyMissing(f"no medical policy in effect on {day.isoformat()}", date=day.isoformat())
    found_id, found_version = rows[0]
    key = (session.get_bind().engine.url, int(found_id), int(found_version))
    with _cache_lock:
        cached = _policy_cache.get(key)
    if cached is not None:
        return cached
    document = session.execute(select(PolicyVersion.document).where(PolicyVersion.id == found_id)).scalar_one()
    policy = Policy.model_validate_json(document)
    with _cache_lock:
        if len(_policy_cache) > 256:
            _policy_cache.clear()
        _policy_cache[key] = policy
    return policy


# The settlement path's two lookups in one round trip: the policy row ('p': id, version) and the catalogue rows
# ('c': the item's fields), in one UNION ALL.
_NO_ITEM = [null().cast(getattr(CatalogueRow, k).type).label(k) for k in _ITEM_FIELDS]
_RULES_ON = {
    dialect: union_all(
        select(literal_column("'p'").label("kind"), PolicyVersion.id.label("policy_id"),
               PolicyVersion.version.label("policy_version"), *_NO_ITEM).where(*_POLICY_IN_EFFECT),
        select(literal_column("'c'"), null().cast(Integer), null().cast(Integer),
               *(getattr(CatalogueRow, k) for k in _ITEM_FIELDS)).where(codes, *_CATALOGUE_IN_EFFECT))
    for dialect, codes in _CODES.items()}


def rules_on(session: Session, day: dt.date, codes: Iterable[str]) -> tuple[Policy, Catalogue]:
    """The policy in effect on ``day`` (POLICY_MISSING if none; parsed documents are cached per version) and
    the catalogue rows in effect then for ``codes`` (a bill never needs the whole catalogue), in one query."""
    rows = bulksql.execute(session, _RULES_ON[session.get_bind().dialect.name],
                          {"day": day, "codes": sorted(set(codes))})
    policy = _policy(session, day, [r[1:3] for r in rows if r[0] == "p"])
    return policy, _catalogue([r[3:] for r in rows if r[0] == "c"])


def _catalogue(rows: Iterable[Sequence[Any]]) -> Catalogue:
    return Catalogue([CatalogueItem.model_validate(dict(zip(_ITEM_FIELDS, r, strict=True))) for r in rows])


def list_policies(db: Database, actor: Actor) -> list[Policy]:
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        docs = session.execute(select(PolicyVersion.document).where(*_POLICY_LATEST)
                               .order_by(PolicyVersion.effective_from)).scalars()
        return [Policy.model_validate_json(d) for d in docs]
