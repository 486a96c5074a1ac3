"""Tables: outlets (service points), operators, API tokens, operators' TOTP, login throttles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sscard.db import Base, utcnow


class Outlet(Base):
    """A service point: HRSS card window (人社窗口) or a cooperating bank's branch (银行网点)."""

    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(10))  # hrss | bank
    bank_code: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    outlet: Mapped[Outlet | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a copy of the table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class OperatorTotp(Base):
    """An operator's TOTP secret, sealed under the KMS KEK (``kms.sealed``, bound to the operator).
    ``enabled`` once a first code confirmed the enrolment; ``last_step`` refuses a code's second use
    (RFC 6238 §5.2). Wrong codes count in the operator's login throttle."""

    __tablename__ = "operator_totp"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Failed logins of one key — an account (``auth:account:<username>``, ``portal:account:<person id>``) or a
    client address (``auth:address:<ip>``, ``portal:address:<ip>``) — and its temporary lock. Each lock lasts
    twice the one before (policy ``*.lock_seconds`` up to ``*.lock_max_seconds``); ``lock_count`` starts again
    after a quiet period as long as the longest lock, or when a supervisor unlocks."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lock_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime | None]
