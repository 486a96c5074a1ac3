"""The message journal: a repeated message id returns the first answer and changes nothing twice.

``begin`` inserts the (institution, msg_id) row first, with ON CONFLICT DO NOTHING: a concurrent twin waits on
the unique index until the first commits, then finds its answer (or, if the first rolled back, proceeds). The
answer is written by ``finish`` in the same transaction as the change it describes.

Statements are built on the tables (Core), not the ORM classes: they are compiled once and cached, where an
ORM-enabled INSERT … ON CONFLICT went through the ORM's bulk machinery and was recompiled on every request.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sscard import bulksql
from sscard.db import utcnow
from sscard.medical.errors import InstitutionAuthFailed, MessageIdReused
from sscard.medical.models import Message
from sscard.medical.terms import MessageKind


def request_hash(request: BaseModel) -> str:
    """SHA-256 of the request's JSON as pydantic writes it (fields in declaration order): the same content
    gives the same text. Cheap: on the settlement path, hashing sorted-key ``json.dumps`` output instead cost
    about a twentieth of the server's CPU (py-spy, bench/settlement.py).

    A field added to a request after messages were stored (named in the model's ``HASH_OMIT_IF_NONE``, e.g.
    ``SettleIn.insuplc_admdvs``) is left out while it is absent: the hash is exactly that of what a client
    before the field sent, so a message stored before an upgrade and retried after it is still the same
    message (not MESSAGE_ID_REUSED)."""
    omit: frozenset[str] = getattr(type(request), "HASH_OMIT_IF_NONE", frozenset())
    absent = {name for name in omit if getattr(request, name) is None}
    return hashlib.sha256(request.__pydantic_serializer__.to_json(request, exclude=absent or None)).hexdigest()


_TABLE = Message.metadata.tables[Message.__tablename__]
_COLUMNS = ("institution_id", "msg_id", "kind", "request_sha256", "created_at")


_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_CLAIM = {name: insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id) for name, insert in _INSERTS.items()}


Condition = tuple[ColumnElement[bool], dict[str, Any]]  # a prebuilt SQL condition and its parameters
_claim_if: dict[tuple[str, int], tuple[ColumnElement[bool], Any]] = {}


def _claim_if_statement(dialect: str, condition: ColumnElement[bool]) -> Any:
    """INSERT … SELECT <values> WHERE <condition> ON CONFLICT DO NOTHING, built once per condition."""
    found = _claim_if.get((dialect, id(condition)))
    if found is None or found[0] is not condition:
        row = select(*(bindparam(k, type_=_TABLE.c[k].type) for k in _COLUMNS)).where(condition)
        stmt = _INSERTS[dialect](_TABLE).from_select(list(_COLUMNS), row).on_conflict_do_nothing() \
            .returning(_TABLE.c.id)
        found = _claim_if[(dialect, id(condition))] = (condition, stmt)
    return found[1]


def claim(session: Session, institution_id: int, msg_id: str, kind: str, digest: str,
          only_if: Condition | None = None) -> Message | None:
    """Insert the message row; ``None`` if it is new, else the existing row (committed by someone else).

    ``only_if`` (e.g. "the caller's API key is still valid": ``institutions.key_valid``) is checked in the
    same statement: if it is false nothing is inserted and INSTITUTION_AUTH_FAILED is raised, for a new message
    and a repeated one alike."""
    values = {"institution_id": institution_id, "msg_id": msg_id, "kind": kind, "request_sha256": digest,
              "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if only_if is None:
        inserted = bulksql.execute(session, _CLAIM[dialect], values)
    else:
        inserted = bulksql.execute(session, _claim_if_statement(dialect, only_if[0]), {**values, **only_if[1]})
    if inserted:
        return None
    existing = session.execute(select(Message).where(Message.institution_id == institution_id,
                                                     Message.msg_id == msg_id)).scalar_one_or_none()
    if only_if is not None and (existing is None or not session.execute(select(only_if[0]), only_if[1]).scalar()):
        raise InstitutionAuthFailed()
    if existing is None:  # pragma: no cover - ON CONFLICT found a row, so it exists
        raise RuntimeError(f"message {msg_id} neither inserted nor found")
    return existing


def begin(session: Session, institution_id: int, msg_id: str, kind: str, request: BaseModel,
          only_if: Condition | None = None) -> str | None:
    """``None``: a new message, go ahead. Otherwise the stored answer (JSON) of the identical first request."""
    digest = request_hash(request)
    existing = claim(session, institution_id, msg_id, kind, digest, only_if)
    if existing is None:
        return None
    same = existing.request_sha256 == digest
    if existing.kind != kind or not same or existing.response is None:
        voided = existing.kind == MessageKind.TOMBSTONE
        what = "voided by 2601" if voided else f"a {existing.kind} request with other content"
        raise MessageIdReused(f"message id {msg_id} was used for {what}", msg_id=msg_id, kind=existing.kind)
    return existing.response


_FINISH = (update(_TABLE).where(_TABLE.c.institution_id == bindparam("i"), _TABLE.c.msg_id == bindparam("m"))
           .values(response=bindparam("r")))


def finish(session: Session, institution_id: int, msg_id: str, response: str) -> None:
    bulksql.execute(session, *finish_write(institution_id, msg_id, response))


def finish_write(institution_id: int, msg_id: str, response: str) -> bulksql.Write:
    """``finish`` as a statement to run later (``bulksql.write_all``)."""
    return _FINISH, {"i": institution_id, "m": msg_id, "r": response}
