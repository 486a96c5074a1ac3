"""/auth: log in for a bearer token (password and, once enrolled, the TOTP code), log out, who am I, change
one's password; supervisors and administrators lift login locks, administrators reset passwords and lost
second factors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor
from sscard.auth import service as auth

router = APIRouter(prefix="/auth", tags=["auth"])

_ERROR = {"description": "error with a stable `code`", "content": {"application/json": {}}}
_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERROR, "description": "AUTH_FAILED (unknown user, wrong password, disabled or temporarily locked "
                                   "account or address — one answer for all), TOTP_REQUIRED, TOTP_INVALID"},
    422: {**_ERROR, "description": "VALIDATION_ERROR"}}
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERROR, "description": "AUTH_FAILED"}, 403: {**_ERROR, "description": "PERMISSION_DENIED"},
    404: {**_ERROR, "description": "OPERATOR_NOT_FOUND"}, 422: {**_ERROR, "description": "VALIDATION_ERROR, "
                                                                                            "WEAK_PASSWORD"}}


class LoginIn(BaseModel):
    username: str = Field(max_length=50)
    password: str = Field(max_length=200)
    totp: str | None = Field(default=None, max_length=6, pattern=r"^[0-9]{0,6}$",
                             description="the 6-digit one-time code; required once the operator enrolled TOTP")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    role: str
    outlet: str | None


class MeOut(BaseModel):
    username: str
    role: str
    outlet: str | None


class PasswordChangeIn(BaseModel):
    old_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class PasswordResetIn(BaseModel):
    username: str = Field(max_length=50)
    new_password: str = Field(max_length=200)


class UnlockIn(BaseModel):
    username: str | None = Field(default=None, max_length=50, description="an operator account to unlock")
    address: str | None = Field(default=None, max_length=80, description="a client address to unlock")


class UnlockOut(BaseModel):
    unlocked: bool
    sessions_ended: int = 0


class LockOut(BaseModel):
    kind: str
    name: str
    locked_until: dt.datetime | None
    failures: int
    lock_count: int


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _token_out(issued: auth.IssuedToken) -> TokenOut:
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at, role=issued.actor.role.value,
                    outlet=issued.actor.outlet_code)


@router.post("/token", response_model=TokenOut, responses=_LOGIN_ERRORS)
def login(body: LoginIn, request: Request, db: DB) -> TokenOut:
    return _token_out(auth.login(db, body.username, body.password, body.totp or None, _address(request)))


@router.post("/logout", status_code=204, responses={401: _ERROR})
def logout(request: Request, actor: CurrentActor, db: DB) -> None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    auth.logout(db, token)


@router.get("/me", response_model=MeOut, responses={401: _ERROR})
def me(actor: CurrentActor) -> MeOut:
    return MeOut(username=actor.username, role=actor.role.value, outlet=actor.outlet_code)


@router.post("/password", response_model=TokenOut, responses=_ADMIN_ERRORS)
def change_password(body: PasswordChangeIn, request: Request, actor: CurrentActor, db: DB) -> TokenOut:
    """Change one's own password: every token and web session of the operator ends; the answer is a new token."""
    return _token_out(auth.change_password(db, actor, body.old_password, body.new_password, _address(request)))


@router.post("/reset-password", response_model=UnlockOut, responses=_ADMIN_ERRORS)
def reset_password(body: PasswordResetIn, actor: CurrentActor, db: DB) -> UnlockOut:
    """An administrator sets an operator's password: their lock and all their sessions end."""
    ended = auth.reset_password(db, actor, body.username, body.new_password)
    return UnlockOut(unlocked=True, sessions_ended=ended)


@router.post("/unlock", response_model=UnlockOut, responses=_ADMIN_ERRORS)
def unlock(body: UnlockIn, actor: CurrentActor, db: DB) -> UnlockOut:
    """Lift a temporary login lock of an operator account or of a client address (supervisor or admin)."""
    done = False
    if body.username:
        done = auth.unlock_operator(db, actor, body.username)
    if body.address:
        done = auth.unlock_address(db, actor, body.address) or done
    return UnlockOut(unlocked=done)


@router.get("/locks", response_model=list[LockOut], responses=_ADMIN_ERRORS)
def locks(actor: CurrentActor, db: DB) -> list[LockOut]:
    return [LockOut(kind=v.kind, name=v.name, locked_until=v.locked_until, failures=v.failures,
                    lock_count=v.lock_count) for v in auth.list_locks(db, actor)]


@router.post("/reset-totp", response_model=UnlockOut, responses=_ADMIN_ERRORS)
def reset_totp(body: UnlockIn, actor: CurrentActor, db: DB) -> UnlockOut:
    """An administrator removes an operator's lost second factor (they enrol again after logging in)."""
    return UnlockOut(unlocked=auth.reset_totp(db, actor, body.username or ""))
