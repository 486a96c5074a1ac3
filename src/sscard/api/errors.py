"""Mapping of failures to JSON: domain errors keep their status and code; nothing else leaks a stack trace."""

from __future__ import annotations

from typing import Any

import pydantic
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sscard.db import database_unavailable
from sscard.errors import DomainError

log = structlog.get_logger("sscard.api")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="stable error code, e.g. AUTH_FAILED, PERMISSION_DENIED, REQUEST_TOO_LARGE")
    message: str
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "message_zh", "message_en", …}}``."""

    error: ErrorDetail


def _documented(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# The error answers every /api/v1 operation can give, documented on each (include_router in app.py).
OPENAPI_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _documented("Refused by a business rule (stable code)"),
    401: _documented("Missing or invalid credentials (AUTH_FAILED, bearer token or institution key)"),
    403: _documented("Not allowed for this role, institution or account state"),
    404: _documented("Not found"),
    409: _documented("Conflicts with the current state or existing data"),
    413: _documented("Request body larger than the limit of its route class (REQUEST_TOO_LARGE)"),
    422: _documented("Invalid input (VALIDATION_ERROR with the failing fields, or a domain code)"),
    429: _documented("Too many attempts; retry later"),
    503: _documented("The database is unavailable for a moment (DATABASE_UNAVAILABLE, a failover under way): "
                     "nothing was written; retry after Retry-After seconds with the same message id"),
}

# What a client is told to wait before retrying while the database is unavailable: about half the time Patroni
# takes to promote a standby (docs/dr.md: leader TTL + loop wait ≈ 12 s), so a retry or two lands after it.
RETRY_AFTER_SECONDS = 5


def language(request: Request) -> str:
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "zh"


def _body(code: str, zh: str, en: str, lang: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": en if lang == "en" else zh, "message_zh": zh, "message_en": en,
                      **extra}}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return JSONResponse({"error": exc.to_dict(language(request))}, status_code=exc.http_status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse(_body("VALIDATION_ERROR", "输入数据不合法", "The input is invalid", language(request),
                                  errors=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}.get(
            exc.status_code, f"HTTP_{exc.status_code}")
        return JSONResponse(_body(code, "请求无法处理", str(exc.detail), language(request)),
                            status_code=exc.status_code)

    # A model validated inside a service (not at the edge) that fails: still the caller's input, never a 500.
    @app.exception_handler(pydantic.ValidationError)
    async def _model_validation(request: Request, exc: pydantic.ValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return JSONResponse(_body("VALIDATION_ERROR", "输入数据不合法", "The input is invalid", language(request),
                                  errors=errors), status_code=422)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(_body("CONCURRENT_UPDATE", "记录已被他人修改，请重试",
                                  "The record was changed concurrently; retry", language(request)), status_code=409)

    # A number beyond what the column holds (SQLite raises OverflowError, PostgreSQL a DataError): bad input,
    # not a server fault. The use case's transaction has already rolled back, so nothing is half-written.
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(_body("VALUE_OUT_OF_RANGE", "数值超出允许范围", "A value is out of the allowed range",
                                  language(request)), status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # The first line names the constraint; PostgreSQL's DETAIL line (the conflicting values) is not logged.
        log.warning("integrity_error", route=getattr(request.scope.get("route"), "path", "unmatched"),
                    error=str(exc.orig).split("\n", 1)[0])
        return JSONResponse(_body("CONFLICT", "与现有数据冲突", "Conflicts with existing data", language(request)),
                            status_code=409)

    # The primary died, is being replaced, or no connection came in time: the use case's transaction rolled back
    # (or never began), so nothing is half-written and a retry with the same message id is safe (replayed if an
    # earlier attempt did commit). Any other database error is a server fault, answered as one.
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("database_unavailable", route=getattr(request.scope.get("route"), "path", "unmatched"),
                    error=type(getattr(exc, "orig", None) or exc).__name__)
        return JSONResponse(_body("DATABASE_UNAVAILABLE", "数据库暂时不可用，请稍后用同一报文号重试",
                                  "The database is unavailable for a moment; retry with the same message id",
                                  language(request), retry_after_seconds=RETRY_AFTER_SECONDS),
                            status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The route template, never the raw path (it may hold an ID number); SQL parameters are hidden by the
        # engines (db.make_engine) and identifiers masked in every log line (api.logs).
        log.exception("unhandled_error", method=request.method,
                      route=getattr(request.scope.get("route"), "path", "unmatched"), error=type(exc).__name__)
        return JSONResponse(_body("INTERNAL_ERROR", "系统内部错误", "Internal error", language(request)),
                            status_code=500)
