"""Operator login and logout (cookie sessions over auth.service tokens), language switch, landing page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from sscard import __version__
from sscard.access import Role
from sscard.auth import service as auth
from sscard.auth.errors import AuthenticationFailed, TotpInvalid, TotpRequired
from sscard.db import Database
from sscard.stats import service as stats
from sscard.web import security
from sscard.web.forms import FormErrors
from sscard.web.i18n import LANG_COOKIE, LANGUAGES, N_, gettext, language_of
from sscard.web.pages import Form, optional_actor, render
from sscard.web.security import client_address

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, default: str = "/counter") -> str:
    """Only a local path: never redirect to another site after login or a language switch."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# Where an operator lands after logging in without a page to go back to: the first page their role may use.
HOME_OF = {Role.ACCOUNTANT: "/treasury"}


def home_of(role: Role) -> str:
    return HOME_OF.get(role, "/counter")


def landing(request: Request, db: Database, demo_info: dict[str, object] | None) -> HTMLResponse:
    info = demo_info or {}
    return render(request, "index.html", {
        "version": __version__, "dialect": db.dialect, "stats": stats.overview(db), "demo": bool(info),
        "demo_password": info.get("password"), "demo_users": info.get("users", [])},
        actor=optional_actor(request))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    if (actor := optional_actor(request)) is not None:
        return RedirectResponse(safe_next(next, home_of(actor.role)), status_code=303)
    return render(request, "login.html", {"values": {"next": safe_next(next)},
                                          "errors": FormErrors(language_of(request))})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: Form) -> Response:
    """Password and, once enrolled, the one-time code: both checked by ``auth.service.login``. Every
    failure (unknown user, wrong password, locked or disabled account) gets the same message."""
    language = language_of(request)
    errors = FormErrors(language)
    errors.required(form, "username", "password")
    if not errors:
        try:
            issued = auth.login(request.app.state.db, form["username"], form["password"],
                                form.get("code") or None, client_address(request))
        except TotpRequired:
            errors.add("code", gettext(language, N_("Enter the 6-digit code from your authenticator app.")))
        except TotpInvalid as err:
            errors.add_domain(err, {err.code: "code"})
        except AuthenticationFailed:
            errors.add("password", gettext(language, N_(
                "Wrong user name or password, or the account is locked for a while after too many wrong "
                "tries. Try again later, or ask a supervisor to unlock it.")))
        else:
            response = RedirectResponse(safe_next(form.get("next"), home_of(issued.actor.role)), status_code=303)
            security.set_session(response, request, issued.token, issued.expires_at.timestamp())
            return response
    values = {"username": form.get("username", ""), "next": safe_next(form.get("next"))}
    return render(request, "login.html", {"values": values, "errors": errors}, status=401)


@router.post("/logout")
def logout(request: Request, form: Form) -> Response:
    token = security.session_token(request.cookies.get(security.SESSION_COOKIE))
    if token:
        auth.logout(request.app.state.db, token)
    response = RedirectResponse("/login", status_code=303)
    security.clear_session(response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str,
                    next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="strict", httponly=True,
                            secure=security.is_https(request), path="/")
    return response
