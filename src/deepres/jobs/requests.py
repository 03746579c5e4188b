"""Turn a client's JSON body into a checked request, with messages that say what to fix."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepres.aoi import AOI, parse_aoi
from deepres.errors import InvalidInput

DEFAULT_SEARCH_DAYS = 90
MAX_INTERVAL_DAYS = 365
MAX_EXPLICIT_DATES = 366


@dataclass(frozen=True)
class DatesRequest:
    """An available-dates search over an AOI."""

    aoi: AOI
    cloud_cover: float
    start: dt.date
    end: dt.date
    callback_url: str | None


@dataclass(frozen=True)
class JobRequest:
    """A deep-resolution job: explicit dates, a date range, or an open end date to watch."""

    aoi: AOI
    cloud_cover: float
    start_date: dt.date | None
    end_date: dt.date | None
    dates: tuple[dt.date, ...] | None
    interval: int
    callback_url: str | None
    model: str | None
    scale: int | None


def parse_day(value: object, field: str) -> dt.date:
    """A calendar day from an ISO 8601 date or date-time (`2023-10-01`, `2023-10-01T00:00:00Z`)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{field}' must be an ISO 8601 date string such as '2023-10-01'.")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"'{field}' is not an ISO 8601 date: {value!r}. Use e.g. '2023-10-01T00:00:00'."
        ) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return parsed.date()


def _optional_day(body: Mapping[str, Any], field: str) -> dt.date | None:
    value = body.get(field)
    return None if value is None else parse_day(value, field)


def parse_cloud_cover(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("'cloud_cover' is required: a number from 0 to 100 (percent).")
    if not 0 <= value <= 100:
        raise InvalidInput(f"'cloud_cover' must be between 0 and 100 percent, got {value}.")
    return float(value)


def _callback(body: Mapping[str, Any], required: bool) -> str | None:
    value = body.get("callback_url")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("'callback_url' is required: the URL deepres POSTs the results to.")
    return value.strip()


def _aoi(body: Mapping[str, Any], max_vertices: int) -> AOI:
    return parse_aoi(body.get("aoi"), body.get("bbox"), max_vertices=max_vertices)


def parse_dates_request(
    body: Mapping[str, Any], *, today: dt.date, callback_required: bool, max_vertices: int
) -> DatesRequest:
    """Check an available-dates body; the window defaults to the 90 days up to today."""
    aoi = _aoi(body, max_vertices)
    cloud = parse_cloud_cover(body.get("cloud_cover"))
    end = _optional_day(body, "end_date") or today
    start = _optional_day(body, "start_date") or end - dt.timedelta(days=DEFAULT_SEARCH_DAYS)
    if start > end:
        raise InvalidInput(f"'start_date' ({start}) is after 'end_date' ({end}).")
    return DatesRequest(aoi, cloud, start, end, _callback(body, callback_required))


def _parse_interval(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("'interval' must be a whole number of days (1 or more).")
    if not 1 <= value <= MAX_INTERVAL_DAYS:
        raise InvalidInput(f"'interval' must be between 1 and {MAX_INTERVAL_DAYS} days.")
    return value


def _parse_dates(value: object) -> tuple[dt.date, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InvalidInput("'dates' must be a non-empty list of ISO 8601 dates.")
    if len(value) > MAX_EXPLICIT_DATES:
        raise InvalidInput(f"'dates' may list at most {MAX_EXPLICIT_DATES} dates.")
    return tuple(sorted({parse_day(v, "dates") for v in value}))


def _optional_model(body: Mapping[str, Any]) -> tuple[str | None, int | None]:
    model, scale = body.get("model"), body.get("scale")
    if model is not None and not isinstance(model, str):
        raise InvalidInput("'model' must be the name of a registered model.")
    if scale is not None and (isinstance(scale, bool) or scale not in (1, 2, 4)):
        raise InvalidInput("'scale' must be 1 (fusion to 10 m), 2 (5 m) or 4 (2.5 m).")
    return model, scale


def parse_job_request(body: Mapping[str, Any], *, today: dt.date, max_vertices: int) -> JobRequest:
    """Check a job body: `dates`, or `end_date` (with `start_date`, which defaults to today)."""
    aoi = _aoi(body, max_vertices)
    cloud = parse_cloud_cover(body.get("cloud_cover"))
    dates = _parse_dates(body.get("dates"))
    end = _optional_day(body, "end_date")
    start = _optional_day(body, "start_date")
    if dates is None and end is None:
        raise InvalidInput("Provide 'dates', or an 'end_date' (optionally with 'start_date').")
    if dates is None:
        start = start or today
        if end is not None and start > end:
            raise InvalidInput(f"'start_date' ({start}) is after 'end_date' ({end}).")
    model, scale = _optional_model(body)
    return JobRequest(
        aoi=aoi,
        cloud_cover=cloud,
        start_date=start if dates is None else None,
        end_date=end if dates is None else None,
        dates=dates,
        interval=_parse_interval(body.get("interval")),
        callback_url=_callback(body, required=False),
        model=model,
        scale=scale,
    )
