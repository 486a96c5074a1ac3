"""Cardholder sessions in the browser: the signed cookie around a portal session token (separate from the
operators' cookie; set and cleared by ``sscard.web.security``) and the holder every portal page acts as."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sscard.access import Actor
from sscard.portal import service as portal
from sscard.portal.errors import PortalSessionInvalid
from sscard.web import security
from sscard.web.pages import HolderLoginRequired, db_of

PORTAL_COOKIE = security.PORTAL_COOKIE


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
