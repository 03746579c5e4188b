"""The web console: one page and its own static files (Leaflet vendored, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from deepres.errors import NotFound

router = APIRouter()

CONSOLE_DIR = Path(__file__).with_name("console")
# Scripts, styles and data from this server only; images may also come from a tile server the
# user names in the console (there is no basemap by default).
CONSOLE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob: https: http:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _console_files() -> dict[str, Path]:
    """Every file the console may serve, by its path under /console/static/."""
    files = {}
    for path in sorted(CONSOLE_DIR.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(CONSOLE_DIR).as_posix()] = path
    return files


CONSOLE_FILES = _console_files()


@router.get("/console", include_in_schema=False)
def console() -> FileResponse:
    """The web console's page."""
    headers = {**CONSOLE_HEADERS, "Cache-Control": "no-cache"}
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html", headers=headers)


@router.get("/console/static/{path:path}", include_in_schema=False)
def console_static(path: str) -> FileResponse:
    """One of the console's own files (scripts, styles, the vendored Leaflet)."""
    file = CONSOLE_FILES.get(path)
    if file is None:
        raise NotFound(f"The console has no file {path!r}.")
    headers = {**CONSOLE_HEADERS, "Cache-Control": "public, max-age=300"}
    return FileResponse(file, headers=headers)
