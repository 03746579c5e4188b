"""`/docs`: Swagger UI on the service's own `/openapi.json`, from vendored files (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from deepres.errors import NotFound

router = APIRouter()

DOCS_DIR = Path(__file__).with_name("docs")
DOCS_FILES = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI; its script, style and icon come from this server."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}/docs/static/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/static/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/static/favicon-32x32.png",
    )


@router.get("/docs/static/{name}", include_in_schema=False)
def docs_static(name: str) -> FileResponse:
    """One of the vendored Swagger UI files."""
    if name not in DOCS_FILES:
        raise NotFound(f"The API documentation has no file {name!r}.")
    return FileResponse(DOCS_DIR / name, headers={"Cache-Control": "public, max-age=86400"})
