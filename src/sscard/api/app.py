"""The ASGI application: routers under /api/v1, landing page, health, metrics, structured logs."""

from __future__ import annotations

import logging
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
    routes_admin,
    routes_auth,
    routes_cards,
    routes_contributions,
    routes_funds,
    routes_medical,
    routes_persons,
    routes_production,
)
from sscard.config import get_settings
from sscard.db import Database


def configure_logging(json_logs: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json_logs else \
        structlog.dev.ConsoleRenderer()
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    structlog.processors.TimeStamper("iso", utc=True),
                                    structlog.processors.format_exc_info, renderer],
                        cache_logger_on_first_use=True)


class ObserveMiddleware:
    """Request metrics and one structured log line per HTTP request (method, route template, status, ms,
    operator). Pure ASGI (``app.middleware("http")`` would cost a task and a wrapped body stream per request);
    the time runs until the response is sent. A request whose exception escapes every handler is not logged
    here (the error handler logs it)."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram, log: Any) -> None:
        self.app, self.requests, self.latency, self.log = app, requests, latency, log

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

        await self.app(scope, receive, send_status)
        path = getattr(scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        method = scope["method"]
        self.requests.labels(method, path, str(status)).inc()
        self.latency.labels(method, path).observe(elapsed)
        actor = scope.get("state", {}).get("actor")
        self.log.info("request", method=method, route=path, status=status, ms=round(elapsed * 1000, 2),
                      operator=getattr(actor, "username", None))


def create_app(db: Database | None = None, demo_info: dict[str, object] | None = None) -> FastAPI:
    settings = get_settings()
    if not structlog.is_configured():  # a uvicorn worker process imports this factory afresh (``serve --workers``)
        configure_logging(settings.log_json)
    database = db or Database(settings.database_url, echo=settings.echo_sql)
    app = FastAPI(title="sscard", version=__version__,
                  description="清远市社会保障卡管理系统 — registry, card lifecycle, operators, audit. "
                              "Errors: `{\"error\": {\"code\", \"message\", \"message_zh\", \"message_en\"}}`; "
                              "send `Accept-Language: en` for English messages.")
    app.state.db = database
    errors.install(app)
    web.install(app)

    registry = CollectorRegistry()
    requests = Counter("sscard_http_requests_total", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("sscard_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry)

    app.add_middleware(ObserveMiddleware, requests=requests, latency=latency, log=structlog.get_logger("sscard.http"))

    # Settlement first: routes are matched in order and 2207 is the busiest request (paths do not overlap).
    for router in (routes_medical.router, routes_auth.router, routes_persons.router, routes_cards.router,
                   routes_admin.router, routes_production.router, routes_funds.router,
                   routes_contributions.router):
        app.include_router(router, prefix="/api/v1")
    routes_medical.install_fast_routes(app, "/api/v1")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return web.landing(request, database, demo_info)

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz() -> str:
        database.ping()
        return "ok"

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
