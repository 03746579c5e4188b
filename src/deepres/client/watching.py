"""Following a search or jobs from the command line: what is said on stderr, and when to stop.

`SearchReport` watches an available-dates pipeline: it says each new state once and gives up
(`GaveUp`) when the service keeps reporting a failing catalog search. `follow` is
`deepres submit --wait`: for each `Followed` job it fetches the files that are ready (each date
once its tiles are done, each file once) and says what the job is waiting for, once per change.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from deepres.client import wire
from deepres.client.models import JobStatus, PipelineStatus
from deepres.client.sdk import Client


class GaveUp(Exception):
    """The command line stopped waiting by itself; the message says why and for what."""


class SearchReport:
    """A `progress` callback for `available_dates` that says what the search is doing.

    Each state (and each reason the service gives for retrying) is said once. When the
    service has reported the search failing for `give_up_after` seconds, it raises GaveUp
    naming the failure, rather than waiting for the service's last retry minutes later.
    """

    def __init__(self, say: Callable[[str], None], *, give_up_after: float) -> None:
        self._say = say
        self._give_up_after = give_up_after
        self._last: str | None = None
        self._failing: str | None = None
        self._failing_since = 0.0

    def __call__(self, status: PipelineStatus) -> None:
        why = status.retrying
        line = f"catalog search: {status.status}"
        if why:
            line += f"; the last attempt failed and will be retried: {why}"
        if line != self._last:
            self._say(line)
            self._last = line
        if why is None:
            self._failing = None
            return
        if self._failing is None:
            self._failing, self._failing_since = why, time.monotonic()
        if time.monotonic() - self._failing_since >= self._give_up_after:
            raise GaveUp(self.explain(f"gave up after {self._give_up_after:g} s of failures"))

    def explain(self, what_ended_it: str) -> str:
        """Why the wait ended, with the search's failure when the service reported one."""
        if self._failing is None:
            return what_ended_it
        return (
            f"the catalog search keeps failing: {self._failing} "
            f"({what_ended_it}; the service goes on retrying it)"
        )


@dataclass
class Followed:
    """One job being followed: where its files go and what was fetched and said so far."""

    job_id: str
    folder: Path
    label: str | None = None  # the piece label, when a submit made several jobs
    end: dt.date | None = None  # the range's last day: the job watches for scenes until then
    final: JobStatus | None = None
    _fetched: set[tuple[dt.date, str | None]] = field(default_factory=set, init=False, repr=False)
    _said: str | None = field(default=None, init=False, repr=False)

    @property
    def title(self) -> str:
        """How the job is named on stderr (its id is printed once, on stdout)."""
        return f"piece {self.label}" if self.label else "processing"

    def ready(self, current: JobStatus) -> list[tuple[str, Path]]:
        """The (link, file) pairs to fetch now: dates whose tiles are all done, not yet handed
        out (the caller fetches them; a failure ends the command).

        A date waits for all its tiles so its file names are final (`wire.download_plan`
        names the files of a date with several tiles after their MGRS tiles).
        """
        open_days = {entry.date for entry in current.dates if not entry.done}
        fresh = []
        for entry, target in wire.download_plan(current, self.folder):
            key = (entry.date, entry.mgrs)
            if entry.date in open_days or key in self._fetched or entry.link is None:
                continue
            fresh.append((entry.link, target))
            self._fetched.add(key)
        return fresh

    def news(self, current: JobStatus, today: dt.date) -> str | None:
        """What the job is waiting for, when that changed since the last read; else None."""
        if current.finished:
            return None
        processing = sum(not entry.done for entry in current.dates)
        waits = []
        if processing:
            waits.append(f"{processing} date{'' if processing == 1 else 's'} processing")
        if self.end is not None and self.end >= today:
            waits.append(f"watching for new scenes until {self.end.isoformat()}")
        line = "; ".join(waits) or "searching the catalog"
        if self.label:
            line = f"{self.title}: {line}"
        if line == self._said:
            return None
        self._said = line
        return line


def follow(
    client: Client,
    jobs: list[Followed],
    *,
    poll: float,
    timeout: float | None,
    console: Console,
    show: Callable[[str], None],
) -> list[JobStatus]:
    """Each job's final status, once all are done or cancelled; meanwhile each ready file is
    downloaded and `show`n, and `console` has a progress bar per job and its news.

    Raises WaitTimeout after `timeout` seconds (the jobs go on on the service).
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("dates"),
        TimeElapsedColumn(),
    )
    deadline = wire.Deadline(timeout)
    what = "the job" if len(jobs) == 1 else "the jobs"
    with Progress(*columns, console=console, transient=False) as bar:
        tasks = [bar.add_task(job.title, total=None) for job in jobs]
        while True:
            for task, job in zip(tasks, jobs, strict=True):
                if job.final is None:
                    _read(client, job, bar, task, show)
            finals = [job.final for job in jobs if job.final is not None]
            if len(finals) == len(jobs):
                return finals
            time.sleep(deadline.nap(poll, what))


def _read(
    client: Client, job: Followed, bar: Progress, task: TaskID, show: Callable[[str], None]
) -> None:
    """One status read of a followed job: its ready files fetched, its news said."""
    current = client.status(job.job_id)
    for link, target in job.ready(current):
        show(str(client.download_file(link, target)))
    bar.update(task, total=len(current.dates) or None, completed=current.dates_done)
    news = job.news(current, dt.date.today())
    if news is not None:
        bar.console.print(news, soft_wrap=True)
    if current.finished:
        job.final = current
