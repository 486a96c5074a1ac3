"""Request body limits, enforced before anything parses a body; credentials checked before a large body is read.

Per route class (settings, bytes): ``max_json_bytes`` for JSON and form bodies (default 1 MiB), ``max_settlement_bytes``
for the institution interface (bills with many lines, default 4 MiB), ``max_upload_bytes`` for file uploads and
imports (default 64 MiB), and a fixed 64 KiB for log-ins. A ``Content-Length`` above the limit is answered 413
``REQUEST_TOO_LARGE`` without reading a byte; a streamed (chunked) body is counted as it arrives and cut off at
the limit the same way.

Before a body is read, an API route other than log-in (``/api/v1/auth/…``) must carry its credentials (a bearer
token or an institution key), or it is answered 401 ``AUTH_FAILED`` at once; a body larger than
``VERIFY_ABOVE_BYTES`` is read only after the credential itself checks out (one look-up, whose result the route's
own dependency then reuses). Small bodies (2207 and nearly every request) pay only a scan of the headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sscard.auth import service as auth
from sscard.errors import DomainError

API = "/api/v1/"
LOGIN_PATHS = ("/api/v1/auth/", "/login", "/portal/login", "/kiosk/login", "/kiosk/card")
LOGIN_BYTES = 64 * 1024
SETTLEMENT_PREFIX = "/api/v1/medical/"
UPLOAD_PATHS = ("/api/v1/production/imports/", "/api/v1/production/bank-returns", "/api/v1/production/maker-returns",
                "/api/v1/funds/contributions/employer-files", "/api/v1/medical/admin/catalogue/import",
                "/api/v1/treasury/statements", "/treasury/statements", "/api/v1/exchange/bulk/")
VERIFY_ABOVE_BYTES = 64 * 1024
BEARER_STASH = "sscard_bearer"  # scope key: (token, actor) verified here, reused by deps.current_actor


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; FastAPI passes HTTP exceptions through its
    body parsing, and the error handler answers ``REQUEST_TOO_LARGE``."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Limits:
    json: int
    settlement: int
    upload: int

    def for_path(self, path: str) -> int:
        if path.startswith(LOGIN_PATHS):
            return LOGIN_BYTES
        if path.startswith(UPLOAD_PATHS):
            return self.upload
        if path.startswith(SETTLEMENT_PREFIX) and not path.startswith("/api/v1/medical/admin/"):
            return self.settlement
        return self.json


def _error(status: int, code: str, zh: str, en: str, lang: str, headers: dict[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    body = {"code": code, "message": en if lang == "en" else zh, "message_zh": zh, "message_en": en, **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def too_large(limit: int, lang: str) -> JSONResponse:
    return _error(413, "REQUEST_TOO_LARGE", f"请求体超过 {limit} 字节的上限",
                  f"The request body is larger than the limit of {limit} bytes", lang, limit_bytes=limit)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        bearer = key = dept = ""
        lang = "zh"
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"authorization":
                bearer = value.decode("latin-1")
            elif name == b"x-institution-key":
                key = value.decode("latin-1")
            elif name == b"x-dept-key":
                dept = value.decode("latin-1")
            elif name == b"accept-language":
                lang = "en" if value[:2].lower() == b"en" else "zh"
        if length is None and not chunked:  # no body at all (GET, HEAD, an empty POST)
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.for_path(path)
        if length is not None and (length < 0 or length > limit):
            if length < 0:
                await _error(400, "BAD_CONTENT_LENGTH", "Content-Length 不合法", "Bad Content-Length",
                             lang)(scope, receive, send)
            else:
                await too_large(limit, lang)(scope, receive, send)
            return
        if path.startswith(API) and not path.startswith(LOGIN_PATHS) and (chunked or (length or 0) > 0):
            refusal = await self._credentials(scope, bearer, key, chunked or (length or 0) > VERIFY_ABOVE_BYTES,
                                              lang, dept)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        if chunked or length is None:
            await self.app(scope, _counting(receive, limit), send)
        else:
            await self.app(scope, receive, send)

    async def _credentials(self, scope: Scope, bearer: str, key: str, verify: bool,
                           lang: str, dept: str = "") -> JSONResponse | None:
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else ""
        if not token and not key and not dept:
            return _error(401, "AUTH_FAILED", "缺少身份凭证（Bearer 令牌或机构密钥）",
                          "Missing credentials (a bearer token or an institution key)", lang,
                          headers={"WWW-Authenticate": "Bearer"})
        if not verify or (dept and not token and not key):
            return None  # a department's signature covers the body: the route checks it once the body is read
        app = scope.get("app")
        db = getattr(getattr(app, "state", None), "db", None)
        if db is None:
            return None
        try:
            if token:
                actor = await to_thread.run_sync(auth.authenticate, db, token)
                scope[BEARER_STASH] = (token, actor)
            else:
                from sscard.medical import institutions

                await to_thread.run_sync(institutions.authenticate, db, key)
        except DomainError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
            return JSONResponse({"error": exc.to_dict(lang)}, status_code=exc.http_status, headers=headers)
        return None


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
