"""Turn a job into job-date rows: search the catalog, filter by AOI cloud cover, queue the work."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deepres.catalog.available import DateSearch, search_dates
from deepres.db import utcnow
from deepres.errors import CatalogUnavailable, DeepresError
from deepres.jobs import announcements, outbox
from deepres.jobs.dispatch import TASK_PROCESS_DATE
from deepres.jobs.models import OPEN_JOB_STATES, DateState, Job, JobDate, JobState
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)

#: Scenes reach the catalog hours to days after acquisition: each watch re-reads this many days.
LOOKBACK_DAYS = 5
MAX_SEARCH_ATTEMPTS = 5


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date


def search_window(job: Job, today: dt.date) -> Window | None:
    """The dates the next search covers, or None when there is nothing left to look at."""
    if job.dates:
        days = [dt.date.fromisoformat(d) for d in job.dates]
        return Window(min(days), max(days))
    start = job.start_date or today
    if job.searched_until is not None:
        start = max(start, job.searched_until - dt.timedelta(days=LOOKBACK_DAYS))
    end = min(job.end_date or today, today)
    return Window(start, end) if start <= end else None


def _insert_date(s: Session, row: JobDate) -> JobDate | None:
    exists = s.scalars(
        select(JobDate.id).where(
            JobDate.job_id == row.job_id, JobDate.date == row.date, JobDate.mgrs == row.mgrs
        )
    ).first()
    if exists is not None:
        return None
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:
        return None  # another run of this search inserted it first
    return row


NO_SCENE = "no Sentinel-2 L2A scene sees the AOI on this date"


def _rows_for(job: Job, search: DateSearch, lease: dt.datetime) -> list[JobDate]:
    rows = []
    wanted = set(job.dates) if job.dates else None
    seen_dates = set()
    for entry in search.available:
        if wanted is not None and entry.date.isoformat() not in wanted:
            continue
        seen_dates.add(entry.date.isoformat())
        clear = entry.cloud_cover <= job.cloud_cover
        if wanted is None and not clear:
            continue
        rows.append(
            JobDate(
                job_id=job.id,
                date=entry.date,
                mgrs=entry.mgrs,
                item_id=entry.item_id,
                scene=entry.scene.to_dict(),
                cloud_cover=entry.cloud_cover,
                state=DateState.PENDING if clear else DateState.FAILED,
                error=None
                if clear
                else (
                    f"cloud cover over the AOI is {entry.cloud_cover:.1f}%, "
                    f"above the requested {job.cloud_cover:g}%"
                ),
                lease_until=lease if clear else None,
            )
        )
    why = {s.date.isoformat(): s for s in search.skipped}
    for missing in sorted((wanted or set()) - seen_dates):
        skipped = why.get(missing)
        rows.append(
            JobDate(
                job_id=job.id,
                date=dt.date.fromisoformat(missing),
                mgrs=skipped.mgrs if skipped else "",
                item_id=skipped.item_id if skipped else None,
                state=DateState.FAILED,
                error=f"{skipped.item_id}: {skipped.reason}" if skipped else NO_SCENE,
            )
        )
    return rows


def plan(runtime: Runtime, job_id: str) -> None:
    """Search for the job's dates, add the new ones and queue their processing."""
    today = utcnow().date()
    with runtime.db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.state not in OPEN_JOB_STATES:
            return
        window = search_window(job, today)
        job.search_attempts += 1
        attempts = job.search_attempts
        aoi = shape(job.aoi)
        # Explicit dates report every scene with its cloud cover; ranges keep the clear ones.
        max_cloud = 100.0 if job.dates else job.cloud_cover
    found = DateSearch([], [])
    if window is not None:
        try:
            found = search_dates(
                runtime.catalog,
                aoi,
                window.start,
                window.end,
                max_cloud,
                max_workers=runtime.settings.catalog_max_workers,
            )
        except CatalogUnavailable as exc:
            _search_failed(runtime, job_id, exc.message, attempts)
            return
        except DeepresError as exc:
            _search_failed(runtime, job_id, exc.message, MAX_SEARCH_ATTEMPTS)
            return
    _record(runtime, job_id, found, window, today)


def _record(
    runtime: Runtime, job_id: str, found: DateSearch, window: Window | None, today: dt.date
) -> None:
    lease = utcnow() + dt.timedelta(seconds=runtime.settings.queue_lease_seconds)
    new_ids: list[int] = []
    sent: list[str | None] = []
    with runtime.db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.state not in OPEN_JOB_STATES:
            return  # cancelled while searching: add nothing
        watching = not job.dates and job.end_date is not None and job.end_date >= today
        if not _advance(s, job, window, watching):
            return  # cancelled between that read and now: add nothing either
        for row in _rows_for(job, found, lease):
            if _insert_date(s, row) is None:
                continue
            s.flush()
            if row.state == DateState.PENDING:
                new_ids.append(row.id)
            else:
                failure = announcements.date_failed(job.id, row.mgrs, row.date, row.error)
                sent.append(outbox.announce_for_job(s, job, failure))
    outbox.dispatch_all(runtime, sent)
    for date_id in new_ids:
        runtime.send(TASK_PROCESS_DATE, date_id)


def _advance(s: Session, job: Job, window: Window | None, watching: bool) -> bool:
    """Record a finished search on the job, unless it left NEW/ACTIVE meanwhile (a cancel).

    One conditional UPDATE, not a read and a later write: a cancel committed while the search
    ran must stay (written back from the read, the job went ACTIVE again after its cancel).
    """
    values: dict[str, Any] = {
        "search_attempts": 0,
        "search_lease_until": None,
        "state": JobState.ACTIVE if watching else JobState.SEARCHED,
        "next_search_at": utcnow() + dt.timedelta(days=job.interval_days) if watching else None,
    }
    if window is not None:
        values["searched_until"] = window.end
    done = s.execute(
        update(Job).where(Job.id == job.id, Job.state.in_(OPEN_JOB_STATES)).values(**values)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _search_failed(runtime: Runtime, job_id: str, message: str, attempts: int) -> None:
    sent = None
    with runtime.db.session() as s:
        if attempts < MAX_SEARCH_ATTEMPTS:
            log.warning(
                "job %s: search failed (attempt %d), will retry: %s", job_id, attempts, message
            )
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(search_lease_until=utcnow() + dt.timedelta(seconds=30 * attempts))
            )
            return
        job = s.get(Job, job_id)
        failed = s.execute(  # conditional, as in `_advance`: a cancel meanwhile stays
            update(Job)
            .where(Job.id == job_id, Job.state.in_(OPEN_JOB_STATES))
            .values(state=JobState.FAILED, error=message, search_lease_until=None)
        )
        if job is None or not failed.rowcount:  # type: ignore[attr-defined]
            return
        sent = outbox.announce_for_job(s, job, announcements.job_failed(job.id, message))
    outbox.dispatch_all(runtime, [sent])
