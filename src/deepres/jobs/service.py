"""Deep-resolution jobs as the API sees them: create, status, cancel, list."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from deepres.auth.clients import Principal
from deepres.auth.models import Client
from deepres.db import utcnow
from deepres.errors import Conflict, InvalidInput, NotFound, PaymentRequired
from deepres.jobs.dispatch import TASK_PLAN_JOB
from deepres.jobs.envelope import spec_date
from deepres.jobs.models import (
    DateState,
    Delivery,
    DeliveryState,
    Job,
    JobDate,
    JobState,
)
from deepres.jobs.requests import JobRequest
from deepres.jobs.runtime import Runtime

OPEN_DATE_STATES = (DateState.PENDING, DateState.PROCESSING)
PAGE_DEFAULT = 50
PAGE_MAX = 200


def _request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def create(
    runtime: Runtime,
    principal: Principal,
    body: dict[str, Any],
    req: JobRequest,
    *,
    idempotency_key: str | None = None,
) -> tuple[str, bool]:
    """Record a job and queue its first catalog search; (job id, created) with idempotency."""
    stored = {k: v for k, v in body.items() if k != "client_token"}
    digest = _request_hash(stored)
    model = req.model or runtime.settings.default_model
    scale = req.scale or runtime.settings.output_scale
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
            search_lease_until=utcnow() + dt.timedelta(seconds=runtime.settings.task_lease_seconds),
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


def require_owned(s: Session, principal: Principal, job_id: str) -> Job:
    """The caller's job; another client's job is as absent as one that never existed."""
    job = s.get(Job, job_id)
    if job is None or job.client_id != principal.client_id:
        raise NotFound(f"No job {job_id!r} for this client.")
    return job


def running(job: Job, has_open_dates: bool) -> bool:
    """True while the job may still produce something: searching, watching or processing."""
    if job.state in (JobState.NEW, JobState.ACTIVE):
        return True
    return job.state != JobState.CANCELLED and has_open_dates


def is_running(s: Session, job: Job) -> bool:
    """`running`, with the open dates counted in the database."""
    open_dates = s.scalar(
        select(func.count())
        .select_from(JobDate)
        .where(JobDate.job_id == job.id, JobDate.state.in_(OPEN_DATE_STATES))
    )
    return running(job, bool(open_dates))


def public_status(job: Job, active: bool) -> str | None:
    """The spec's job `status`: ACTIVE, CANCELLED, or None once everything is done."""
    if job.state == JobState.CANCELLED:
        return "CANCELLED"
    return "ACTIVE" if active else None


def status(runtime: Runtime, s: Session, job: Job) -> dict[str, Any]:
    """The `data` of `GET /deep-resolution/status/{job_id}`."""
    rows = s.scalars(
        select(JobDate).where(JobDate.job_id == job.id).order_by(JobDate.date, JobDate.mgrs)
    ).all()
    dates = [_date_entry(runtime, row) for row in rows]
    data: dict[str, Any] = {"job_id": job.id, "dates": dates}
    # Judged from the rows just read, so the answer never contradicts itself (a second query
    # could see a date finish that the first still showed in progress).
    open_rows = any(row.state in OPEN_DATE_STATES for row in rows)
    state = public_status(job, running(job, open_rows))
    if state is not None:
        data["status"] = state
    if job.state == JobState.FAILED and job.error:
        data["error"] = job.error
    return data


def _date_entry(runtime: Runtime, row: JobDate) -> dict[str, Any]:
    entry: dict[str, Any] = {"date": spec_date(row.date), "status": row.state, "mgrs": row.mgrs}
    if row.cloud_cover is not None:
        entry["cloud_cover"] = row.cloud_cover
    if row.item_id:
        entry["data_source"] = row.item_id
    if row.state == DateState.PROCESSED and row.storage_key:
        entry["link"] = runtime.storage.url(row.storage_key, runtime.settings.link_expiry_seconds)
        entry["filename"] = row.storage_key.rsplit("/", 1)[-1]
    if row.state == DateState.FAILED and row.error:
        entry["reason"] = row.error
    return entry


def cancel(runtime: Runtime, principal: Principal, job_id: str) -> dict[str, Any]:
    """Stop a job at once: nothing new starts and nothing more is delivered."""
    with runtime.db.session() as s:
        job = require_owned(s, principal, job_id)
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
    return {"job_id": job_id, "status": "CANCELLED"}


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
) -> dict[str, Any]:
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
    return {"results": results, "cursor": next_cursor}


def _summary(s: Session, job: Job) -> dict[str, Any]:
    counts = dict(
        s.execute(
            select(JobDate.state, func.count())
            .where(JobDate.job_id == job.id)
            .group_by(JobDate.state)
        ).all()
    )
    summary: dict[str, Any] = {
        "job_id": job.id,
        "created": job.created_at.isoformat() + "Z",
        "area_hectares": job.area_hectares,
        "cloud_cover": job.cloud_cover,
        "start_date": job.start_date.isoformat() if job.start_date else None,
        "end_date": job.end_date.isoformat() if job.end_date else None,
        "dates": job.dates,
        "model": job.model,
        "dates_by_status": {str(k): int(v) for k, v in counts.items()},
    }
    open_dates = any(counts.get(state, 0) for state in OPEN_DATE_STATES)
    state = public_status(job, running(job, open_dates))
    if state is not None:
        summary["status"] = state
    return summary


def pipeline_status(s: Session, job: Job) -> str:
    """The job seen as a pipeline: NEW, PROCESSING, RESOLVED or FAILED."""
    if job.state == JobState.NEW:
        return "NEW"
    if job.state == JobState.FAILED:
        return "FAILED"
    if job.state == JobState.CANCELLED:
        return "RESOLVED"
    return "PROCESSING" if is_running(s, job) else "RESOLVED"
