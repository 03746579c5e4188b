"""PNG quicklooks of a processed date, the result or its input on the same grid (before/after)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from shapely.geometry import shape

from deepres.api.deps import authorized, get_runtime
from deepres.api.routes_stac import owned_rows
from deepres.api.schemas import errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.catalog.scene import Scene
from deepres.errors import Conflict, InvalidInput, NotFound, SceneReadError
from deepres.jobs.models import DateState, JobDate
from deepres.jobs.runtime import Runtime
from deepres.raster.quicklook import (
    LARGEST_SIDE,
    MAX_SIDE,
    QuicklookGrid,
    input_quicklook,
    input_stretch,
    quicklook_grid,
    result_quicklook,
)
from deepres.storage import LocalStorage

router = APIRouter()

# How long the link the API itself reads a remote product through stays valid.
_READ_LINK_SECONDS = 600


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


def _stretch_of_input(row: JobDate, grid: QuicklookGrid, aoi: dict[str, Any]) -> Any:
    """The input's stretch for a result quicklook; None (its own) when the input is unreadable."""
    if row.scene is None:
        return None
    try:
        return input_stretch(Scene.from_dict(row.scene), grid, shape(aoi))
    except SceneReadError:
        return None  # the source scene is gone or unreachable: the result still shows


@router.get(
    "/deep-resolution/jobs/{job_id}/quicklook/{date}.png",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}},
            "description": "RGBA PNG, nodata transparent; a result takes its input's stretch",
        },
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
    max_side: int = Query(
        MAX_SIDE,
        ge=16,
        le=LARGEST_SIDE,
        description=(
            "longest side in pixels: a product no larger comes at full resolution (one PNG "
            "pixel per product pixel), a larger one shrunk by a whole factor"
        ),
    ),
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> Response:
    runtime = get_runtime(request)
    job, rows = owned_rows(runtime, principal, job_id)
    row = _pick(rows, date, mgrs.upper() if mgrs else None)
    product: dict[str, Any] = row.product or {}
    left, bottom, right, top = (float(v) for v in product["bounds"])
    grid = quicklook_grid(
        int(product["epsg"]),
        (left, bottom, right, top),
        int(product["width"]),
        int(product["height"]),
        max_side,
    )
    if kind == "result":
        href = _result_href(runtime, row.storage_key or "")
        png = result_quicklook(href, grid, _stretch_of_input(row, grid, job.aoi))
    else:
        if row.scene is None:
            raise NotFound(f"{date.isoformat()} ({row.mgrs}) has no source scene recorded.")
        png = input_quicklook(Scene.from_dict(row.scene), grid, shape(job.aoi))
    # A processed date never changes: let the browser keep it (privately: it needs a token).
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
