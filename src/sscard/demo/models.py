"""What a database is: ``instance_marks`` holds one row per mark, written once when the database is created.

``sscard demo`` writes ``kind = demo`` into the database it creates; the demo seed (operators with the public
demo password) refuses any database without that mark, and ``sscard doctor`` reports a demo database in
production mode.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, Database, utcnow

KIND = "kind"
DEMO = "demo"


class InstanceMark(Base):
    __tablename__ = "instance_marks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def mark_demo(db: Database) -> None:
    """Mark a database just created by ``sscard demo`` as a demo database."""
    with db.unit_of_work() as s:
        if s.get(InstanceMark, KIND) is None:
            s.add(InstanceMark(name=KIND, value=DEMO))


def kind_of(db: Database) -> str | None:
    with db.unit_of_work() as s:
        return s.scalar(select(InstanceMark.value).where(InstanceMark.name == KIND))


def is_demo(db: Database) -> bool:
    return kind_of(db) == DEMO
