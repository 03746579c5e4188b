"""A job's results as STAC: a Collection, its ItemCollection and one Item per produced file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from deepres import stac
from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.errors import NotFound
from deepres.jobs import service
from deepres.jobs.models import Job, JobDate
from deepres.jobs.runtime import Runtime

router = APIRouter()

READ_ERRORS = errors_for(401, 403, 404, 429, 500)


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
    base = runtime.settings.effective_public_url
    return stac.StacLinks(f"{base}/deep-resolution/jobs/{job_id}/stac")


def owned_rows(runtime: Runtime, principal: Principal, job_id: str) -> tuple[Job, list[JobDate]]:
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
    job, rows = owned_rows(runtime, principal, job_id)
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
    job, rows = owned_rows(runtime, principal, job_id)
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
    job, rows = owned_rows(runtime, principal, job_id)
    links = _links(runtime, job.id)
    for row in stac.described(rows):
        if stac.item_id(job.id, row.mgrs, row.date) == item_id:
            item = stac.product_item(row, _href_for(runtime)(row.storage_key or ""), links=links)
            return GeoJSONResponse(stac.item_dict(item))
    raise NotFound(f"No item {item_id!r} in job {job_id!r}: it has no such processed file.")
