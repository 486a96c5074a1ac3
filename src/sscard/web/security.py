"""Browser-facing security: signed session cookies, CSRF tokens, opaque person references, response headers.

CSRF uses the double-submit pattern: a random token in an HttpOnly, SameSite=Strict cookie must equal the
``csrf_token`` field of every POSTed form (the server writes it into each form; another site can neither read
the cookie nor set it). Person pages are addressed by an encrypted reference, so full ID numbers never appear
in URLs, browser history or access logs (invariant 8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

SESSION_COOKIE = "sscard_session"
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
    """The key for cookies and references: SSCARD_WEB_SECRET_HEX, or a random one per process (demo/tests)."""
    configured = os.environ.get(SECRET_ENV, "")
    return bytes.fromhex(configured) if configured else secrets.token_bytes(32)


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


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, expires_at: float) -> None:
    response.set_cookie(SESSION_COOKIE, session_value(token, expires_at), max_age=int(expires_at - time.time()),
                        httponly=True, samesite="strict", secure=is_https(request), path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
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


def _headers(request: Request, response: Response) -> None:
    headers = response.headers
    if not request.url.path.startswith(CSP_EXEMPT):
        headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    if is_https(request):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Gives every browser a CSRF cookie before its first form, and adds the security headers."""
    token = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not token and not request.url.path.startswith("/api/"):
        fresh = secrets.token_urlsafe(32)
    request.state.csrf = token or fresh or ""
    response = await call_next(request)
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict", secure=is_https(request),
                            path="/")
    _headers(request, response)
    return response
