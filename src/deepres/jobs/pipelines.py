"""Available-dates pipelines: initiate, run on a worker, report by callback or retrieve."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from deepres.auth.clients import Principal
from deepres.catalog.available import find_available_dates
from deepres.db import utcnow
from deepres.errors import CatalogUnavailable, DeepresError
from deepres.jobs import envelope, outbox
from deepres.jobs.dispatch import TASK_SEARCH_DATES
from deepres.jobs.models import Pipeline, PipelineState
from deepres.jobs.requests import DatesRequest, parse_dates_request
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
NEXT_TRY_S = 5


def create(runtime: Runtime, principal: Principal, body: dict[str, Any], req: DatesRequest) -> str:
    """Record a new pipeline and queue its search; the id answers check-status and retrieve."""
    pipeline_id = str(uuid.uuid4())
    stored = {k: v for k, v in body.items() if k != "client_token"}
    with runtime.db.session() as s:
        s.add(
            Pipeline(
                id=pipeline_id,
                client_id=principal.client_id,
                request=stored,
                callback_url=req.callback_url,
                state=PipelineState.NEW,
                lease_until=_lease(runtime),
            )
        )
    runtime.send(TASK_SEARCH_DATES, pipeline_id)
    return pipeline_id


def _lease(runtime: Runtime) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=runtime.settings.task_lease_seconds)


def _claim(runtime: Runtime, pipeline_id: str) -> Pipeline | None:
    now = utcnow()
    with runtime.db.session() as s:
        res = s.execute(
            update(Pipeline)
            .where(
                Pipeline.id == pipeline_id,
                (Pipeline.state == PipelineState.NEW)
                | ((Pipeline.state == PipelineState.PROCESSING) & (Pipeline.lease_until < now)),
            )
            .values(
                state=PipelineState.PROCESSING,
                lease_until=_lease(runtime),
                attempts=Pipeline.attempts + 1,
            )
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(Pipeline, pipeline_id)


def run(runtime: Runtime, pipeline_id: str) -> None:
    """Search the catalog for the pipeline's AOI and store (and announce) the dates found."""
    pipeline = _claim(runtime, pipeline_id)
    if pipeline is None:
        return
    try:
        req = parse_dates_request(
            pipeline.request, today=utcnow().date(), callback_required=False, max_vertices=10**9
        )
        found = find_available_dates(
            runtime.catalog,
            req.aoi.geometry,
            req.start,
            req.end,
            req.cloud_cover,
            max_workers=runtime.settings.catalog_max_workers,
        )
    except CatalogUnavailable as exc:
        if pipeline.attempts < MAX_ATTEMPTS:
            log.warning("pipeline %s: catalog unavailable, will retry: %s", pipeline_id, exc)
            _retry_later(runtime, pipeline_id, pipeline.attempts, exc.message)
            return
        _fail(runtime, pipeline, exc.message)
        return
    except DeepresError as exc:
        _fail(runtime, pipeline, exc.message)
        return
    result = {
        "area_hectares": req.aoi.area_hectares,
        "available_dates": [d.to_payload() for d in found],
    }
    with runtime.db.session() as s:
        row = s.get(Pipeline, pipeline_id)
        assert row is not None
        row.state = PipelineState.RESOLVED
        row.result = result
        row.lease_until = None
        delivery = _announce(s, row, envelope.ok(result, status="SUCCESS"), "available_dates")
    if delivery:
        outbox.dispatch(runtime, delivery)


def _retry_later(runtime: Runtime, pipeline_id: str, attempts: int, error: str) -> None:
    # Back to PROCESSING with a short lease: the scheduler re-dispatches it when that runs out.
    with runtime.db.session() as s:
        s.execute(
            update(Pipeline)
            .where(Pipeline.id == pipeline_id)
            .values(lease_until=utcnow() + dt.timedelta(seconds=30 * attempts), error=error)
        )


def _fail(runtime: Runtime, pipeline: Pipeline, message: str) -> None:
    with runtime.db.session() as s:
        row = s.get(Pipeline, pipeline.id)
        assert row is not None
        row.state = PipelineState.FAILED
        row.error = message
        row.lease_until = None
        body = {
            "statusCode": 424,
            "data": {"pipelineId": row.id, "error": message, "version": "v1.0"},
            "status": "FAILED",
            "version": "v1.0",
            "timestamp": envelope.timestamp(),
        }
        delivery = _announce(s, row, body, "available_dates.failed")
    if delivery:
        outbox.dispatch(runtime, delivery)


def _announce(s: Session, row: Pipeline, payload: dict[str, Any], event: str) -> str | None:
    if not row.callback_url:
        return None
    delivery = outbox.enqueue(
        s,
        client_id=row.client_id,
        url=row.callback_url,
        event=event,
        payload=payload,
        dedupe_key=f"pipeline:{row.id}",
        pipeline_id=row.id,
    )
    return delivery.id if delivery else None


def get_owned(s: Session, principal: Principal, pipeline_id: str) -> Pipeline | None:
    row = s.get(Pipeline, pipeline_id)
    if row is None or row.client_id != principal.client_id:
        return None
    return row


def status_of(row: Pipeline) -> dict[str, Any]:
    return {"pipelineId": row.id, "status": row.state, "nextTry": _next_try(row.state)}


def _next_try(state: str) -> int | None:
    return NEXT_TRY_S if state in (PipelineState.NEW, PipelineState.PROCESSING) else None
