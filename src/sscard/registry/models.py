"""Tables: persons, and the ID numbers a person held before a correction (身份证号变更 / 一人多号)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sscard.audit.models import Recorded
from sscard.db import Base, utcnow


class Person(Recorded, Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)  # 社会保障号码 = 公民身份号码
    name: Mapped[str] = mapped_column(String(50))  # full Unicode; length counted in code points
    sex: Mapped[str] = mapped_column(String(1))  # GB/T 2261.1: 1 male, 2 female
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(2), default="01")  # 民族, GB/T 3304 (01 汉族)
    region_code: Mapped[str] = mapped_column(String(6), index=True)  # division of residence (Qingyuan)
    phone: Mapped[str | None] = mapped_column(String(20))
    living_status: Mapped[str] = mapped_column(String(1), default="1")  # AAC060
    legacy_id_number: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    def snapshot(self) -> dict[str, object]:
        """What the audit log records (ID number masked: invariant 8)."""
        return {
            "id_number": self.id_number[:4] + "**********" + self.id_number[-4:],
            "name": self.name,
            "sex": self.sex,
            "birth_date": self.birth_date.isoformat(),
            "ethnicity": self.ethnicity,
            "region_code": self.region_code,
            "phone": self.phone,
            "living_status": self.living_status,
        }


class PersonIdAlias(Base):
    """An ID number the person held before the public-security bureau corrected it: the person keeps one record
    (card, contributions, accounts and benefits hang on ``persons.id``); the old number still finds them."""

    __tablename__ = "person_id_aliases"

    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)  # the old number (one person only)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    replaced_by: Mapped[str] = mapped_column(String(18))  # the number that replaced it
    source: Mapped[str] = mapped_column(String(64))  # who corrected it (e.g. dept:PSB file id)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
