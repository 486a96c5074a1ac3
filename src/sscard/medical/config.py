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
from sqlalchemy import ARRAY, Integer, String, bindparam, func, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from sscard.audit import service as audit
from sscard.auth.roles import Actor, Permission
from sscard.db import Database
from sscard.medical import rawsql
from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.errors import CatalogueInvalid, CatalogueItemNotFound, PolicyInvalid, PolicyMissing, PolicyOverlap
from sscard.medical.loading import parse_catalogue_csv, parse_policy
from sscard.medical.models import CatalogueRow, PolicyVersion
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


def _upsert(session: Session, items: Iterable[CatalogueItem]) -> tuple[int, int]:
    added = changed = 0
    for item in items:
        row = session.execute(select(CatalogueRow).where(CatalogueRow.code == item.code,
                                                         CatalogueRow.effective_from == item.effective_from)
                              ).scalar_one_or_none()
        if row is None:
            session.add(CatalogueRow(**_values(item)))
            added += 1
        elif _item(row) != item:
            for key, value in _values(item).items():
                setattr(row, key, value)
            changed += 1
    session.flush()
    return added, changed


def _check_codes(session: Session, codes: set[str]) -> None:
    """The rows of every touched code must still not overlap in time (the engine's Catalogue rule)."""
    rows = session.execute(select(CatalogueRow).where(CatalogueRow.code.in_(codes))).scalars().all()
    try:
        Catalogue([_item(r) for r in rows])
    except ValueError as exc:
        raise CatalogueInvalid(str(exc)) from None


def put_catalogue_item(db: Database, actor: Actor, item: CatalogueItem) -> None:
    """Add a row, or replace the row with the same code and ``effective_from`` (e.g. to end-date it)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        before = session.execute(select(CatalogueRow).where(CatalogueRow.code == item.code,
                                                            CatalogueRow.effective_from == item.effective_from)
                                 ).scalar_one_or_none()
        before_json = _item(before).model_dump(mode="json") if before else None
        _upsert(session, [item])
        _check_codes(session, {item.code})
        audit.record(session, actor, "medical.catalogue.put", "medical_catalogue", item.code, before_json,
                     item.model_dump(mode="json"))


def import_catalogue_csv(db: Database, actor: Actor, text: str, source: str = "<upload>") -> dict[str, int]:
    """Import a catalogue CSV (the settle-trial format): every row added or replaced, all or nothing."""
    actor.require(Permission.MEDICAL_ADMIN)
    items = parse_catalogue_csv(text, source).items()
    with db.unit_of_work() as session:
        added, changed = _upsert(session, items)
        codes = {i.code for i in items}
        for chunk in _chunks(sorted(codes), 500):
            _check_codes(session, set(chunk))
        summary = {"rows": len(items), "added": added, "changed": changed, "unchanged": len(items) - added - changed}
        audit.record(session, actor, "medical.catalogue.import", "medical_catalogue", source[:100], None,
                     {**summary, "sha256": hashlib.sha256(text.encode()).hexdigest()})
        return summary


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def delete_catalogue_item(db: Database, actor: Actor, code: str, effective_from: dt.date) -> None:
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        row = session.execute(select(CatalogueRow).where(CatalogueRow.code == code,
                                                         CatalogueRow.effective_from == effective_from)
                              ).scalar_one_or_none()
        if row is None:
            raise CatalogueItemNotFound(code, code=code)
        before = _item(row).model_dump(mode="json")
        session.delete(row)
        audit.record(session, actor, "medical.catalogue.delete", "medical_catalogue", code, before, None)


def list_catalogue(db: Database, actor: Actor, code_prefix: str = "", limit: int = 200) -> list[CatalogueItem]:
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        rows = session.execute(select(CatalogueRow).where(CatalogueRow.code.startswith(code_prefix, autoescape=True))
                               .order_by(CatalogueRow.code, CatalogueRow.effective_from)
                               .limit(max(1, min(limit, 5000)))).scalars()
        return [_item(r) for r in rows]


# ---------------------------------------------------------------------------------------------------- policy


def put_policy(db: Database, actor: Actor, policy: Policy) -> int:
    """Store a policy version (new ``policy_id``) or replace one; windows of different ids must not overlap.
    Returns the stored version number."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        others = session.execute(select(PolicyVersion).where(PolicyVersion.policy_id != policy.policy_id)).scalars()
        for other in others:
            if _overlaps(policy.effective_from, policy.effective_to, other.effective_from, other.effective_to):
                raise PolicyOverlap(f"{policy.policy_id} overlaps {other.policy_id}; end-date it first",
                                    other=other.policy_id)
        row = session.execute(select(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id)
                              ).scalar_one_or_none()
        document = policy.model_dump_json()
        before = None
        if row is None:
            row = PolicyVersion(policy_id=policy.policy_id, effective_from=policy.effective_from,
                                effective_to=policy.effective_to, document=document, version=1)
            session.add(row)
        else:
            before = json.loads(row.document)
            row.effective_from, row.effective_to = policy.effective_from, policy.effective_to
            row.document, row.version = document, row.version + 1
        session.flush()
        audit.record(session, actor, "medical.policy.put", "medical_policy", policy.policy_id, before,
                     json.loads(document))
        return row.version


