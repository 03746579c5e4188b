"""Deep-resolution jobs as the API sees them: create, status, cancel, list.

`create` owns every rule a job must pass (the request's own rules in `requests`, the area
guard, the model and its scales from the model card, the callback's address, the client's
allocation); the router only hands over the JSON body and shapes the answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from deepres.aoi import check_area
from deepres.auth.clients import Principal
from deepres.auth.models import Client
from deepres.db import utcnow
from deepres.errors import Conflict, InvalidInput, NotFound, PaymentRequired
from deepres.jobs.answers import JobCancelled, JobsPage, JobStatusData, JobSummary, StatusEntry
from deepres.jobs.dispatch import TASK_PLAN_JOB
from deepres.jobs.models import (
    OPEN_JOB_STATES,
    DateState,
    Delivery,
    DeliveryState,
    Job,
    JobDate,
    JobState,
)
from deepres.jobs.requests import JobRequest, parse_job_request
from deepres.jobs.runtime import Runtime
from deepres.sr import describe_model
from deepres.types import spec_date
from deepres.webhooks.ssrf import validate_callback_url

OPEN_DATE_STATES = (DateState.PENDING, DateState.PROCESSING)
PAGE_DEFAULT = 50
PAGE_MAX = 200


def _request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check(runtime: Runtime, body: object) -> tuple[JobRequest, str, int]:
    """(the checked request, its model, its scale), or the error that says what to fix."""
    settings = runtime.settings
    req = parse_job_request(body, today=utcnow().date(), max_vertices=settings.max_vertices)
    check_area(req.aoi, settings.min_hectares, settings.max_hectares)
    model = describe_model(req.model or settings.default_model, settings.models_dir)
    scale = req.scale or settings.output_scale
    if scale not in model.scales:
        raise InvalidInput(
            f"Model {model.name!r} supports scales {list(model.scales)}, not {scale}."
        )
    if req.callback_url:
        validate_callback_url(req.callback_url, allow_private=settings.webhook_allow_private)
    return req, model.name, scale


def create(
    runtime: Runtime,
    principal: Principal,
    body: object,
    *,
    idempotency_key: str | None = None,
) -> tuple[str, bool]:
    """Check and record a job, queue its first catalog search; (job id, created).

    With an `idempotency_key` the same request gives the same job again (created False), and
    a different request under the same key is a Conflict.
    """
    req, model, scale = check(runtime, body)
    settings = runtime.settings
    stored = req.stored()
    digest = _request_hash(stored)
    with runtime.db.session() as s:
        if idempotency_key:
            prior = s.scalars(
                select(Job).where(
                    Job.client_id == principal.client_id, Job.idempotency_key == idempotency_key
                )
            ).first()
            if prior is not None:
                if prior.request_hash != digest:
                    raise Conflict(
                        "This Idempotency-Key was already used with a different request body."
                    )
                return prior.id, False
        _check_allocation(s, principal, req.aoi.area_hectares)
        job = Job(
            id=str(uuid.uuid4()),
            client_id=principal.client_id,
            request=stored,
            aoi=req.aoi.to_geojson(),
            area_hectares=req.aoi.area_hectares,
            cloud_cover=req.cloud_cover,
            start_date=req.start_date,
            end_date=req.end_date,
            interval_days=req.interval,
            dates=[d.isoformat() for d in req.dates] if req.dates else None,
            callback_url=req.callback_url or "",
            model=model,
            scale=scale,
            state=JobState.NEW,
            search_lease_until=utcnow() + dt.timedelta(seconds=settings.queue_lease_seconds),
            idempotency_key=idempotency_key,
            request_hash=digest,
        )
        s.add(job)
    runtime.send(TASK_PLAN_JOB, job.id)
    return job.id, True


def _check_allocation(s: Session, principal: Principal, hectares: float) -> None:
    """Refuse (402) a job that would take the client past its hectare allocation."""
    client = s.scalars(
        select(Client).where(Client.id == principal.client_id).with_for_update()
    ).one()
    if client.hectares_allocation is None:
        return
    used = s.scalar(
        select(func.coalesce(func.sum(Job.area_hectares), 0.0)).where(
            Job.client_id == client.id, Job.state != JobState.FAILED
        )
    )
    left = client.hectares_allocation - float(used or 0.0)
    if hectares > left:
        raise PaymentRequired(
            f"This job covers {hectares:,.1f} ha but only {max(left, 0):,.1f} ha are left of this "
            f"client's allocation of {client.hectares_allocation:,.1f} ha."
        )


# The status answer is what clients poll: it reads two compiled Core statements on one
# connection, no ORM session (which cost three times as much per request).
_JOBS = Job.__table__.c
_DATES = JobDate.__table__.c
_STATUS_JOB = select(_JOBS.client_id, _JOBS.state, _JOBS.error).where(
    _JOBS.id == bindparam("job_id")
)
_STATUS_DATES = (
    select(
        _DATES.date,
        _DATES.mgrs,
        _DATES.state,
        _DATES.cloud_cover,
        _DATES.scene,
        _DATES.item_id,
        _DATES.storage_key,
        _DATES.error,
    )
    .where(_DATES.job_id == bindparam("job_id"))
    .order_by(_DATES.date, _DATES.mgrs)
)


def require_owned(s: Session, principal: Principal, job_id: str) -> Job:
    """The caller's job; another client's job is as absent as one that never existed."""
    job = s.get(Job, job_id)
    if job is None or job.client_id != principal.client_id:
        raise _not_found(job_id)
    return job


def _not_found(job_id: str) -> NotFound:
    return NotFound(f"No job {job_id!r} for this client.")


def running(state: str, has_open_dates: bool) -> bool:
    """True while a job in `state` may still produce: searching, watching or processing."""
    if state in OPEN_JOB_STATES:
        return True
    return state != JobState.CANCELLED and has_open_dates


def is_running(s: Session, job: Job) -> bool:
    """`running`, with the open dates counted in the database."""
    open_dates = s.scalar(
        select(func.count())
        .select_from(JobDate)
        .where(JobDate.job_id == job.id, JobDate.state.in_(OPEN_DATE_STATES))
    )
    return running(job.state, bool(open_dates))


def public_status(state: str, has_open_dates: bool) -> str | None:
    """The spec's `status` of a job in `state`: ACTIVE, CANCELLED, or None once all is done."""
    if state == JobState.CANCELLED:
        return "CANCELLED"
    return "ACTIVE" if running(state, has_open_dates) else None


