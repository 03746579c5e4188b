"""`/deep-resolution/available_dates` and the pipeline endpoints that poll it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from deepres import API_VERSION
from deepres.api.deps import authorized, get_runtime, json_body
from deepres.api.schemas import (
    AvailableDatesRequest,
    InitiateRequest,
    PipelineRef,
    body_of,
    errors_for,
)
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.errors import InvalidInput, NotFound, PipelineFailed, PipelineNotResolved
from deepres.jobs import envelope, pipelines, service
from deepres.jobs.answers import AvailableDates, DatesAccepted, JobStatusData, PipelineStatus
from deepres.jobs.envelope import Envelope
from deepres.jobs.models import PipelineState
from deepres.jobs.runtime import Runtime

router = APIRouter()
ERRORS = errors_for(400, 401, 403, 413, 422, 429, 500, 503)


@router.post(
    "/deep-resolution/available_dates",
    response_model=Envelope[DatesAccepted],
    responses=ERRORS,
    openapi_extra=body_of(AvailableDatesRequest),
    summary="Find the dates with little cloud over the AOI; results go to callback_url",
)
def available_dates(
    request: Request,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
    body: dict[str, Any] = Depends(json_body),
) -> Envelope[DatesAccepted]:
    runtime = get_runtime(request)
    pipeline_id, req = pipelines.create(runtime, principal, body, callback_required=True)
    message = (
        f"Fetching available dates, callback url will be called to {req.callback_url} when done"
    )
    accepted = DatesAccepted(
        message=message,
        version=API_VERSION,
        timestamp=envelope.timestamp(),
        pipelineId=pipeline_id,
    )
    return envelope.ok(accepted)


@router.post(
    "/deep-resolution/available_dates/initiate",
    response_model=PipelineStatus,
    responses=ERRORS,
    openapi_extra=body_of(InitiateRequest),
    summary="Start an available-dates pipeline to poll (no callback needed)",
)
def initiate(
    request: Request,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
    body: dict[str, Any] = Depends(json_body),
) -> PipelineStatus:
    runtime = get_runtime(request)
    pipeline_id, _ = pipelines.create(runtime, principal, body, callback_required=False)
    return PipelineStatus(pipelineId=pipeline_id, status="NEW", nextTry=pipelines.NEXT_TRY_S)


def _pipeline_id(body: dict[str, Any] | None) -> str:
    # A body of only whitespace parses to no object at all: the same 400 as a missing id.
    value = body.get("pipelineId") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput("'pipelineId' is required: the id .../initiate (or a job) gave.")
    return value


@router.post(
    "/tasking/check-status",
    response_model=PipelineStatus,
    responses=errors_for(400, 401, 403, 404, 429, 500),
    openapi_extra=body_of(PipelineRef),
    summary="Status of a pipeline (an available-dates search or a job)",
)
def check_status(
    request: Request,
    principal: Principal = Depends(authorized(perm.TASKING_STATUS)),
    body: dict[str, Any] = Depends(json_body),
) -> PipelineStatus:
    runtime = get_runtime(request)
    pipeline_id = _pipeline_id(body)
    with runtime.db.session() as s:
        pipe = pipelines.get_owned(s, principal, pipeline_id)
        if pipe is not None:
            return pipelines.status_of(pipe)
        job = service.require_owned(s, principal, pipeline_id)
        state = service.pipeline_status(s, job)
    next_try = pipelines.NEXT_TRY_S if state in ("NEW", "PROCESSING") else None
    return PipelineStatus(pipelineId=pipeline_id, status=state, nextTry=next_try)


@router.post(
    "/deep-resolution/available_dates/retrieve",
    response_model=Envelope[AvailableDates] | Envelope[JobStatusData],
    responses=errors_for(400, 401, 403, 404, 409, 424, 429, 500),
    openapi_extra=body_of(PipelineRef),
    summary="The result of a resolved pipeline (409 while running, 424 when failed)",
)
def retrieve(
    request: Request,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
    body: dict[str, Any] = Depends(json_body),
) -> Envelope[AvailableDates] | Envelope[JobStatusData]:
    runtime = get_runtime(request)
    pipeline_id = _pipeline_id(body)
    with runtime.db.session() as s:
        pipe = pipelines.get_owned(s, principal, pipeline_id)
        if pipe is None:
            return _retrieve_job(runtime, principal, pipeline_id)
        if pipe.state == PipelineState.FAILED:
            raise PipelineFailed(f"The pipeline failed: {pipe.error}")
        if pipe.state != PipelineState.RESOLVED or pipe.result is None:
            retrying = (
                f" The last attempt failed and will be retried: {pipe.error}" if pipe.error else ""
            )
            raise PipelineNotResolved(
                f"The pipeline is {pipe.state}; check again in {pipelines.NEXT_TRY_S} s.{retrying}"
            )
        result = AvailableDates.model_validate(pipe.result)
    return envelope.ok(result, status="SUCCESS")


def _retrieve_job(runtime: Runtime, principal: Principal, job_id: str) -> Envelope[JobStatusData]:
    with runtime.db.session() as s:
        try:
            job = service.require_owned(s, principal, job_id)
        except NotFound as exc:
            raise NotFound(f"No pipeline or job {job_id!r} for this client.") from exc
        state = service.pipeline_status(s, job)
        if state == "FAILED":
            raise PipelineFailed(f"The job failed: {job.error}")
        if state != "RESOLVED":
            raise PipelineNotResolved(f"The job is {state}; check again later.")
    # Resolved is final: the answer read next cannot disagree with the state just judged.
    return envelope.ok(service.status(runtime, principal, job_id), status="SUCCESS")
