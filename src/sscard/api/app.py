"""The ASGI application: routers under /api/v1, landing page, health, metrics, structured logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from sscard import __version__, web
from sscard.api import (
    errors,
    routes_admin,
    routes_auth,
    routes_cards,
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
    structlog.configure(processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper("iso"),
                                    structlog.processors.format_exc_info, renderer])


def create_app(db: Database | None = None, demo_info: dict[str, object] | None = None) -> FastAPI:
    settings = get_settings()
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
    log = structlog.get_logger("sscard.http")

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(request.method, path).observe(elapsed)
        actor = getattr(request.state, "actor", None)
        log.info("request", method=request.method, route=path, status=response.status_code,
                 ms=round(elapsed * 1000, 2), operator=getattr(actor, "username", None))
        return response

    # Settlement first: routes are matched in order and 2207 is the busiest request (paths do not overlap).
    for router in (routes_medical.router, routes_auth.router, routes_persons.router, routes_cards.router,
                   routes_admin.router, routes_production.router, routes_funds.router):
        app.include_router(router, prefix="/api/v1")

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
