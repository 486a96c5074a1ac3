"""Table: policy parameters, one row per (name, effective date, version).

Rows are appended, never changed (the database refuses UPDATE and DELETE): a future-dated value replaced before
it takes effect gets a new version, the old one kept. The value in effect on a day is the latest version of the
latest date on or before it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class PolicyParameter(Base):
    __tablename__ = "policy_parameters"
    __table_args__ = (UniqueConstraint("name", "effective_from", "version", name="uq_policy_name_from_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    value: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))
