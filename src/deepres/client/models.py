"""Pydantic models of what a deepres service answers: dates found, job status, job summaries,
and the state of an available-dates pipeline being polled.

Fields the service may add later are kept (`extra="allow"`) so an older SDK does not drop them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

DONE_DATE_STATES = frozenset({"PROCESSED", "FAILED"})
# How the service's retrieve answer (409) says that an attempt failed and another will come.
_RETRYING = re.compile(r"failed and will be retried:\s*(?P<why>.+)", re.DOTALL)


def _day(value: Any) -> Any:
    # The spec writes dates as `2023-10-01T00:00:00.000Z`; only the calendar day means anything.
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return value[:10]
    return value


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class AvailableDate(_Answer):
    """One usable acquisition: its day, MGRS tile, cloud cover over the AOI (%) and item id.

    `cloud_cover_known` is False for a scene without a cloud mask (counted as 100 %).
    """

    date: dt.date
    mgrs: str | None = None
    cloud_cover: float | None = None
    data_source: str | None = None
    cloud_cover_known: bool = True

    _parse_date = field_validator("date", mode="before")(_day)


class SkippedScene(_Answer):
    """A scene the search saw over the AOI but did not offer, and why."""

    date: dt.date
    mgrs: str | None = None
    data_source: str | None = None
    reason: str = ""

    _parse_date = field_validator("date", mode="before")(_day)


class PipelineStatus(_Answer):
    """A polled pipeline's state (NEW, PROCESSING, ...) and what the service says of it."""

    pipeline_id: str
    status: str
    message: str | None = None

    @property
    def retrying(self) -> str | None:
        """Why the last attempt failed, when the service says it will try again; else None."""
        found = _RETRYING.search(self.message or "")
        return found.group("why").strip() if found else None


class DatesResult(_Answer):
    """The dates an available-dates search found, with the AOI's geodesic area in hectares."""

    pipeline_id: str | None = None
    area_hectares: float | None = None
    available_dates: list[AvailableDate] = []
    skipped: list[SkippedScene] = []


class DateEntry(_Answer):
    """One date (and MGRS tile) of a job: its state and, once PROCESSED, its download link."""

    date: dt.date
    status: str
    mgrs: str | None = None
    cloud_cover: float | None = None
    cloud_cover_known: bool = True
    data_source: str | None = None
    link: str | None = None
    filename: str | None = None
    reason: str | None = None

    _parse_date = field_validator("date", mode="before")(_day)

    @property
    def done(self) -> bool:
        """True once the date is PROCESSED or FAILED and will not change again."""
        return self.status in DONE_DATE_STATES


class JobStatus(_Answer):
    """A job's dates and its `status`: ACTIVE, CANCELLED, or None once everything is done."""

    job_id: str
    status: str | None = None
    dates: list[DateEntry] = []
    error: str | None = None

    @property
    def finished(self) -> bool:
        """True when the job will produce nothing more: no `status` (all done) or CANCELLED."""
        return self.status is None or self.status == "CANCELLED"

    @property
    def dates_done(self) -> int:
        """How many of the job's dates are PROCESSED or FAILED."""
        return sum(entry.done for entry in self.dates)

    @property
    def processed(self) -> list[DateEntry]:
        """The PROCESSED entries, which carry a download link."""
        return [entry for entry in self.dates if entry.status == "PROCESSED"]


class JobSummary(_Answer):
    """One job in the jobs listing: its request in brief and its dates counted by state."""

    job_id: str
    created: dt.datetime | None = None
    status: str | None = None
    area_hectares: float | None = None
    cloud_cover: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    dates: list[str] | None = None
    model: str | None = None
    dates_by_status: dict[str, int] = {}
