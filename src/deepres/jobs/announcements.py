"""Every webhook deepres sends, as a typed payload with its event name and de-duplication key.

Processing, planning and pipelines build their messages here and hand them to the outbox; the
keys decide the stable `webhook-id`, so a rerun announces nothing twice.

* `file_processed`: the spec's task-completion body, plus top-level `job_id`, `date`, `mgrs`.
* `date_failed` / `job_failed`: the spec's error body (`statusCode` 400, `data.data.error`).
* `dates_found` / `dates_failed`: the available-dates callback (the retrieve answer's body).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from deepres import API_VERSION
from deepres.jobs.answers import AvailableDates
from deepres.jobs.envelope import Envelope, Wire, spec_date, timestamp

TASK_ERROR = "Bad Request. There was an error processing the task."


class FileData(Wire):
    filename: str
    job_id: str
    link: str
    status: str = "success"
    timestamp: str
    version: str = API_VERSION
    date: str
    mgrs: str


class FileProcessed(Wire):
    """`POST callback_url` when a date's COG is stored."""

    statusCode: int = 200
    job_id: str
    data: FileData


class FailureDetail(Wire):
    job_id: str
    version: str = API_VERSION
    error: str = TASK_ERROR
    timestamp: str
    date: str | None = None
    mgrs: str | None = None
    message: str | None = None


class FailureData(Wire):
    data: FailureDetail


class TaskFailed(Wire):
    """`POST callback_url` when a date, or the job's search, failed for good."""

    statusCode: int = 400
    job_id: str
    data: FailureData


class PipelineFailure(Wire):
    pipelineId: str
    error: str
    version: str = API_VERSION


class PipelineFailed(Wire):
    """`POST callback_url` when an available-dates search failed for good."""

    statusCode: int = 424
    data: PipelineFailure
    status: str = "FAILED"
    version: str = API_VERSION
    timestamp: str


@dataclass(frozen=True)
class Announcement:
    """One message for the outbox: what it is, its body, and what makes it unique."""

    event: str
    payload: Wire
    dedupe_key: str


def file_processed(job_id: str, mgrs: str, day: dt.date, key: str, link: str) -> Announcement:
    """The file webhook for the COG stored under `key`."""
    body = FileProcessed(
        job_id=job_id,
        data=FileData(
            filename=key.rsplit("/", 1)[-1],
            job_id=job_id,
            link=link,
            timestamp=timestamp(),
            date=spec_date(day),
            mgrs=mgrs,
        ),
    )
    return Announcement("file.processed", body, f"file:{key}")


def date_failed(job_id: str, mgrs: str, day: dt.date, reason: str | None) -> Announcement:
    """The error webhook of one date that failed (once, whatever the reruns)."""
    detail = FailureDetail(
        job_id=job_id,
        timestamp=timestamp(),
        date=spec_date(day),
        mgrs=mgrs or None,
        message=reason,
    )
    body = TaskFailed(job_id=job_id, data=FailureData(data=detail))
    return Announcement("file.failed", body, f"failed:{job_id}/{mgrs}/{day.isoformat()}")


def job_failed(job_id: str, message: str) -> Announcement:
    """The error webhook of a job whose catalog search failed for good."""
    detail = FailureDetail(job_id=job_id, timestamp=timestamp(), message=message)
    body = TaskFailed(job_id=job_id, data=FailureData(data=detail))
    return Announcement("job.failed", body, f"job-failed:{job_id}")


def dates_found(pipeline_id: str, result: AvailableDates) -> Announcement:
    """The available-dates callback: the same body `retrieve` answers."""
    body = Envelope[AvailableDates](data=result, timestamp=timestamp(), status="SUCCESS")
    return Announcement("available_dates", body, f"pipeline:{pipeline_id}")


def dates_failed(pipeline_id: str, message: str) -> Announcement:
    """The callback of an available-dates search that failed for good."""
    body = PipelineFailed(
        data=PipelineFailure(pipelineId=pipeline_id, error=message), timestamp=timestamp()
    )
    return Announcement("available_dates.failed", body, f"pipeline:{pipeline_id}")
