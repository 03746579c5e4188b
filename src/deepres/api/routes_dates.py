"""`/deep-resolution/available_dates` and the pipeline endpoints that poll it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import (
    AvailableDatesRequest,
    Envelope,
    InitiateRequest,
    PipelineRef,
    PipelineStatus,
    errors_for,
)
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.db import utcnow
from deepres.errors import InvalidInput, NotFound, PipelineFailed, PipelineNotResolved
from deepres.jobs import envelope, pipelines, service
from deepres.jobs.models import PipelineState
from deepres.jobs.requests import parse_dates_request
from deepres.jobs.runtime import Runtime
from deepres.webhooks.ssrf import validate_callback_url

router = APIRouter()
ERRORS = errors_for(400, 401, 403, 413, 422, 429, 500, 503)
MAX_SEARCH_HECTARES = 2_500_000


def _start(runtime: Runtime, principal: Principal, body: dict[str, Any], callback: bool) -> str:
    req = parse_dates_request(
        body,
        today=utcnow().date(),
        callback_required=callback,
        max_vertices=runtime.settings.max_vertices,
    )
    if req.aoi.area_hectares > MAX_SEARCH_HECTARES:
        raise InvalidInput(
            f"AOI of {req.aoi.area_hectares:,.0f} ha is too large to search; "
            f"the limit is {MAX_SEARCH_HECTARES:,} ha. Split it (deepres split)."
        )
    if req.callback_url:
        validate_callback_url(
            req.callback_url, allow_private=runtime.settings.webhook_allow_private
        )
    return pipelines.create(runtime, principal, body, req)


@router.post(
    "/deep-resolution/available_dates",
    response_model=Envelope,
    response_model_exclude_none=True,
    responses=ERRORS,
    summary="Find the dates with little cloud over the AOI; results go to callback_url",
)
def available_dates(
    request: Request,
    payload: AvailableDatesRequest,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    pipeline_id = _start(runtime, principal, payload.model_dump(mode="json"), callback=True)
    message = (
        f"Fetching available dates, callback url will be called to {payload.callback_url} when done"
    )
    return {
        "statusCode": 200,
        "data": {
            "message": message,
            "version": "v1.0",
            "timestamp": envelope.timestamp(),
            "pipelineId": pipeline_id,
        },
        "version": "v1.0",
        "timestamp": envelope.timestamp(),
    }


@router.post(
    "/deep-resolution/available_dates/initiate",
    response_model=PipelineStatus,
    response_model_exclude_none=True,
    responses=ERRORS,
    summary="Start an available-dates pipeline to poll (no callback needed)",
)
def initiate(
    request: Request,
    payload: InitiateRequest,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    pipeline_id = _start(runtime, principal, payload.model_dump(mode="json"), callback=False)
    return {"pipelineId": pipeline_id, "status": "NEW", "nextTry": pipelines.NEXT_TRY_S}


@router.post(
    "/tasking/check-status",
    response_model=PipelineStatus,
    response_model_exclude_none=True,
    responses=errors_for(400, 401, 403, 404, 500),
    summary="Status of a pipeline (an available-dates search or a job)",
)
def check_status(
    request: Request,
    payload: PipelineRef,
    principal: Principal = Depends(authorized(perm.TASKING_STATUS)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    with runtime.db.session() as s:
        pipe = pipelines.get_owned(s, principal, payload.pipelineId)
        if pipe is not None:
            return pipelines.status_of(pipe)
        job = service.require_owned(s, principal, payload.pipelineId)
        state = service.pipeline_status(s, job)
    next_try = pipelines.NEXT_TRY_S if state in ("NEW", "PROCESSING") else None
    return {"pipelineId": payload.pipelineId, "status": state, "nextTry": next_try}


@router.post(
    "/deep-resolution/available_dates/retrieve",
    response_model=Envelope,
    response_model_exclude_none=True,
    responses=errors_for(400, 401, 403, 404, 409, 424, 500),
    summary="The result of a resolved pipeline (409 while running, 424 when failed)",
)
def retrieve(
    request: Request,
    payload: PipelineRef,
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    with runtime.db.session() as s:
        pipe = pipelines.get_owned(s, principal, payload.pipelineId)
        if pipe is None:
            return _retrieve_job(runtime, principal, payload.pipelineId)
        if pipe.state == PipelineState.FAILED:
            raise PipelineFailed(f"The pipeline failed: {pipe.error}")
        if pipe.state != PipelineState.RESOLVED or pipe.result is None:
            retrying = (
                f" The last attempt failed and will be retried: {pipe.error}" if pipe.error else ""
            )
            raise PipelineNotResolved(
                f"The pipeline is {pipe.state}; check again in {pipelines.NEXT_TRY_S} s.{retrying}"
            )
        return envelope.ok(pipe.result, status="SUCCESS")


def _retrieve_job(runtime: Runtime, principal: Principal, job_id: str) -> dict[str, Any]:
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
        return envelope.ok(service.status(runtime, s, job), status="SUCCESS")
