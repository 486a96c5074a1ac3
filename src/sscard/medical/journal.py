"""The message journal: a repeated message id returns the first answer and changes nothing twice.

``begin`` inserts the (institution, msg_id) row first, with ON CONFLICT DO NOTHING: a concurrent twin waits on
the unique index until the first commits, then finds its answer (or, if the first rolled back, proceeds). The
answer is written by ``finish`` in the same transaction as the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sscard.medical.errors import MessageIdReused
from sscard.medical.models import Message

VOID = "void"  # a tombstone left by 2601 for a message that never arrived


def request_hash(request: BaseModel) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Message)
    return sqlite.insert(Message)


def claim(session: Session, institution_id: int, msg_id: str, kind: str, digest: str) -> Message | None:
    """Insert the message row; ``None`` if it is new, else the existing row (committed by someone else)."""
    inserted = session.execute(_insert(session).values(institution_id=institution_id, msg_id=msg_id, kind=kind,
                                                       request_sha256=digest)
                               .on_conflict_do_nothing().returning(Message.id)).first()
    if inserted is not None:
        return None
    return session.execute(select(Message).where(Message.institution_id == institution_id,
                                                 Message.msg_id == msg_id)).scalar_one()


def begin(session: Session, institution_id: int, msg_id: str, kind: str, digest: str) -> str | None:
    """``None``: a new message, go ahead. Otherwise the stored answer (JSON) of the identical first request."""
    existing = claim(session, institution_id, msg_id, kind, digest)
    if existing is None:
        return None
    if existing.kind != kind or existing.request_sha256 != digest or existing.response is None:
        what = "voided by 2601" if existing.kind == VOID else f"a {existing.kind} request with other content"
        raise MessageIdReused(f"message id {msg_id} was used for {what}", msg_id=msg_id, kind=existing.kind)
    return existing.response


def finish(session: Session, institution_id: int, msg_id: str, response: str) -> None:
    session.execute(update(Message).where(Message.institution_id == institution_id, Message.msg_id == msg_id)
                    .values(response=response))