def import_policy_file(db: Database, actor: Actor, text: str, source: str = "<upload>") -> list[str]:
    """Store every policy of a policy file (format sscard-policy/1), each as its own audited version."""
    book = parse_policy(text, source)
    for policy in sorted(book.policies, key=lambda p: p.effective_from):
        put_policy(db, actor, policy)
    return [p.policy_id for p in book.policies]


def end_policy(db: Database, actor: Actor, policy_id: str, effective_to: dt.date) -> int:
    """End-date a policy (so that a successor can start the day after)."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        row = session.execute(select(PolicyVersion).where(PolicyVersion.policy_id == policy_id)).scalar_one_or_none()
        if row is None:
            raise PolicyMissing(policy_id, policy_id=policy_id)
    document = Policy.model_validate_json(row.document).model_dump()
    try:
        ended = Policy.model_validate({**document, "effective_to": effective_to})
    except pydantic.ValidationError as exc:
        raise PolicyInvalid(exc.errors()[0]["msg"], policy_id=policy_id) from exc
    return put_policy(db, actor, ended)


def _overlaps(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    return (a_to is None or a_to >= b_from) and (b_to is None or b_to >= a_from)


# The settlement path's two lookups, built once (a statement built per call costs more CPU than its round trip).
_POLICY_IN_EFFECT = (PolicyVersion.effective_from <= bindparam("day"),
                     or_(PolicyVersion.effective_to.is_(None), PolicyVersion.effective_to >= bindparam("day")))
_CATALOGUE_IN_EFFECT = (CatalogueRow.effective_from <= bindparam("day"),
                        or_(CatalogueRow.effective_to.is_(None), CatalogueRow.effective_to >= bindparam("day")))
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
    rows = rawsql.execute(session, _RULES_ON[session.get_bind().dialect.name],
                          {"day": day, "codes": sorted(set(codes))})
    policy = _policy(session, day, [r[1:3] for r in rows if r[0] == "p"])
    return policy, _catalogue([r[3:] for r in rows if r[0] == "c"])


def _catalogue(rows: Iterable[Sequence[Any]]) -> Catalogue:
    return Catalogue([CatalogueItem.model_validate(dict(zip(_ITEM_FIELDS, r, strict=True))) for r in rows])


def list_policies(db: Database, actor: Actor) -> list[Policy]:
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        docs = session.execute(select(PolicyVersion.document).order_by(PolicyVersion.effective_from)).scalars()
        return [Policy.model_validate_json(d) for d in docs]