def status(runtime: Runtime, principal: Principal, job_id: str) -> JobStatusData:
    """The `data` of `GET /deep-resolution/status/{job_id}`; NotFound for another client's job."""
    with runtime.db.engine.connect() as conn:
        job = conn.execute(_STATUS_JOB, {"job_id": job_id}).first()
        if job is None or job.client_id != principal.client_id:
            raise _not_found(job_id)
        rows = conn.execute(_STATUS_DATES, {"job_id": job_id}).all()
    # Judged from the rows just read, so the answer never contradicts itself (a second query
    # could see a date finish that the first still showed in progress).
    open_rows = any(row.state in OPEN_DATE_STATES for row in rows)
    return JobStatusData(
        job_id=job_id,
        status=public_status(job.state, open_rows),
        dates=[_date_entry(runtime, row) for row in rows],
        error=job.error if job.state == JobState.FAILED else None,
    )


def _date_entry(runtime: Runtime, row: Row[*tuple[Any, ...]]) -> StatusEntry:
    processed = row.state == DateState.PROCESSED and bool(row.storage_key)
    key = row.storage_key or ""
    return StatusEntry(
        date=spec_date(row.date),
        status=row.state,
        mgrs=row.mgrs or None,
        cloud_cover=row.cloud_cover,
        cloud_cover_known=False if row.scene and "SCL" not in row.scene["assets"] else None,
        data_source=row.item_id or None,
        link=runtime.storage.url(key, runtime.settings.link_expiry_seconds) if processed else None,
        filename=key.rsplit("/", 1)[-1] if processed else None,
        reason=row.error if row.state == DateState.FAILED else None,
    )


