"""Server-rendered pages (Jinja2 + htmx): the landing page, the counter workstation, the dashboard, the
cardholder portal and its kiosk mode.

``install(app)`` adds them to the ASGI application: routes, vendored static files under ``/static``, the
security-header and CSRF-cookie middleware, and the web's error pages. See docs/web.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sscard.terminal import station
from sscard.web import (
    actions,
    pages,
    routes_counter,
    routes_dashboard,
    routes_docs,
    routes_ecard,
    routes_employment,
    routes_exchange,
    routes_exchange_feeds,
    routes_kiosk,
    routes_operator,
    routes_portal,
    routes_remote,
    routes_session,
    routes_transfer,
    routes_transition,
    routes_treasury,
    security,
)
from sscard.web.i18n import HERE
from sscard.web.routes_session import landing

__all__ = ["install", "install_headers", "landing"]


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for router in (routes_session.router, routes_counter.router, actions.router, routes_dashboard.router,
                   routes_portal.router, routes_ecard.router, routes_kiosk.router, routes_operator.router,
                   routes_transition.router, routes_transfer.router, routes_employment.router,
                   routes_treasury.router, routes_exchange_feeds.router, routes_remote.router,
                   routes_exchange.router,
                   routes_docs.router):
        app.include_router(router)
    pages.install_handlers(app)
    # The kiosk's and the counter's card reader (a card image in the demo; tests put their own readers here).
    app.state.kiosk_reader = app.state.counter_reader = station.from_environment()


def install_headers(app: FastAPI) -> None:
    """The security headers and the CSRF cookie, on every answer: added after the body limit so that its
    413/401 answers carry them too (the middleware added last runs first)."""
    app.add_middleware(security.SecurityMiddleware)
