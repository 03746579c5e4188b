"""`Client`: the synchronous Python SDK for a deepres service (httpx).

    with Client("http://127.0.0.1:8000", token) as deepres:
        found = deepres.available_dates(bbox=(-11.765, 24.734, -11.752, 24.747),
                                        start="2020-02-01", end="2020-03-01", cloud_cover=20)
        job_id = deepres.create_job(bbox=..., dates=[d.date for d in found.available_dates])
        deepres.wait(job_id, progress=lambda s: print(s.dates_done, "/", len(s.dates)))
        files = deepres.download(job_id, "results/")

Its methods are `ClientAPI`'s (the operations in `deepres.client.operations`); this module only
performs their steps: with httpx.Client, and time.sleep for the waits between polls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TypeVar

import httpx

from deepres.client.api import ClientAPI
from deepres.client.operations import Progress, SearchProgress
from deepres.client.steps import Download, Op, Pages, Run, Send, Sleep, Step

__all__ = ["Client", "Progress", "SearchProgress"]

T = TypeVar("T")


class Client(ClientAPI[httpx.Client]):
    """A connection to one deepres service as one API client; use it as a context manager."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _connect(self, timeout: float | httpx.Timeout) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def _run(self, op: Op[T]) -> T:
        run = Run(op)
        while run.step is not None:
            try:
                outcome = self._perform(run.step)
            except BaseException as error:  # the operation's own cleanup runs, then it re-raises
                run.throw(error)
            else:
                run.send(outcome)
        return run.result

    def _iterate(self, pages: Pages[T]) -> Iterator[T]:
        while (page := self._run(pages.next())) is not None:
            yield from page

    def _perform(self, step: Step) -> object:
        if isinstance(step, Send):
            return self._http.send(step.request(self._http))
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        return self._download(step)

    def _download(self, step: Download) -> httpx.Response:
        with self._http.stream("GET", step.url, headers=step.headers) as response:
            if not response.is_success:
                response.read()  # the error's envelope
                return response
            for chunk in response.iter_bytes(step.chunk_size):
                step.sink.write(chunk)
        return response
