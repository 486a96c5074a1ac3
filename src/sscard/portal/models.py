"""Tables: portal accounts (query password, contact address) and cardholder sessions (lockout: ``auth.throttle``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base, utcnow


class PortalAccount(Base):
    """One per person: the argon2 hash of the query password (查询密码) set at activation."""

    __tablename__ = "portal_accounts"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # 通讯地址: the registry keeps no address; the portal keeps the one the cardholder gives for mail.
    address: Mapped[str | None] = mapped_column(String(200))
    password_set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PortalSession(Base):
    """A cardholder's login; only the token's SHA-256 is stored. Kiosk sessions also expire when idle."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kiosk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
