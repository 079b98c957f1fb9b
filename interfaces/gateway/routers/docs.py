"""``/docs`` (Swagger UI) and ``/redoc`` with their assets served by the gateway itself.

FastAPI's defaults load them from a CDN, which a zone's closed network does not reach (the pages
stay blank). The assets are vendored from the npm registry into ``interfaces/gateway/static/vendor``
(versions and licences in its ``VERSIONS.md``) and served under ``/static``.

ReDoc's bundle draws its "API docs by Redocly" footer with a logo from ``cdn.redoc.ly``: the gateway
serves the vendored bundle (unmodified on disk) at ``/docs/assets/redoc.standalone.js`` with that
one address replaced by an empty inline SVG, so the page asks nothing of the internet.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
VENDOR = "/static/vendor"
REDOC_BUNDLE = STATIC_DIR / "vendor" / "redoc" / "redoc.standalone.js"
# The footer logo's address in redoc 2.5.4's bundle, and what stands in for it (draws nothing).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the gateway's OpenAPI document, every asset local."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the gateway's OpenAPI document, every asset local (no Google fonts)."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url="/docs/assets/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )


@cache
def _local_redoc_bundle() -> bytes:
    return REDOC_BUNDLE.read_text(encoding="utf-8").replace(REDOC_LOGO, EMPTY_SVG).encode("utf-8")


@router.get("/docs/assets/redoc.standalone.js")
async def redoc_bundle() -> Response:
    """The vendored ReDoc bundle with its one CDN address (the footer logo) made local."""
    return Response(
        _local_redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
