"""Rendering a page for the request's language, the logged-in operator, and the web's error pages."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sscard.access import Actor, Permission
from sscard.auth import service as auth
from sscard.auth.errors import AuthenticationFailed, OperatorLocked
from sscard.db import Database
from sscard.web import labels, security
from sscard.web.i18n import N_, environment, gettext, language_of


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the login page."""


class Forbidden(Exception):
    """The operator's role lacks the permission: the handler renders the 403 page."""

    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class HolderLoginRequired(Exception):
    """No valid cardholder session: back to the portal's (or the kiosk's) login."""

    def __init__(self, kiosk: bool) -> None:
        super().__init__("kiosk" if kiosk else "portal")
        self.kiosk = kiosk


class CsrfRefused(Exception):
    """A state-changing request without the matching CSRF token."""


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def optional_actor(request: Request) -> Actor | None:
    token = security.session_token(request.cookies.get(security.SESSION_COOKIE))
    if token is None:
        return None
    try:
        actor = auth.authenticate(db_of(request), token)
    except (AuthenticationFailed, OperatorLocked):
        return None
    request.state.actor = actor
    return actor


def web_actor(request: Request) -> Actor:
    actor = optional_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise Forbidden(permission.value)


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form as text fields, after the CSRF check (every web form depends on this)."""
    form = await request.form()
    values = {k: v.strip() if isinstance(v, str) else "" for k, v in form.items()}
    if not security.csrf_ok(request, values.get(security.CSRF_FIELD)):
        raise CsrfRefused()
    return values


WebActor = Annotated[Actor, Depends(web_actor)]
Form = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200,
           actor: Actor | None = None) -> HTMLResponse:
    language = language_of(request)
    env = environment(language)
    actor = actor or getattr(request.state, "actor", None)
    html = env.get_template(template).render({
        "request": request, "actor": actor, "csrf_token": getattr(request.state, "csrf", ""),
        "csrf_field": security.CSRF_FIELD, "labels": labels, "P": Permission, "path": request.url.path,
        **(context or {})})
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, title: str, message: str, code: str = "") -> HTMLResponse:
    """An error page; ``code``: a domain error's stable code, shown on the page and sent as ``X-Error-Code``."""
    language = language_of(request)
    page = render(request, "error.html", {"status": status, "title": gettext(language, title),
                                          "message": gettext(language, message), "code": code}, status=status)
    if code:
        page.headers["X-Error-Code"] = code
    return page


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not an API client): HTML first in Accept, and not under /api."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept.split(",")[0] and not request.url.path.startswith(("/api/", "/.well-known/"))


def install_handlers(app: FastAPI) -> None:
    api_http_handler = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """A browser's 404 (or 405) is a page in its language; API clients keep the JSON error body."""
        if exc.status_code in (404, 405) and wants_html(request):
            return error_page(request, exc.status_code, N_("Page not found"),
                              N_("There is no page at this address. Check the address, or start again from the "
                                 "start page."))
        if api_http_handler is None:  # pragma: no cover - the API's handlers are installed first
            raise exc
        answered = api_http_handler(request, exc)
        response: Response = await answered if inspect.isawaitable(answered) else answered
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/counter"
        response = RedirectResponse(f"/login?next={target}", status_code=303)
        security.clear_session(response)
        return response

    @app.exception_handler(HolderLoginRequired)
    async def _holder_login(request: Request, exc: HolderLoginRequired) -> Response:
        response = RedirectResponse("/kiosk" if exc.kiosk else "/portal/login", status_code=303)
        security.clear_holder_session(response)
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403, N_("Not allowed"),
                          N_("Your role is not allowed to do this. Ask a supervisor."))

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return error_page(request, 403, N_("Request refused"),
                          N_("The form was not sent from this site, or it is too old. Reload the page and try again."))
