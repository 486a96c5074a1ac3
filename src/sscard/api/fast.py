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

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

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
