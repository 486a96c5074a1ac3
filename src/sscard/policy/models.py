"""Table: policy parameters, one row per (name, effective date)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class PolicyParameter(Base):
    __tablename__ = "policy_parameters"
    __table_args__ = (UniqueConstraint("name", "effective_from", name="uq_policy_name_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    value: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))
