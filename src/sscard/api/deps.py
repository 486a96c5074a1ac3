"""Request dependencies: the database, the authenticated actor, the response language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sscard.access import Actor
from sscard.api.limits import BEARER_STASH
from sscard.auth import service as auth
from sscard.auth.errors import AuthenticationFailed
from sscard.db import Database

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def current_actor(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed("missing bearer token")
    stashed = request.scope.get(BEARER_STASH)  # verified before a large body was read (api.limits)
    if stashed is not None and stashed[0] == credentials.credentials:
        actor: Actor = stashed[1]
    else:
        actor = auth.authenticate(get_db(request), credentials.credentials)
    request.state.actor = actor
    return actor


DB = Annotated[Database, Depends(get_db)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
