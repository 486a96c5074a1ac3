"""Tables: portal accounts (query password, contact address), cardholder sessions (lockout: ``auth.throttle``),
the certificates issued with their verification codes, and the cardholders' online card orders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, String
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


class PortalCertificate(Base):
    """参保证明 / 缴费清单 issued to a cardholder (online or at a kiosk): the verification code printed on it, what it
    certifies (``kind``), until when a verifier should accept it, and the SHA-256 of the facts it printed."""

    __tablename__ = "portal_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # insured (参保证明) | contributions (缴费清单)
    channel: Mapped[str] = mapped_column(String(10))  # portal | kiosk
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    facts_sha256: Mapped[str] = mapped_column(String(64))


class PortalCardOrder(Base):
    """网上补换卡: the cardholder's order of a replacement or exchange card (the application itself is the card
    package's), with where the new card goes: mailed to ``address`` or held at the chosen ``outlet_code``."""

    __tablename__ = "portal_card_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    delivery: Mapped[str] = mapped_column(String(10))  # mail | pickup
    address: Mapped[str | None] = mapped_column(String(200))
    outlet_code: Mapped[str | None] = mapped_column(String(20))
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
