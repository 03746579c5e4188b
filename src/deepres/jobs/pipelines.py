"""Available-dates pipelines: initiate, run on a worker, report by callback or retrieve."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from deepres.auth.clients import Principal
from deepres.catalog.available import search_dates
from deepres.db import utcnow
from deepres.errors import CatalogUnavailable, DeepresError, InvalidInput
from deepres.jobs import announcements, outbox
from deepres.jobs.answers import AvailableDate, AvailableDates, PipelineStatus, SkippedScene
from deepres.jobs.dispatch import TASK_SEARCH_DATES
from deepres.jobs.lifecycle import claim
from deepres.jobs.models import Pipeline, PipelineState
from deepres.jobs.requests import DatesRequest, parse_dates_request
from deepres.jobs.runtime import Runtime
from deepres.webhooks.ssrf import validate_callback_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
NEXT_TRY_S = 5
MAX_SEARCH_HECTARES = 2_500_000


def check(runtime: Runtime, body: object, *, callback_required: bool) -> DatesRequest:
    """The checked available-dates request, or the error that says what to fix."""
    settings = runtime.settings
    req = parse_dates_request(
        body,
        today=utcnow().date(),
        callback_required=callback_required,
        max_vertices=settings.max_vertices,
    )
    if req.aoi.area_hectares > MAX_SEARCH_HECTARES:
        raise InvalidInput(
            f"AOI of {req.aoi.area_hectares:,.0f} ha is too large to search; "
            f"the limit is {MAX_SEARCH_HECTARES:,} ha. Split it (deepres split)."
        )
    if req.callback_url:
        validate_callback_url(req.callback_url, allow_private=settings.webhook_allow_private)
    return req


def create(
    runtime: Runtime, principal: Principal, body: object, *, callback_required: bool
) -> tuple[str, DatesRequest]:
    """Check and record a new pipeline, queue its search: (pipeline id, the request).

    The id answers check-status and retrieve; the callback (when given) gets the result.
    """
    req = check(runtime, body, callback_required=callback_required)
    pipeline_id = str(uuid.uuid4())
    with runtime.db.session() as s:
        s.add(
            Pipeline(
                id=pipeline_id,
                client_id=principal.client_id,
                request=req.stored(),
                callback_url=req.callback_url,
                state=PipelineState.NEW,
                lease_until=_lease(runtime),
            )
        )
    runtime.send(TASK_SEARCH_DATES, pipeline_id)
    return pipeline_id, req


def _lease(runtime: Runtime) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=runtime.settings.queue_lease_seconds)


def _claim(runtime: Runtime, pipeline_id: str) -> Pipeline | None:
    return claim(
        runtime,
        Pipeline,
        pipeline_id,
        waiting=PipelineState.NEW,
        running=PipelineState.PROCESSING,
        lease_s=runtime.settings.queue_lease_seconds,
    )


def run(runtime: Runtime, pipeline_id: str) -> None:
    """Search the catalog for the pipeline's AOI and store (and announce) the dates found."""
    pipeline = _claim(runtime, pipeline_id)
    if pipeline is None:
        return
    try:
        req = parse_dates_request(
            pipeline.request, today=utcnow().date(), callback_required=False, max_vertices=10**9
        )
        found = search_dates(
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
    result = AvailableDates(
        area_hectares=req.aoi.area_hectares,
        available_dates=[AvailableDate.model_validate(d.to_payload()) for d in found.available],
        skipped=[SkippedScene.model_validate(d.to_payload()) for d in found.skipped] or None,
    )
    with runtime.db.session() as s:
        row = s.get(Pipeline, pipeline_id)
        assert row is not None
        row.state = PipelineState.RESOLVED
        row.result = result.model_dump(mode="json")
        row.lease_until = None
        sent = _announce(s, row, announcements.dates_found(row.id, result))
    outbox.dispatch_all(runtime, [sent])


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
        sent = _announce(s, row, announcements.dates_failed(row.id, message))
    outbox.dispatch_all(runtime, [sent])


def _announce(s: Session, row: Pipeline, message: announcements.Announcement) -> str | None:
    return outbox.announce(
        s, message, client_id=row.client_id, url=row.callback_url, pipeline_id=row.id
    )


def get_owned(s: Session, principal: Principal, pipeline_id: str) -> Pipeline | None:
    row = s.get(Pipeline, pipeline_id)
    if row is None or row.client_id != principal.client_id:
        return None
    return row


def status_of(row: Pipeline) -> PipelineStatus:
    """The pipeline's state as check-status answers it."""
    return PipelineStatus(pipelineId=row.id, status=row.state, nextTry=_next_try(row.state))


def _next_try(state: str) -> int | None:
    return NEXT_TRY_S if state in (PipelineState.NEW, PipelineState.PROCESSING) else None
