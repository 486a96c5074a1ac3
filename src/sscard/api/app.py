"""The ASGI application: routers under /api/v1, landing page, health, metrics, structured logs, body limits."""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sscard import __version__, web
from sscard.api import (
    errors,
    fast,
    routes_admin,
    routes_auth,
    routes_cards,
    routes_contributions,
    routes_debit,
    routes_ecard,
    routes_employment,
    routes_exchange,
    routes_fhir,
    routes_funds,
    routes_medical,
    routes_persons,
    routes_production,
    routes_remote,
    routes_transfer,
    routes_treasury,
)
from sscard.api.limits import BodyLimitMiddleware, Limits
from sscard.api.logs import configure_logging
from sscard.config import Settings, get_settings, require_safe
from sscard.db import Database
from sscard.dr.metrics import ReplicationCollector

__all__ = ["configure_logging", "create_app"]


def route_of(scope: Scope) -> str:
    """The route template a request matched (``/api/v1/persons/{id_number}``), never the raw path."""
    return getattr(scope.get("route"), "path", "unmatched")


class ObserveMiddleware:
    """Request metrics and one structured log line per HTTP request (method, route template, status, ms,
    operator). Pure ASGI (``app.middleware("http")`` would cost a task and a wrapped body stream per request);
    the time runs until the response is sent. An exception that escapes every handler is counted (status 500
    and ``sscard_http_unhandled_errors_total`` by route and exception type) and logged here, then re-raised for
    the server-error handler that answers ``INTERNAL_ERROR``."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram, unhandled: Counter, log: Any) -> None:
        self.app, self.requests, self.latency, self.unhandled, self.log = app, requests, latency, unhandled, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            self._record(scope, started, 500, type(exc).__name__)
            raise
        self._record(scope, started, status, None)

    def _record(self, scope: Scope, started: float, status: int, error: str | None) -> None:
        path = route_of(scope)
        elapsed = time.perf_counter() - started
        method = scope["method"]
        self.requests.labels(method, path, str(status)).inc()
        self.latency.labels(method, path).observe(elapsed)
        actor = scope.get("state", {}).get("actor")
        if error is None:
            self.log.info("request", method=method, route=path, status=status, ms=round(elapsed * 1000, 2),
                          operator=getattr(actor, "username", None))
            return
        self.unhandled.labels(method, path, error).inc()
        self.log.error("request", method=method, route=path, status=status, ms=round(elapsed * 1000, 2),
                       operator=getattr(actor, "username", None), error=error)


def _errors_as_json(app: FastAPI) -> None:
    """Error answers are JSON on every operation, also where the success is CSV or a file (FastAPI documents
    additional responses in the route's own media type); the FHIR interface's are FHIR JSON (OperationOutcome)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if (str(status)[0] in "45" and content and "application/json" not in content
                            and "application/fhir+json" not in content):
                        response["content"] = {"application/json": next(iter(content.values()))}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(db: Database | None = None, demo_info: dict[str, object] | None = None,
               settings: Settings | None = None) -> FastAPI:
    """The application. Refuses (``config.InsecureSettings``) to be built with unsafe secrets outside demo/dev
    mode: also in each ``serve --workers`` process, which calls this factory afresh."""
    settings = require_safe(settings or get_settings())
    if not structlog.is_configured():  # a uvicorn worker process imports this factory afresh (``serve --workers``)
        configure_logging(settings.log_json)
    database = db or Database(settings.database_url, echo=settings.echo_sql)
    # /docs and /redoc come from web.routes_docs with vendored assets (FastAPI's own load them from a CDN).
    app = FastAPI(title="sscard", version=__version__, docs_url=None, redoc_url=None,
                  description="清远市社会保障卡管理系统 — registry, card lifecycle, operators, audit. "
                              "Errors: `{\"error\": {\"code\", \"message\", \"message_zh\", \"message_en\"}}`; "
                              "send `Accept-Language: en` for English messages. Request bodies are limited "
                              f"(JSON {settings.max_json_bytes} bytes, settlement messages "
                              f"{settings.max_settlement_bytes}, uploads {settings.max_upload_bytes}): "
                              "larger ones are answered 413 `REQUEST_TOO_LARGE`.")
    app.state.db = database
    app.state.settings = settings
    errors.install(app)
    web.install(app)

    registry = CollectorRegistry()
    requests = Counter("sscard_http_requests_total", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("sscard_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry)
    unhandled = Counter("sscard_http_unhandled_errors_total", "Requests that failed with an unhandled error",
                        ["method", "route", "error"], registry=registry)
    registry.register(ReplicationCollector(database))  # replication lag and archive age (docs/dr.md)

    app.add_middleware(BodyLimitMiddleware, limits=Limits(settings.max_json_bytes, settings.max_settlement_bytes,
                                                          settings.max_upload_bytes))
    web.install_headers(app)
    app.add_middleware(ObserveMiddleware, requests=requests, latency=latency, unhandled=unhandled,
                       log=structlog.get_logger("sscard.http"))

    # Settlement first: routes are matched in order and 2207 is the busiest request (paths do not overlap).
    for router in (routes_medical.router, routes_auth.router, routes_persons.router, routes_cards.router,
                   routes_admin.router, routes_production.router, routes_funds.router,
                   routes_contributions.router, routes_fhir.admin_router, routes_ecard.router, routes_debit.router,
                   routes_transfer.router, routes_employment.router, routes_treasury.router, routes_remote.router,
                   routes_exchange.router, routes_exchange.signed):
        app.include_router(router, prefix="/api/v1", responses=errors.OPENAPI_ERRORS)
    app.include_router(routes_fhir.router, prefix="/api/v1", responses=routes_fhir.OPENAPI_OUTCOMES)
    app.include_router(routes_ecard.well_known, responses=errors.OPENAPI_ERRORS)
    app.include_router(routes_transfer.partner)
    app.include_router(routes_remote.partner)
    verification = routes_exchange.fast_routes("/api/v1")
    fast.install(app, [*routes_medical.fast_routes("/api/v1"), *routes_fhir.fast_routes("/api/v1"), *verification,
                       *routes_remote.fast_routes()])
    fast.shortcut(app, verification)  # the departments' verification, answered a thousand times a second
    _errors_as_json(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return web.landing(request, database, demo_info)

    # Liveness: the process answers (a failover of the database is no reason to restart the application).
    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz() -> str:
        return "ok"

    # Readiness: the database accepts writes now; 503 DATABASE_UNAVAILABLE (api.errors) while it does not.
    @app.get("/readyz", response_class=PlainTextResponse, include_in_schema=False)
    def readyz() -> Response:
        if database.accepts_writes():
            return PlainTextResponse("ready")
        return PlainTextResponse("read-only", status_code=503, headers={"Retry-After": "5"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
