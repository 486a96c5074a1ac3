"""/auth: log in for a bearer token, log out, who am I."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sscard.api.deps import DB, CurrentActor
from sscard.auth import service as auth

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(max_length=50)
    password: str = Field(max_length=200)


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


@router.post("/token", response_model=TokenOut)
def login(body: LoginIn, db: DB) -> TokenOut:
    issued = auth.login(db, body.username, body.password)
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at, role=issued.actor.role.value,
                    outlet=issued.actor.outlet_code)


@router.post("/logout", status_code=204)
def logout(request: Request, actor: CurrentActor, db: DB) -> None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    auth.logout(db, token)


@router.get("/me", response_model=MeOut)
def me(actor: CurrentActor) -> MeOut:
    return MeOut(username=actor.username, role=actor.role.value, outlet=actor.outlet_code)
