"""What the service answers, as typed models: job status, queueing, cancel, pages, pipelines.

The API declares these as its response models, so `/openapi.json` describes the real answers;
the service builds them, so the two cannot drift. Field names follow the product spec where it
has them (`job_id`, `dates`, `date`, `status`, `link`) and the mechanics document for pipelines
and pages (`pipelineId`, `nextTry`, `results`, `cursor`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from deepres.jobs.envelope import Wire

DateStatus = Literal["PENDING", "PROCESSING", "PROCESSED", "FAILED"]
PipelineState = Literal["NEW", "PROCESSING", "RESOLVED", "FAILED"]

_LINK_EXAMPLE = (
    "http://127.0.0.1:8000/files/037d4b03-0b7a-46b5-b618-f81bdbe08739/29RKH/2020-02-19_MS.tif"
    "?expires=1767225600&signature=9f2c..."
)
_JOB_ID = "037d4b03-0b7a-46b5-b618-f81bdbe08739"


class StatusEntry(Wire):
    """One date (and MGRS tile) of a job."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2020-02-19T00:00:00.000Z",
                    "status": "PROCESSED",
                    "link": _LINK_EXAMPLE,
                    "mgrs": "29RKH",
                    "cloud_cover": 0.0,
                    "data_source": "S2A_29RKH_20200219_0_L2A",
                    "filename": "2020-02-19_MS.tif",
                }
            ]
        }
    )

    date: str = Field(description="the acquisition day, as the spec writes it")
    status: DateStatus
    link: str | None = Field(None, description="signed download link of the COG (PROCESSED)")
    mgrs: str | None = Field(None, description="MGRS tile; absent when no scene was found")
    cloud_cover: float | None = Field(None, description="cloud, shadow and cirrus % in the AOI")
    cloud_cover_known: Literal[False] | None = Field(
        None,
        description="false when the scene has no cloud mask (its cloud_cover then counts as 100)",
    )
    data_source: str | None = Field(None, description="the catalog item the date was made from")
    filename: str | None = Field(None, description="the file name the link downloads")
    reason: str | None = Field(None, description="why the date FAILED")


class JobStatusData(Wire):
    """`data` of `GET /deep-resolution/status/{job_id}`: `status` is absent once all is done."""

    job_id: str = Field(examples=[_JOB_ID])
    status: Literal["ACTIVE", "CANCELLED"] | None = Field(
        None, description="ACTIVE while searching, watching or processing; CANCELLED after cancel"
    )
    dates: list[StatusEntry]
    error: str | None = Field(None, description="why the job's catalog search failed for good")


class JobQueued(Wire):
    """`data` of `POST /deep-resolution`."""

    message: Literal["Job queued"] = "Job queued"
    job_id: str = Field(examples=[_JOB_ID])


class JobCancelled(Wire):
    """`data` of `POST|GET /deep-resolution/cancel/{job_id}`."""

    job_id: str = Field(examples=[_JOB_ID])
    status: Literal["CANCELLED"] = "CANCELLED"


class JobSummary(Wire):
    """One job in the caller's job list."""

    job_id: str
    created: str = Field(description="ISO 8601 UTC")
    area_hectares: float
    cloud_cover: float
    start_date: str | None = None
    end_date: str | None = None
    dates: list[str] | None = None
    model: str
    scale: int
    dates_by_status: dict[str, int]
    status: Literal["ACTIVE", "CANCELLED"] | None = None


class JobsPage(Wire):
    """A page of `GET /deep-resolution/jobs`: `cursor` is null on the last page."""

    keep_none: ClassVar[frozenset[str]] = frozenset({"cursor"})

    results: list[JobSummary]
    cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class AvailableDate(Wire):
    """One date with little enough cloud over the AOI (the spec's `available_dates` entry)."""

    cloud_cover: float = Field(
        description="cloud, shadow and cirrus % in the AOI (100 when the scene has no cloud mask)"
    )
    data_source: str = Field(examples=["S2A_29RKH_20200219_0_L2A"])
    date: str = Field(examples=["2020-02-19T00:00:00.000Z"])
    mgrs: str = Field(examples=["29RKH"])
    cloud_cover_known: Literal[False] | None = Field(
        None,
        description="false when the scene has no scene classification layer: its cloud cover "
        "over the AOI cannot be measured, so it counts as 100 % and is offered only to requests "
        "that accept 100 %",
    )


class SkippedScene(Wire):
    """A scene the search saw but did not offer, and why."""

    data_source: str
    date: str
    mgrs: str
    reason: str


class AvailableDates(Wire):
    """`data` of the available-dates callback and of retrieve."""

    area_hectares: float
    available_dates: list[AvailableDate]
    skipped: list[SkippedScene] | None = Field(
        None, description="scenes seen over the AOI but not offered, each with its reason"
    )


class DatesAccepted(Wire):
    """`data` of `POST /deep-resolution/available_dates` (the callback comes later)."""

    message: str
    version: str
    timestamp: str
    pipelineId: str


class PipelineStatus(Wire):
    """A pipeline's state (mechanics document): poll again after `nextTry` seconds."""

    pipelineId: str
    status: PipelineState
    nextTry: int | None = Field(None, description="seconds to wait; absent once it has ended")
