"""Results as STAC, PNG quicklooks for before/after views, and the web console that shows them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from shapely.geometry import shape
from sqlalchemy import select

from deepres import stac
from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.catalog.scene import Scene
from deepres.errors import Conflict, InvalidInput, NotFound
from deepres.jobs import service
from deepres.jobs.models import DateState, Job, JobDate
from deepres.jobs.runtime import Runtime
from deepres.raster.quicklook import input_quicklook, quicklook_grid, result_quicklook
from deepres.storage import LocalStorage

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
READ_ERRORS = errors_for(401, 403, 404, 429, 500)
# How long the link the API itself reads a remote product through stays valid.
_READ_LINK_SECONDS = 600


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class StacDocument(BaseModel):
    """A STAC JSON document (see the STAC specification for its fields)."""

    model_config = ConfigDict(extra="allow")
    type: str
    links: list[dict[str, Any]] = []


# STAC items and item collections are GeoJSON; errors stay in the JSON envelope.
GEOJSON_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "STAC GeoJSON",
        "content": {"application/geo+json": {"schema": StacDocument.model_json_schema()}},
    }
}


def _links(runtime: Runtime, job_id: str) -> stac.StacLinks:
    base = runtime.settings.public_url.rstrip("/")
    return stac.StacLinks(f"{base}/deep-resolution/jobs/{job_id}/stac")


def _owned_rows(runtime: Runtime, principal: Principal, job_id: str) -> tuple[Job, list[JobDate]]:
    with runtime.db.session() as s:
        job = service.require_owned(s, principal, job_id)
        rows = list(s.scalars(select(JobDate).where(JobDate.job_id == job.id)).all())
    return job, rows


def _href_for(runtime: Runtime) -> stac.HrefFor:
    expiry = runtime.settings.link_expiry_seconds
    return lambda key: runtime.storage.url(key, expiry)


@router.get(
    "/deep-resolution/jobs/{job_id}/stac",
    response_model=StacDocument,
    responses=READ_ERRORS,
    summary="The job as a STAC Collection, linking one item per produced file",
)
def job_collection(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> JSONResponse:
    runtime = get_runtime(request)
    job, rows = _owned_rows(runtime, principal, job_id)
    body = stac.job_collection(job, rows, _href_for(runtime), links=_links(runtime, job.id))
    return JSONResponse(body)


@router.get(
    "/deep-resolution/jobs/{job_id}/stac/items",
    response_model=None,
    responses=GEOJSON_OK | READ_ERRORS,
    summary="Every produced file of the job as a STAC ItemCollection, download links signed",
)
def job_items(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> GeoJSONResponse:
    runtime = get_runtime(request)
    job, rows = _owned_rows(runtime, principal, job_id)
    links = _links(runtime, job.id)
    return GeoJSONResponse(stac.job_item_collection(rows, _href_for(runtime), links=links))


@router.get(
    "/deep-resolution/jobs/{job_id}/stac/items/{item_id}",
    response_model=None,
    responses=GEOJSON_OK | READ_ERRORS,
    summary="One produced file of the job as a STAC Item, download link signed",
)
def job_item(
    request: Request,
    job_id: str,
    item_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> GeoJSONResponse:
    runtime = get_runtime(request)
    job, rows = _owned_rows(runtime, principal, job_id)
    links = _links(runtime, job.id)
    for row in stac.described(rows):
        if stac.item_id(job.id, row.mgrs, row.date) == item_id:
            item = stac.product_item(row, _href_for(runtime)(row.storage_key or ""), links=links)
            return GeoJSONResponse(stac.item_dict(item))
    raise NotFound(f"No item {item_id!r} in job {job_id!r}: it has no such processed file.")


def _pick(rows: list[JobDate], date: dt.date, mgrs: str | None) -> JobDate:
    """The job date a quicklook is asked for; actionable errors otherwise."""
    on_date = [r for r in rows if r.date == date and (mgrs is None or r.mgrs == mgrs)]
    if not on_date:
        tile = f" and MGRS tile {mgrs}" if mgrs else ""
        raise NotFound(f"The job has no date {date.isoformat()}{tile}.")
    if len(on_date) > 1:
        tiles = ", ".join(sorted(r.mgrs for r in on_date))
        raise InvalidInput(f"{date.isoformat()} covers MGRS tiles {tiles}: pass mgrs= to pick one.")
    row = on_date[0]
    if row.state != DateState.PROCESSED or row.product is None or not row.storage_key:
        raise Conflict(
            f"{date.isoformat()} ({row.mgrs}) is {row.state}; quicklooks exist once it is "
            "PROCESSED."
        )
    return row


def _result_href(runtime: Runtime, key: str) -> str | Path:
    """The stored COG: its path on this machine, else a signed link GDAL reads over HTTP."""
    local = runtime.storage.get_local_path(key)
    if local is not None:
        return local
    if isinstance(runtime.storage, LocalStorage):
        raise NotFound("The product file no longer exists.")
    return runtime.storage.url(key, _READ_LINK_SECONDS)


@router.get(
    "/deep-resolution/jobs/{job_id}/quicklook/{date}.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "RGBA PNG, nodata transparent"},
        **errors_for(400, 401, 403, 404, 409, 429, 500, 503),
    },
    summary="True-colour PNG of a processed date: the result, or its input on the same grid",
)
def quicklook(
    request: Request,
    job_id: str,
    date: dt.date,
    kind: Literal["result", "input"] = Query("result"),
    mgrs: str | None = Query(None, min_length=1, max_length=10, pattern=r"^[0-9A-Za-z]+$"),
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> Response:
    runtime = get_runtime(request)
    job, rows = _owned_rows(runtime, principal, job_id)
    row = _pick(rows, date, mgrs.upper() if mgrs else None)
    product: dict[str, Any] = row.product or {}
    left, bottom, right, top = (float(v) for v in product["bounds"])
    grid = quicklook_grid(
        int(product["epsg"]),
        (left, bottom, right, top),
        int(product["width"]),
        int(product["height"]),
    )
    if kind == "result":
        png = result_quicklook(_result_href(runtime, row.storage_key or ""), grid)
    else:
        if row.scene is None:
            raise NotFound(f"{date.isoformat()} ({row.mgrs}) has no source scene recorded.")
        png = input_quicklook(Scene.from_dict(row.scene), grid, shape(job.aoi))
    # A processed date never changes: let the browser keep it (privately: it needs a token).
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


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
