"""The scheduler: watches open-ended jobs and re-dispatches work whose lease ran out.

It is a plain loop rather than Celery beat: it must act even when every worker is busy, and
only one scheduler may act at a time, which a lock row in the database guarantees.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from deepres.db import utcnow
from deepres.jobs import outbox
from deepres.jobs.dispatch import TASK_PLAN_JOB, TASK_PROCESS_DATE, TASK_SEARCH_DATES
from deepres.jobs.models import (
    OPEN_JOB_STATES,
    DateState,
    Job,
    JobDate,
    JobState,
    Pipeline,
    PipelineState,
    SchedulerLock,
)
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
BATCH = 500


@dataclass
class TickReport:
    searches: int = 0
    dates: int = 0
    pipelines: int = 0
    deliveries: int = 0


def acquire_lock(runtime: Runtime, holder: str, ttl_s: float) -> bool:
    """Take or renew the scheduler lock; False while another live scheduler holds it."""
    now = utcnow()
    until = now + dt.timedelta(seconds=ttl_s)
    with runtime.db.session() as s:
        res = s.execute(
            update(SchedulerLock)
            .where(
                SchedulerLock.name == LOCK_NAME,
                (SchedulerLock.holder == holder) | (SchedulerLock.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
        )
        if res.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if s.get(SchedulerLock, LOCK_NAME) is not None:
            return False
        try:
            with s.begin_nested():
                s.add(SchedulerLock(name=LOCK_NAME, holder=holder, expires_at=until))
        except IntegrityError:
            return False
    return True


def release_lock(runtime: Runtime, holder: str) -> None:
    with runtime.db.session() as s:
        s.execute(
            update(SchedulerLock)
            .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == holder)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )


def _requeue(
    rows: Sequence[JobDate | Pipeline],
    state: str,
    lease: dt.datetime,
    task: str,
    sends: list[tuple[str, str | int]],
) -> int:
    """Put rows back to `state` under a fresh lease and plan their task; how many there were."""
    for row in rows:
        row.state = state
        row.lease_until = lease
        sends.append((task, row.id))
    return len(rows)


def tick(runtime: Runtime) -> TickReport:
    """One pass: due searches, expired leases and due webhook retries go back on the queue."""
    now = utcnow()
    lease = now + dt.timedelta(seconds=runtime.settings.queue_lease_seconds)
    report = TickReport()
    sends: list[tuple[str, str | int]] = []
    with runtime.db.session() as s:
        searches = s.scalars(
            select(Job)
            .where(
                Job.state.in_(OPEN_JOB_STATES),
                (Job.search_lease_until.is_(None)) | (Job.search_lease_until < now),
                (Job.state == JobState.NEW) | (Job.next_search_at <= now),
            )
            .limit(BATCH)
        ).all()
        for job in searches:
            job.search_lease_until = lease
            sends.append((TASK_PLAN_JOB, job.id))
        report.searches = len(searches)

        live_jobs = select(Job.id).where(Job.state != JobState.CANCELLED)
        dates = s.scalars(
            select(JobDate)
            .where(
                JobDate.state.in_((DateState.PENDING, DateState.PROCESSING)),
                (JobDate.lease_until.is_(None)) | (JobDate.lease_until < now),
                JobDate.job_id.in_(live_jobs),
            )
            .limit(BATCH)
        ).all()
        # An expired PROCESSING lease means its worker died: the date is pending again.
        report.dates = _requeue(dates, DateState.PENDING, lease, TASK_PROCESS_DATE, sends)

        pipes = s.scalars(
            select(Pipeline)
            .where(
                Pipeline.state.in_((PipelineState.NEW, PipelineState.PROCESSING)),
                (Pipeline.lease_until.is_(None)) | (Pipeline.lease_until < now),
            )
            .limit(BATCH)
        ).all()
        report.pipelines = _requeue(pipes, PipelineState.NEW, lease, TASK_SEARCH_DATES, sends)
        deliveries = outbox.due(s, now, BATCH)
        report.deliveries = len(deliveries)
    for task, row_id in sends:
        runtime.send(task, row_id)
    for delivery_id in deliveries:
        outbox.dispatch(runtime, delivery_id)
    return report


def run_forever(runtime: Runtime, stop: threading.Event | None = None) -> None:
    """Tick every `scheduler_tick_seconds` while holding the lock, until SIGTERM/SIGINT."""
    stop = stop or threading.Event()
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    period = runtime.settings.scheduler_tick_seconds
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler %s ticking every %.1f s", holder, period)
    leading = False
    while not stop.is_set():
        try:
            if acquire_lock(runtime, holder, ttl_s=max(3 * period, 10.0)):
                if not leading:
                    log.info("scheduler %s holds the lock", holder)
                leading = True
                report = tick(runtime)
                if report.dates or report.searches or report.pipelines:
                    log.info("tick: %s", report)
            else:
                leading = False
        except Exception:
            log.exception("scheduler tick failed; trying again next tick")
        stop.wait(period)
    release_lock(runtime, holder)
