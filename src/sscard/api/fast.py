"""The busiest endpoints as plain Starlette routes, placed first in the application's routes.

Why: a request is matched against the application's routes in order, and FastAPI (0.16x) matches an included
router's routes through a per-router context (``_IncludedRouter``): a request for the last included router —
the FHIR interface — was matched against every web and API router before it, then run through FastAPI's
endpoint machinery (dependency solving, response handling) that these endpoints do not use. In-process
(``bench/health_index.py``'s request, ASGI, PostgreSQL) that was about a third of the worker's CPU per FHIR
request. A ``FastRoute`` still passes every middleware and exception handler; the FastAPI route stays in its
router for the OpenAPI document and is shadowed by the fast one (same path and method, answered the same).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sscard.config import get_settings

Endpoint = Callable[[Request], Awaitable[Response]]


class FastRoute(Route):
    """A plain route that labels the request with itself, as FastAPI's routes do: the request log and the
    metrics label by route template (``api.app.route_of``)."""

    def __init__(self, path: str, endpoint: Endpoint, method: str) -> None:
        super().__init__(path, endpoint, methods=[method])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


def install(app: Starlette, routes: Iterable[FastRoute]) -> None:
    """Puts ``routes`` first, in the order given (their paths do not overlap any other route's)."""
    for index, route in enumerate(routes):
        app.router.routes.insert(index, route)


class _Endpoint:
    """A ``FastRoute``'s endpoint as the innermost ASGI application: the request labelled with its route (as
    ``FastRoute.matches`` does), the endpoint called, its response sent; an exception goes to the handlers."""

    def __init__(self, route: FastRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"], scope["endpoint"], scope["path_params"] = self.route, self.route.endpoint, {}
        response = await self.route.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


class _Shortcut:
    """The outermost application: a request for one of the shortcut routes (method and exact path) goes to its
    own copy of the middleware stack, every other request to the application's."""

    def __init__(self, full: ASGIApp, routes: dict[tuple[str, str], ASGIApp]) -> None:
        self.full, self.routes = full, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            target = self.routes.get((scope["method"], scope["path"]))
            if target is not None:
                await target(scope, receive, send)
                return
        await self.full(scope, receive, send)


def shortcut(app: FastAPI, routes: Iterable[FastRoute]) -> None:
    """Serve ``routes`` (also installed as ``FastRoute``s) through the application's own middleware stack — the
    same middleware, exception handlers and server-error handler, built by FastAPI from the same list — with
    the route's endpoint where the router would be.

    Why: for the departments' verification, answered a thousand times a second, the router's dispatch and
    Starlette's per-request endpoint wrapper (``request_response``: a second exception-handling wrapper, a
    request object) were about a tenth of a worker's CPU (py-spy, bench/exchange.py). Security headers, body
    limits, credentials check, metrics, the request log and every error answer are the middleware's and the
    handlers' own, as for every other route."""
    shortcuts = list(routes)
    build = app.build_middleware_stack

    def build_with_shortcuts() -> ASGIApp:
        full = build()
        router = app.router
        stacks: dict[tuple[str, str], ASGIApp] = {}
        for route in shortcuts:
            app.router = _Endpoint(route)  # type: ignore[assignment]  # build() wraps whatever app.router is
            try:
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        stacks[(method, route.path)] = build()
            finally:
                app.router = router
        return _Shortcut(full, stacks)

    app.build_middleware_stack = build_with_shortcuts  # type: ignore[method-assign]


class LoopLimiter:
    """``limiter()``: a CapacityLimiter of ``settings.settle_threads`` threads, one per event loop (a RunVar:
    TestClient starts a loop per request), for a route whose work holds busy rows in its transaction — a thread
    that waits for the GIL while holding them stalls the others (routes_medical says what was measured)."""

    def __init__(self, name: str) -> None:
        self._var: RunVar[CapacityLimiter] = RunVar(name)

    def __call__(self) -> CapacityLimiter:
        try:
            return self._var.get()
        except LookupError:
            limiter = CapacityLimiter(get_settings().settle_threads)
            self._var.set(limiter)
            return limiter