def cancel(runtime: Runtime, principal: Principal, job_id: str) -> JobCancelled:
    """Stop a job at once: nothing new starts and nothing more is delivered.

    Cancelling a cancelled job answers the same again; a job that has already finished (every
    date done, nothing watched) cannot be cancelled: Conflict, and it stays as it was.
    """
    with runtime.db.session() as s:
        job = require_owned(s, principal, job_id)
        if job.state != JobState.CANCELLED and not is_running(s, job):
            raise Conflict(
                "This job has finished: every date is done and nothing is being watched, "
                "so there is nothing to cancel."
            )
        if job.state != JobState.CANCELLED:
            job.state = JobState.CANCELLED
            job.next_search_at = None
            s.execute(
                update(JobDate)
                .where(JobDate.job_id == job.id, JobDate.state == DateState.PENDING)
                .values(state=DateState.FAILED, error="cancelled before processing")
            )
            s.execute(
                update(Delivery)
                .where(Delivery.job_id == job.id, Delivery.state == DeliveryState.PENDING)
                .values(state=DeliveryState.DISABLED, last_error="job cancelled: not sent")
            )
    return JobCancelled(job_id=job_id)


def _encode_cursor(created: dt.datetime, job_id: str) -> str:
    raw = json.dumps([created.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        return dt.datetime.fromisoformat(created), str(job_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("'cursor' is not one this service gave out.") from exc


def list_jobs(
    runtime: Runtime, principal: Principal, cursor: str | None, limit: int | None
) -> JobsPage:
    """A page of the caller's jobs, newest first: `{"results": [...], "cursor": next or None}`."""
    size = min(max(limit or PAGE_DEFAULT, 1), PAGE_MAX)
    with runtime.db.session() as s:
        query = select(Job).where(Job.client_id == principal.client_id)
        if cursor:
            created, last_id = _decode_cursor(cursor)
            query = query.where(
                (Job.created_at < created) | ((Job.created_at == created) & (Job.id < last_id))
            )
        rows = s.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(size + 1)).all()
        page = rows[:size]
        results = [_summary(s, job) for job in page]
    next_cursor = _encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > size else None
    return JobsPage(results=results, cursor=next_cursor)


def _summary(s: Session, job: Job) -> JobSummary:
    counts = dict(
        s.execute(
            select(JobDate.state, func.count())
            .where(JobDate.job_id == job.id)
            .group_by(JobDate.state)
        ).all()
    )
    open_dates = any(counts.get(state, 0) for state in OPEN_DATE_STATES)
    return JobSummary(
        job_id=job.id,
        created=job.created_at.isoformat() + "Z",
        area_hectares=job.area_hectares,
        cloud_cover=job.cloud_cover,
        start_date=job.start_date.isoformat() if job.start_date else None,
        end_date=job.end_date.isoformat() if job.end_date else None,
        dates=job.dates,
        model=job.model,
        scale=job.scale,
        dates_by_status={str(k): int(v) for k, v in counts.items()},
        status=public_status(job.state, open_dates),
    )


def pipeline_status(s: Session, job: Job) -> str:
    """The job seen as a pipeline: NEW, PROCESSING, RESOLVED or FAILED."""
    if job.state == JobState.NEW:
        return "NEW"
    if job.state == JobState.FAILED:
        return "FAILED"
    if job.state == JobState.CANCELLED:
        return "RESOLVED"
    return "PROCESSING" if is_running(s, job) else "RESOLVED"
