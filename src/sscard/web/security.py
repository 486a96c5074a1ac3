"""Browser-facing security: signed session cookies, CSRF tokens, opaque person references, response headers.

CSRF: every browser gets a random value in an HttpOnly, SameSite=Strict cookie; the ``csrf_token`` field of
every form is an HMAC (under the web secret) of that value and of the browser's session cookies (operator and
cardholder), so a token is good only for the session it was written for: one taken from another session, one
planted with a cookie the attacker chose, or one from before a login or logout is refused.
Person pages are addressed by an encrypted reference, so full ID numbers never appear
in URLs, browser history or access logs (invariant 8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "sscard_session"
PORTAL_COOKIE = "sscard_portal"  # the cardholder's session (set_holder_session, web.holder)
CSRF_COOKIE = "sscard_csrf"
CSRF_FIELD = "csrf_token"
SECRET_ENV = "SSCARD_WEB_SECRET_HEX"
PERSON_REF_TTL = 8 * 3600

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# Swagger UI and ReDoc (FastAPI's own pages) load their code from a CDN with inline scripts.
CSP_EXEMPT = ("/docs", "/redoc")


@lru_cache(maxsize=1)
def secret() -> bytes:
    """The key for cookies and references: SSCARD_WEB_SECRET_HEX (checked: hex, >= 32 bytes, not empty in
    production), or in demo/dev mode a random one per process."""
    from sscard.config import web_secret

    return web_secret()


def _sign(message: str) -> str:
    return hmac.new(secret(), message.encode(), hashlib.sha256).hexdigest()


def session_value(token: str, expires_at: float) -> str:
    body = f"{token}.{int(expires_at)}"
    return f"{body}.{_sign('session:' + body)}"


def session_token(value: str | None, now: float | None = None) -> str | None:
    """The bearer token inside a session cookie, if the signature holds and it has not expired."""
    if not value or value.count(".") != 2:
        return None
    token, expires, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(f"session:{token}.{expires}")):
        return None
    if not expires.isdigit() or int(expires) <= (now if now is not None else time.time()):
        return None
    return token


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (behind a proxy: uvicorn's ``--forwarded-allow-ips``
    decides whether X-Forwarded-For is believed); the login throttle counts failures per address."""
    return request.client.host if request.client else None


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, expires_at: float) -> None:
    response.set_cookie(SESSION_COOKIE, session_value(token, expires_at), max_age=int(expires_at - time.time()),
                        httponly=True, samesite="strict", secure=is_https(request), path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def set_holder_session(response: Response, request: Request, token: str, expires_at: float) -> None:
    """The cardholder's cookie (portal or kiosk), apart from the operators' (``set_session``)."""
    response.set_cookie(PORTAL_COOKIE, session_value(token, expires_at),
                        max_age=max(int(expires_at - time.time()), 1), httponly=True,
                        samesite="strict", secure=is_https(request), path="/")


def clear_holder_session(response: Response) -> None:
    response.delete_cookie(PORTAL_COOKIE, path="/", httponly=True, samesite="strict")


def csrf_token(browser: str, cookies: dict[str, str]) -> str:
    """The form token for this browser value and these session cookies (empty without a browser value)."""
    if not browser:
        return ""
    bound = "\x00".join((browser, cookies.get(SESSION_COOKIE, ""), cookies.get(PORTAL_COOKIE, "")))
    return _sign("csrf:" + bound)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = csrf_token(request.cookies.get(CSRF_COOKIE, ""), request.cookies)
    return bool(expected) and bool(submitted) and hmac.compare_digest(expected, submitted or "")


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = hashlib.sha256(b"person-ref:" + secret()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def person_ref(id_number: str) -> str:
    return _fernet().encrypt(id_number.encode()).decode()


def open_person_ref(ref: str) -> str | None:
    try:
        return _fernet().decrypt(ref.encode(), ttl=PERSON_REF_TTL).decode()
    except (InvalidToken, ValueError):
        return None


_FIXED_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                  ("X-Frame-Options", "DENY"))


def _csrf_cookie_header(token: str, https: bool) -> tuple[bytes, bytes]:
    """The Set-Cookie header for a fresh CSRF token, serialised exactly as Starlette's ``set_cookie`` does."""
    carrier = Response()
    carrier.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=https, path="/")
    return next((name, value) for name, value in carrier.raw_headers if name == b"set-cookie")


class SecurityMiddleware:
    """Gives every browser a CSRF cookie before its first form, and adds the security headers.

    A pure ASGI middleware (not ``BaseHTTPMiddleware``/``app.middleware("http")``, which costs a task and a
    wrapped body stream per request): it only edits the headers of ``http.response.start``. Responses built by
    the outermost error handler (an unhandled exception's 500) pass outside it, as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        token = request.cookies.get(CSRF_COOKIE)
        fresh = None
        if not token and not path.startswith("/api/"):
            fresh = secrets.token_urlsafe(32)
        request.state.csrf = csrf_token(token or fresh or "", request.cookies)
        https = scope.get("scheme", "http") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if fresh:
                    headers.raw.append(_csrf_cookie_header(fresh, https))
                if not path.startswith(CSP_EXEMPT):
                    headers["Content-Security-Policy"] = CSP
                for name, value in _FIXED_HEADERS:
                    headers[name] = value
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)
