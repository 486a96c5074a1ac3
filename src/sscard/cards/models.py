"""Tables: card numbers, applications, cards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.audit.models import Recorded
from sscard.db import Base, utcnow


class CardNumber(Base):
    """The card-number pool: an insert-only counter, so allocation needs no lock."""

    __tablename__ = "card_numbers"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    allocated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Application(Recorded, Base):
    """申领: a request for a card (new, replacement of a lost card, exchange of an existing one)."""

    __tablename__ = "applications"
    __table_args__ = (
        # At most one application in progress per person.
        Index("ux_applications_person_open", "person_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    business: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(10))
    employer_uscc: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(10))
    old_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", use_alter=True), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    operator: Mapped[str] = mapped_column(String(50))
    outlet: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]


class Card(Recorded, Base):
    """One physical card. ``production_status`` and ``app_status`` are the two independent status fields."""

    __tablename__ = "cards"
    __table_args__ = (
        # One person, one valid card: at most one issued card that is not cancelled.
        Index("ux_cards_person_valid", "person_id", unique=True,
              sqlite_where=text("app_status IS NOT NULL AND app_status <> '9'"),
              postgresql_where=text("app_status IS NOT NULL AND app_status <> '9'")),
        Index("ix_cards_temp_loss_due", "temp_loss_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    card_no: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    production_status: Mapped[str] = mapped_column(String(2))
    app_status: Mapped[str | None] = mapped_column(String(1))
    status_before_loss: Mapped[str | None] = mapped_column(String(1))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    bank_code: Mapped[str | None] = mapped_column(String(10))
    pin_hmac: Mapped[str | None] = mapped_column(String(64))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    temp_loss_expires_at: Mapped[dt.datetime | None]
    formal_loss_at: Mapped[dt.datetime | None]
    issued_at: Mapped[dt.datetime | None]
    activated_at: Mapped[dt.datetime | None]
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - optimistic locking across requests

    def snapshot(self) -> dict[str, object]:
        return {
            "card_no": self.card_no,
            "production_status": self.production_status,
            "app_status": self.app_status,
            "status_before_loss": self.status_before_loss,
            "pin_failures": self.pin_failures,
            "outlet_id": self.outlet_id,
            "temp_loss_expires_at": self.temp_loss_expires_at.isoformat() if self.temp_loss_expires_at else None,
            "cancel_reason": self.cancel_reason,
        }
