"""Process one job date: claim it, super-resolve the AOI, store the COG, announce it once."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from sqlalchemy import update

from deepres.catalog.scene import Scene
from deepres.db import utcnow
from deepres.errors import DeepresError, Stopped
from deepres.jobs import announcements, outbox
from deepres.jobs.dispatch import STOPPING, TASK_PROCESS_DATE
from deepres.jobs.lifecycle import claim, heartbeat
from deepres.jobs.models import DateState, Job, JobDate, JobState
from deepres.jobs.runtime import Runtime
from deepres.raster import process_scene

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def storage_key(job_id: str, mgrs: str, day: dt.date) -> str:
    """`{job_id}/{mgrs}/{YYYY-MM-DD}_MS.tif`, the spec's layout."""
    return f"{job_id}/{mgrs}/{day.isoformat()}_MS.tif"


def _claim(runtime: Runtime, date_id: int) -> JobDate | None:
    return claim(
        runtime,
        JobDate,
        date_id,
        waiting=DateState.PENDING,
        running=DateState.PROCESSING,
        lease_s=runtime.settings.task_lease_seconds,
        worker=WORKER_ID,
    )


def _job_live(runtime: Runtime, job_id: str) -> Job | None:
    with runtime.db.session() as s:
        job = s.get(Job, job_id)
        return None if job is None or job.state == JobState.CANCELLED else job


def _stop_requested(_done: int, _total: int) -> None:
    """Called after every tile: raise `Stopped` once the worker has been asked to stop."""
    if STOPPING.is_set():
        raise Stopped("the worker is stopping; the date goes back to the queue")


def process(runtime: Runtime, date_id: int) -> None:
    """Produce and announce one date's COG; safe to run twice (one file, one announcement).

    While it runs, a heartbeat renews the date's lease. A worker asked to stop hands the date
    back (PENDING, lease released, queued again) between two tiles instead of finishing it.
    """
    if STOPPING.is_set():
        return  # a message taken during shutdown: the lease brings it back elsewhere
    row = _claim(runtime, date_id)
    if row is None:
        return
    job = _job_live(runtime, row.job_id)
    if job is None or row.scene is None:
        return
    try:
        with heartbeat(runtime, date_id, WORKER_ID):
            _produce(runtime, row, row.scene, job)
    except Stopped:
        _hand_back(runtime, date_id)


def _produce(runtime: Runtime, row: JobDate, scene: dict[str, Any], job: Job) -> None:
    date_id = row.id
    started = time.monotonic()
    key = storage_key(job.id, row.mgrs, row.date)
    try:
        with tempfile.TemporaryDirectory(prefix="deepres-") as tmp:
            out = Path(tmp) / key.rsplit("/", 1)[-1]
            model = runtime.model(job.model)
            info = process_scene(
                Scene.from_dict(scene),
                shape(job.aoi),
                model,
                job.scale,
                out,
                tile_px=runtime.settings.tile_size_px,
                tags={"DEEPRES_JOB_ID": job.id, "DEEPRES_DATE": row.date.isoformat()},
                progress=_stop_requested,
            )
            if info is None:
                _fail(runtime, date_id, "the scene holds no valid pixels inside the AOI")
                return
            if _job_live(runtime, job.id) is None:
                return  # cancelled while processing: store and announce nothing
            runtime.storage.put_file(out, key)
            product = {
                "epsg": info.epsg,
                "bounds": list(info.bounds),
                "width": info.width,
                "height": info.height,
                "resolution": info.resolution,
                "bands": list(info.bands),
                "model": model.name,
                "model_version": model.version,
                "scale": job.scale,
                "scene_id": row.item_id,
                "shift_20m_px": info.shift_20m_px,
            }
    except Stopped:
        raise
    except DeepresError as exc:
        _retry_or_fail(runtime, date_id, row.attempts, exc.message)
        return
    except Exception as exc:
        log.exception("job date %s failed", date_id)
        _retry_or_fail(runtime, date_id, row.attempts, f"internal error: {type(exc).__name__}")
        return
    _done(runtime, date_id, key, product, time.monotonic() - started)


def _settle(
    runtime: Runtime,
    date_id: int,
    change: Callable[[JobDate], None],
    announce: Callable[[Job, JobDate], announcements.Announcement | None],
) -> None:
    """Apply `change` to a date and queue what `announce` says of it, in one transaction."""
    sent = None
    with runtime.db.session() as s:
        row = s.get(JobDate, date_id)
        job = s.get(Job, row.job_id) if row else None
        if row is None or job is None:
            return
        change(row)
        message = announce(job, row)
        if message is not None:
            sent = outbox.announce_for_job(s, job, message)
    outbox.dispatch_all(runtime, [sent])


def _done(
    runtime: Runtime, date_id: int, key: str, product: dict[str, Any], seconds: float
) -> None:
    def change(row: JobDate) -> None:
        row.state = DateState.PROCESSED
        row.storage_key = key
        row.product = product
        row.lease_until = None
        row.error = None
        row.processing_seconds = seconds

    def announce(job: Job, row: JobDate) -> announcements.Announcement | None:
        if not job.callback_url or job.state == JobState.CANCELLED:
            return None
        link = runtime.storage.url(key, runtime.settings.link_expiry_seconds)
        return announcements.file_processed(job.id, row.mgrs, row.date, key, link)

    _settle(runtime, date_id, change, announce)


def _hand_back(runtime: Runtime, date_id: int) -> None:
    """Give an unfinished date back: PENDING, lease released, the attempt not counted."""
    with runtime.db.session() as s:
        res = s.execute(
            update(JobDate)
            .where(
                JobDate.id == date_id,
                JobDate.state == DateState.PROCESSING,
                JobDate.worker == WORKER_ID,
            )
            .values(
                state=DateState.PENDING,
                lease_until=utcnow() - dt.timedelta(seconds=1),
                attempts=JobDate.attempts - 1,
                worker=None,
            )
        )
    if res.rowcount == 1:  # type: ignore[attr-defined]
        log.warning("job date %s handed back unfinished: this worker is stopping", date_id)
        runtime.send(TASK_PROCESS_DATE, date_id)


def _retry_or_fail(runtime: Runtime, date_id: int, attempts: int, message: str) -> None:
    if attempts < MAX_ATTEMPTS:
        log.warning("job date %s: attempt %d failed, will retry: %s", date_id, attempts, message)
        with runtime.db.session() as s:
            # Back to PENDING with a short lease: the scheduler re-dispatches it when that ends.
            s.execute(
                update(JobDate)
                .where(JobDate.id == date_id)
                .values(
                    state=DateState.PENDING,
                    error=message,
                    lease_until=utcnow() + dt.timedelta(seconds=10 * attempts),
                )
            )
        return
    _fail(runtime, date_id, message)


def _fail(runtime: Runtime, date_id: int, message: str) -> None:
    """Mark a date FAILED and send its error webhook (once, whatever the reruns)."""

    def change(row: JobDate) -> None:
        row.state = DateState.FAILED
        row.error = message
        row.lease_until = None

    def announce(job: Job, row: JobDate) -> announcements.Announcement:
        return announcements.date_failed(job.id, row.mgrs, row.date, message)

    _settle(runtime, date_id, change, announce)
