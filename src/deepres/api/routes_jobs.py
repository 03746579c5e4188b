"""`/deep-resolution` jobs: create, status, cancel, list. Parse, call the service, answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request

from deepres.api.deps import authorized, get_runtime, json_body, quick_read
from deepres.api.schemas import JobRequestBody, body_of, errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.jobs import envelope, service
from deepres.jobs.answers import JobCancelled, JobQueued, JobsPage, JobStatusData
from deepres.jobs.envelope import Envelope

router = APIRouter()


@router.post(
    "/deep-resolution",
    response_model=Envelope[JobQueued],
    responses=errors_for(400, 401, 402, 403, 409, 413, 422, 429, 500, 503),
    openapi_extra=body_of(JobRequestBody),
    summary="Queue a deep-resolution job over an AOI",
)
def create_job(
    request: Request,
    principal: Principal = Depends(authorized(perm.JOBS_CREATE)),
    body: dict[str, Any] = Depends(json_body),
    idempotency_key: str | None = Header(None, max_length=200),
) -> Envelope[JobQueued]:
    runtime = get_runtime(request)
    job_id, _created = service.create(runtime, principal, body, idempotency_key=idempotency_key)
    return envelope.ok(JobQueued(job_id=job_id))


@router.get(
    "/deep-resolution/status/{job_id}",
    response_model=Envelope[JobStatusData],
    responses=errors_for(401, 403, 404, 429, 500),
    summary="Dates of a job with their status and download links",
)
async def job_status(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> Envelope[JobStatusData]:
    runtime = get_runtime(request)
    return envelope.ok(await quick_read(runtime, service.status, runtime, principal, job_id))


def cancel(
    request: Request,
    job_id: str,
    principal: Principal = Depends(authorized(perm.JOBS_CANCEL)),
) -> Envelope[JobCancelled]:
    return envelope.ok(service.cancel(get_runtime(request), principal, job_id))


# POST as the spec's section title says, GET as its own example calls it: one operation each.
for method, summary in (
    ("POST", "Cancel a job: nothing new starts, nothing more is delivered"),
    ("GET", "Cancel a job (GET, as the spec's own example calls it)"),
):
    router.add_api_route(
        "/deep-resolution/cancel/{job_id}",
        cancel,
        methods=[method],
        name=f"cancel_{method.lower()}",
        response_model=Envelope[JobCancelled],
        responses=errors_for(400, 401, 403, 404, 409, 429, 500),
        summary=summary,
    )


@router.get(
    "/deep-resolution/jobs",
    response_model=JobsPage,
    responses=errors_for(400, 401, 403, 429, 500),
    summary="The caller's jobs, newest first, in cursor pages",
)
def list_jobs(
    request: Request,
    cursor: str | None = Query(None, max_length=500),
    limit: int | None = Query(None, ge=1, le=service.PAGE_MAX),
    principal: Principal = Depends(authorized(perm.JOBS_READ)),
) -> JobsPage:
    return service.list_jobs(get_runtime(request), principal, cursor, limit)
