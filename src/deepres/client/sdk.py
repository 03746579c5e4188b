"""`Client`: the synchronous Python SDK for a deepres service (httpx).

    with Client("http://127.0.0.1:8000", token) as deepres:
        found = deepres.available_dates(bbox=(-11.765, 24.734, -11.752, 24.747),
                                        start="2020-02-01", end="2020-03-01", cloud_cover=20)
        job_id = deepres.create_job(bbox=..., dates=[d.date for d in found.available_dates])
        deepres.wait(job_id, progress=lambda s: print(s.dates_done, "/", len(s.dates)))
        files = deepres.download(job_id, "results/")

The client token is exchanged for a bearer JWT (`POST /auth/token`) on the first call and again
before it expires; a 401 on a JWT that looked valid (the server's key changed, the token was
rotated) triggers one fresh exchange and one retry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from deepres.client import wire
from deepres.client.errors import DeepresAPIError
from deepres.client.models import DatesResult, JobStatus, JobSummary

Progress = Callable[[JobStatus], None]


class Client:
    """A connection to one deepres service as one API client; use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | httpx.Timeout = wire.DEFAULT_TIMEOUT,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> None:
        """`poll_interval`: seconds between polls when the service gives no `nextTry`;
        `max_poll_interval`: the longest a poll waits, whatever `nextTry` says."""
        if not token:
            raise ValueError("a client token is required (deepres clients create prints one)")
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._token = token
        self._bearer = wire.BearerToken()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- transport --------------------------------------------------------------------------

    def _jwt(self) -> str:
        if not self._bearer.valid():
            answer = self._http.post(
                "/auth/token", json={"client_token": self._token}, headers=wire.headers()
            )
            self._bearer.store(wire.checked(answer))
        assert self._bearer.jwt is not None
        return self._bearer.jwt

    def _call(
        self, method: str, path: str, *, extra: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """The JSON answer of an authenticated call; typed errors for non-2xx answers."""
        fresh = not self._bearer.valid()
        response = self._http.request(
            method, path, headers={**wire.headers(self._jwt()), **(extra or {})}, **kwargs
        )
        if response.status_code == 401 and not fresh:
            self._bearer.forget()
            response = self._http.request(
                method, path, headers={**wire.headers(self._jwt()), **(extra or {})}, **kwargs
            )
        return wire.checked(response)

    # -- available dates --------------------------------------------------------------------

    def available_dates(
        self,
        aoi: object | None = None,
        *,
        bbox: wire.BBoxLike | None = None,
        start: wire.Day | None = None,
        end: wire.Day | None = None,
        cloud_cover: float = 20,
        timeout: float | None = 600,
    ) -> DatesResult:
        """The dates with at most `cloud_cover` % cloud over the AOI, found by polling a pipeline.

        `end` defaults to today on the service and `start` to 90 days before `end`.
        Raises WaitTimeout after `timeout` seconds, PipelineFailed when the search failed.
        """
        body = wire.dates_body(wire.area_fields(aoi, bbox), start, end, cloud_cover)
        started = self._call("POST", "/deep-resolution/available_dates/initiate", json=body)
        pipeline_id = str(started["pipelineId"])
        deadline = wire.Deadline(timeout)
        state, next_try = started.get("status"), started.get("nextTry")
        while state not in ("RESOLVED", "FAILED"):
            delay = wire.poll_delay(next_try, self.poll_interval, self.max_poll_interval)
            time.sleep(deadline.nap(delay, f"available-dates pipeline {pipeline_id}"))
            checked = self._call("POST", "/tasking/check-status", json={"pipelineId": pipeline_id})
            state, next_try = checked.get("status"), checked.get("nextTry")
        # A FAILED pipeline's retrieve answers 424, raised here as PipelineFailed.
        result = self._call(
            "POST", "/deep-resolution/available_dates/retrieve", json={"pipelineId": pipeline_id}
        )
        return DatesResult.model_validate({**result["data"], "pipeline_id": pipeline_id})

    # -- jobs -------------------------------------------------------------------------------

    def create_job(
        self,
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
    ) -> str:
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
        answer = self._call("POST", "/deep-resolution", json=body, extra=extra)
        return str(answer["data"]["job_id"])

    def status(self, job_id: str) -> JobStatus:
        """The job's dates with their states and download links, and the job's `status`."""
        answer = self._call("GET", f"/deep-resolution/status/{job_id}")
        return JobStatus.model_validate(answer["data"])

    def wait(
        self,
        job_id: str,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        poll: float | None = None,
    ) -> JobStatus:
        """The job's final status, once it has no `status` left (all done) or is CANCELLED.

        `progress` is called with every status read; `poll` is the seconds between reads
        (the client's `poll_interval` by default). Raises WaitTimeout after `timeout` seconds.
        """
        interval = self.poll_interval if poll is None else poll
        deadline = wire.Deadline(timeout)
        while True:
            current = self.status(job_id)
            if progress is not None:
                progress(current)
            if current.finished:
                return current
            time.sleep(deadline.nap(interval, f"job {job_id}"))

    def download(self, job_id: str, out_dir: str | os.PathLike[str]) -> list[Path]:
        """The files written to `out_dir`: one per PROCESSED date (see `wire.download_plan`).

        Each link is streamed to a `.part` file that is renamed once complete, so an
        interrupted download never leaves a truncated `.tif`.
        """
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for entry, target in wire.download_plan(self.status(job_id), folder):
            assert entry.link is not None
            self._fetch(entry.link, target)
            written.append(target)
        return written

    def _fetch(self, link: str, target: Path) -> None:
        part = wire.partial_path(target)
        # No Authorization header: links are signed (or presigned S3 URLs a header would break).
        with self._http.stream("GET", link, headers={"User-Agent": wire.USER_AGENT}) as response:
            if not response.is_success:
                response.read()
                raise DeepresAPIError.from_response(response)
            try:
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
        part.replace(target)

    def cancel(self, job_id: str) -> None:
        """Cancel the job: nothing new starts and nothing more is delivered."""
        self._call("POST", f"/deep-resolution/cancel/{job_id}")

    def jobs(self, *, page_size: int | None = None) -> Iterator[JobSummary]:
        """Every job of this client, newest first, fetched page by page through the cursor."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {}
            if cursor:
                params["cursor"] = cursor
            if page_size:
                params["limit"] = page_size
            page = self._call("GET", "/deep-resolution/jobs", params=params)
            for item in page.get("results", []):
                yield JobSummary.model_validate(item)
            cursor = page.get("cursor")
            if not cursor:
                return
