"""`/deep-resolution` jobs: create, status, cancel, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request

from deepres.aoi import check_area
from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import Envelope, JobRequestBody, JobsPage, errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.db import utcnow
from deepres.errors import InvalidInput
from deepres.jobs import envelope, service
from deepres.jobs.requests import parse_job_request
from deepres.webhooks.ssrf import validate_callback_url

router = APIRouter()


@router.post(
    "/deep-resolution",
    response_model=Envelope,
    response_model_exclude_none=True,
    responses=errors_for(400, 401, 402, 403, 409, 413, 422, 429, 500, 503),
    summary="Queue a deep-resolution job over an AOI",
)
def create_job(
    request: Request,
    payload: JobRequestBody,
    principal: Principal = Depends(authorized(perm.JOBS_CREATE)),
    idempotency_key: str | None = Header(None, max_length=200),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    body = payload.model_dump(mode="json", exclude_unset=True)
    req = parse_job_request(body, today=utcnow().date(), max_vertices=runtime.settings.max_vertices)
    check_area(req.aoi, runtime.settings.min_hectares, runtime.settings.max_hectares)
    model = runtime.model(req.model)
    scale = req.scale or runtime.settings.output_scale
    if scale not in model.scales:
        raise InvalidInput(f"Model {model.name!r} does not support scale {scale}.")
    if req.callback_url:
        validate_callback_url(
            req.callback_url, allow_private=runtime.settings.webhook_allow_private
        )
    job_id, _created = service.create(
        runtime, principal, body, req, idempotency_key=idempotency_key
    )
    return envelope.ok({"message": "Job queued", "job_id": job_id})


@router.get(
    "/deep-resolution/status/{job_id}",
    response_model=Envelope,
    response_model_exclude_none=True,
    responses=errors_for(401, 403, 404, 500),
    summary="Dates of a job with their status and download links",
)
def job_status(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    with runtime.db.session() as s:
        job = service.require_owned(s, principal, job_id)
        return envelope.ok(service.status(runtime, s, job))


def _cancel(request: Request, job_id: str, principal: Principal) -> dict[str, Any]:
    return envelope.ok(service.cancel(get_runtime(request), principal, job_id))


@router.post(
    "/deep-resolution/cancel/{job_id}",
    response_model=Envelope,
    responses=errors_for(401, 403, 404, 500),
    summary="Cancel a job: nothing new starts, nothing more is delivered",
)
def cancel_post(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_CANCEL)),
) -> dict[str, Any]:
    return _cancel(request, job_id, principal)


@router.get(
    "/deep-resolution/cancel/{job_id}",
    response_model=Envelope,
    responses=errors_for(401, 403, 404, 500),
    summary="Cancel a job (GET, as the spec's own example calls it)",
)
def cancel_get(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_CANCEL)),
) -> dict[str, Any]:
    return _cancel(request, job_id, principal)


@router.get(
    "/deep-resolution/jobs",
    response_model=JobsPage,
    responses=errors_for(400, 401, 403, 500),
    summary="The caller's jobs, newest first, in cursor pages",
)
def list_jobs(
    request: Request,
    cursor: str | None = Query(None, max_length=500),
    limit: int | None = Query(None, ge=1, le=service.PAGE_MAX),
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> dict[str, Any]:
    return service.list_jobs(get_runtime(request), principal, cursor, limit)
