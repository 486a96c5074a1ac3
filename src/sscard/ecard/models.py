"""Tables: the e-cards (one per physical card, token and status), the codes used once (settlement), and the
family members a holder shows in the app (with the consent recorded)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class Ecard(Base):
    """电子社保卡: bound to one card (moves to the new card on replacement), identified in codes by ``token``."""

    __tablename__ = "ecards"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'ended')", name="status"),
        # One live e-card per person, as one valid card per person: the database enforces it.
        Index("ux_ecards_person_live", "person_id", unique=True, sqlite_where=text("status <> 'ended'"),
              postgresql_where=text("status <> 'ended'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # hex of 16 random bytes
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    activated_via: Mapped[str] = mapped_column(String(10))  # portal | kiosk
    activated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def snapshot(self) -> dict[str, object]:
        return {"status": self.status, "card_id": self.card_id}


class EcardCodeUse(Base):
    """A code spent (settlement): the primary key makes a second use fail, whoever tries it."""

    __tablename__ = "ecard_code_uses"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(16), primary_key=True)
    issued_at: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EcardFamilyMember(Base):
    """亲情账户: a relative whose e-card the holder may show (an elderly parent, a child), with the consent."""

    __tablename__ = "ecard_family_members"
    __table_args__ = (UniqueConstraint("holder_person_id", "member_ecard_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    member_ecard_id: Mapped[int] = mapped_column(ForeignKey("ecards.id"))
    relation: Mapped[str] = mapped_column(String(20))
    consent: Mapped[str] = mapped_column(String(40))  # how the member (or guardian) consented
    consented_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
