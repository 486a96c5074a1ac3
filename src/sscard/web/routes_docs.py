"""The API documentation pages (Swagger UI at /docs, ReDoc at /redoc) served from the vendored assets under
/static, so that they work offline (government intranets reach no CDN). FastAPI's own pages load them from a
CDN; the application turns those off (``docs_url=None, redoc_url=None``) and these take their place."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
OPENAPI_URL = "/openapi.json"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=OPENAPI_URL, title="sscard API",
                               swagger_js_url="/static/swagger-ui-bundle.js",
                               swagger_css_url="/static/swagger-ui.css",
                               swagger_favicon_url="/static/favicon-32x32.png")


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_URL, title="sscard API", redoc_js_url="/static/redoc.standalone.js",
                          redoc_favicon_url="/static/favicon-32x32.png", with_google_fonts=False)
