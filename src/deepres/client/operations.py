"""Every SDK operation, written once as a generator of I/O steps (see `steps`).

`Client` and `AsyncClient` expose these through `api.ClientAPI` and only perform the steps, so
the protocol (what is sent, how answers are read, how polls wait and when they give up, how a
download lands in its file) is here and in `session` and nowhere else. Each operation takes the
`Session` it runs for; its other parameters are the public method's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepres.client import steps, wire
from deepres.client.errors import Conflict, DeepresAPIError
from deepres.client.models import DatesResult, JobStatus, JobSummary, PipelineStatus
from deepres.client.session import Session
from deepres.client.steps import Download, Op, Pages

Progress = Callable[[JobStatus], None]
SearchProgress = Callable[[PipelineStatus], None]

_INITIATE = "/deep-resolution/available_dates/initiate"
_CHECK = "/tasking/check-status"
_RETRIEVE = "/deep-resolution/available_dates/retrieve"


# -- available dates ------------------------------------------------------------------------


def available_dates(
    client: Session[Any],
    aoi: object | None = None,
    *,
    bbox: wire.BBoxLike | None = None,
    start: wire.Day | None = None,
    end: wire.Day | None = None,
    cloud_cover: float = 20,
    timeout: float | None = 600,
    progress: SearchProgress | None = None,
) -> Op[DatesResult]:
    """The dates with at most `cloud_cover` % cloud over the AOI, found by polling a pipeline.

    `end` defaults to today on the service and `start` to 90 days before `end`. `progress`,
    when given, is called before every wait with the pipeline's state and what the service
    says of it (such as a failed catalog search it will retry).
    Raises WaitTimeout after `timeout` seconds, PipelineFailed when the search failed.
    """
    body = wire.dates_body(wire.area_fields(aoi, bbox), start, end, cloud_cover)
    started = yield from client._call("POST", _INITIATE, json=body)
    pipeline_id = str(started["pipelineId"])
    deadline = wire.Deadline(timeout)
    state, next_try = started.get("status"), started.get("nextTry")
    while state not in ("RESOLVED", "FAILED"):
        if progress is not None:
            progress((yield from _pipeline_status(client, pipeline_id, state)))
        delay = wire.poll_delay(next_try, client.poll_interval, client.max_poll_interval)
        yield from steps.sleep(deadline.nap(delay, f"available-dates pipeline {pipeline_id}"))
        checked = yield from client._call("POST", _CHECK, json={"pipelineId": pipeline_id})
        state, next_try = checked.get("status"), checked.get("nextTry")
    # A FAILED pipeline's retrieve answers 424, raised here as PipelineFailed.
    result = yield from client._call("POST", _RETRIEVE, json={"pipelineId": pipeline_id})
    return DatesResult.model_validate({**result["data"], "pipeline_id": pipeline_id})


def _pipeline_status(client: Session[Any], pipeline_id: str, state: object) -> Op[PipelineStatus]:
    """The pipeline's state with the service's word on it (retrieve's 409 while it runs)."""
    try:
        yield from client._call("POST", _RETRIEVE, json={"pipelineId": pipeline_id})
    except Conflict as running:
        return PipelineStatus(pipeline_id=pipeline_id, status=str(state), message=running.message)
    # Resolved since the last check: the next check says so, and the result is read then.
    return PipelineStatus(pipeline_id=pipeline_id, status=str(state))


# -- jobs -----------------------------------------------------------------------------------


def create_job(
    client: Session[Any],
    aoi: object | None = None,
    *,
    bbox: wire.BBoxLike | None = None,
    dates: list[wire.Day] | None = None,
    start_date: wire.Day | None = None,
    end_date: wire.Day | None = None,
    interval: int | None = None,
    cloud_cover: float = 20,
    callback_url: str | None = None,
    scale: int | None = None,
    model: str | None = None,
    idempotency_key: str | None = None,
) -> Op[str]:
    """The id of a new deep-resolution job over the AOI: explicit `dates`, or a date range.

    With the same `idempotency_key` and body, a retried call gives the first job's id.
    """
    body = wire.job_body(
        wire.area_fields(aoi, bbox),
        cloud_cover,
        dates=dates,
        start_date=start_date,
        end_date=end_date,
        interval=interval,
        callback_url=callback_url,
        scale=scale,
        model=model,
    )
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    answer = yield from client._call("POST", "/deep-resolution", json=body, extra=extra)
    return str(answer["data"]["job_id"])


def status(client: Session[Any], job_id: str) -> Op[JobStatus]:
    """The job's dates with their states and download links, and the job's `status`."""
    answer = yield from client._call("GET", f"/deep-resolution/status/{job_id}")
    return JobStatus.model_validate(answer["data"])


def wait(
    client: Session[Any],
    job_id: str,
    *,
    progress: Progress | None = None,
    timeout: float | None = None,
    poll: float | None = None,
) -> Op[JobStatus]:
    """The job's final status, once it has no `status` left (all done) or is CANCELLED.

    `progress` is called with every status read; `poll` is the seconds between reads
    (the client's `poll_interval` by default). Raises WaitTimeout after `timeout` seconds.
    """
    interval = client.poll_interval if poll is None else poll
    deadline = wire.Deadline(timeout)
    while True:
        current = yield from status(client, job_id)
        if progress is not None:
            progress(current)
        if current.finished:
            return current
        yield from steps.sleep(deadline.nap(interval, f"job {job_id}"))


def download(client: Session[Any], job_id: str, out_dir: str | os.PathLike[str]) -> Op[list[Path]]:
    """The files written to `out_dir`: one per PROCESSED date (see `wire.download_plan`).

    Each link is streamed to a `.part` file that is renamed once complete, so an
    interrupted download never leaves a truncated `.tif`.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry, target in wire.download_plan((yield from status(client, job_id)), folder):
        assert entry.link is not None
        written.append((yield from download_file(client, entry.link, target)))
    return written


def download_file(client: Session[Any], link: str, target: str | os.PathLike[str]) -> Op[Path]:
    """`target`, written from one download link (a status entry's `link`) via a `.part` file.

    The `.part` file is renamed onto `target` once complete, and removed if anything fails.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = wire.partial_path(target)
    # No Authorization header: links are signed (or presigned S3 URLs a header would break).
    headers = {"User-Agent": wire.USER_AGENT}
    try:
        with part.open("wb") as sink:
            response = yield from steps.exchange(Download(link, headers, sink))
        if not response.is_success:
            raise DeepresAPIError.from_response(response)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(target)
    return target


def cancel(client: Session[Any], job_id: str) -> Op[None]:
    """Cancel the job: nothing new starts and nothing more is delivered."""
    yield from client._call("POST", f"/deep-resolution/cancel/{job_id}")


class _JobPages(Pages[JobSummary]):
    def __init__(self, client: Session[Any], page_size: int | None) -> None:
        self._client = client
        self._page_size = page_size
        self._cursor: str | None = None
        self._done = False

    def next(self) -> Op[list[JobSummary] | None]:
        if self._done:
            return None
        params: dict[str, Any] = {}
        if self._cursor:
            params["cursor"] = self._cursor
        if self._page_size:
            params["limit"] = self._page_size
        page = yield from self._client._call("GET", "/deep-resolution/jobs", params=params)
        self._cursor = page.get("cursor")
        self._done = not self._cursor
        return [JobSummary.model_validate(item) for item in page.get("results", [])]


def jobs(client: Session[Any], *, page_size: int | None = None) -> Pages[JobSummary]:
    """Every job of this client, newest first, fetched page by page through the cursor."""
    return _JobPages(client, page_size)
