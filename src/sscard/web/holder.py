"""Cardholder sessions in the browser: a signed cookie around a portal session token (separate from the
operators' cookie), and the page data every portal page shows."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request, Response

from sscard.auth.roles import Actor
from sscard.portal import service as portal
from sscard.portal.errors import PortalSessionInvalid
from sscard.web import security
from sscard.web.pages import HolderLoginRequired, db_of

PORTAL_COOKIE = security.PORTAL_COOKIE


def set_holder_session(response: Response, request: Request, token: str, expires_at: float) -> None:
    response.set_cookie(PORTAL_COOKIE, security.session_value(token, expires_at),
                        max_age=max(int(expires_at - time.time()), 1), httponly=True,
                        samesite="strict", secure=security.is_https(request), path="/")


def clear_holder_session(response: Response) -> None:
    response.delete_cookie(PORTAL_COOKIE, path="/", httponly=True, samesite="strict")


def holder_token(request: Request) -> str | None:
    return security.session_token(request.cookies.get(PORTAL_COOKIE))


def _holder(request: Request, kiosk: bool) -> Actor:
    token = holder_token(request)
    if token is None:
        raise HolderLoginRequired(kiosk)
    try:
        actor, is_kiosk = portal.authenticate(db_of(request), token)
    except PortalSessionInvalid:
        raise HolderLoginRequired(kiosk) from None
    if is_kiosk != kiosk:  # a kiosk session is not an online session and the other way round
        raise HolderLoginRequired(kiosk)
    request.state.holder = actor
    return actor


def portal_holder(request: Request) -> Actor:
    return _holder(request, kiosk=False)


def kiosk_holder(request: Request) -> Actor:
    return _holder(request, kiosk=True)


PortalHolder = Annotated[Actor, Depends(portal_holder)]
KioskHolder = Annotated[Actor, Depends(kiosk_holder)]
