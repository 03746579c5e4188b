"""Turn a client's JSON body into a checked request, with messages that say what to fix.

This is where a request's rules live: types (a boolean is not a number), ranges, dates on the
calendar, the AOI (`aoi.parse_aoi`). The API's schemas only describe the fields, with these
constants; `stored()` gives the normalised request that is kept, never the body as sent, so
unknown fields (the spec's own example sends `data_cover`) are accepted and dropped.
"""

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
CLOUD_COVER_RANGE = (0, 100)
SCALES = (1, 2, 4)
MAX_CALLBACK_CHARS = 2000
MAX_MODEL_CHARS = 100


@dataclass(frozen=True)
class DatesRequest:
    """An available-dates search over an AOI."""

    aoi: AOI
    cloud_cover: float
    start: dt.date
    end: dt.date
    callback_url: str | None

    def stored(self) -> dict[str, Any]:
        """The normalised request, as kept and re-read by the worker (`parse_dates_request`)."""
        return {
            "aoi": self.aoi.to_extent(),
            "cloud_cover": self.cloud_cover,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "callback_url": self.callback_url,
        }


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

    def stored(self) -> dict[str, Any]:
        """The normalised request, as kept with the job (no unknown fields, no token)."""
        return {
            "aoi": self.aoi.to_extent(),
            "cloud_cover": self.cloud_cover,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "dates": [d.isoformat() for d in self.dates] if self.dates else None,
            "interval": self.interval,
            "callback_url": self.callback_url,
            "model": self.model,
            "scale": self.scale,
        }


def parse_day(value: object, field: str) -> dt.date:
    """A calendar day from an ISO 8601 date or date-time (`2023-10-01`, `2023-10-01T00:00:00Z`)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{field}' must be an ISO 8601 date string such as '2023-10-01'.")
    text = value.strip()
    if len(text) > 64:
        raise InvalidInput(f"'{field}' is not an ISO 8601 date: it is {len(text)} characters long.")
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"'{field}' is not an ISO 8601 date: {value!r}. Use e.g. '2023-10-01T00:00:00'."
        ) from exc
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(dt.UTC)
        except OverflowError as exc:  # 9999-12-31T23:00-05:00 is a day past the calendar
            raise InvalidInput(
                f"'{field}' {value!r} falls outside the calendar (years 1 to 9999) in UTC."
            ) from exc
    return parsed.date()


def days_before(day: dt.date, days: int) -> dt.date:
    """`day` minus `days`, stopping at the first day of the calendar."""
    return day - dt.timedelta(days=min(days, day.toordinal() - 1))


def _optional_day(body: Mapping[str, Any], field: str) -> dt.date | None:
    value = body.get(field)
    return None if value is None else parse_day(value, field)


def parse_cloud_cover(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("'cloud_cover' is required: a number from 0 to 100 (percent).")
    if not CLOUD_COVER_RANGE[0] <= value <= CLOUD_COVER_RANGE[1]:
        raise InvalidInput(f"'cloud_cover' must be between 0 and 100 percent, got {value}.")
    return float(value)


def _callback(body: Mapping[str, Any], required: bool) -> str | None:
    value = body.get("callback_url")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("'callback_url' is required: the URL deepres POSTs the results to.")
    if len(value) > MAX_CALLBACK_CHARS:
        raise InvalidInput(f"'callback_url' is longer than {MAX_CALLBACK_CHARS} characters.")
    return value.strip()


def _aoi(body: Mapping[str, Any], max_vertices: int) -> AOI:
    return parse_aoi(body.get("aoi"), body.get("bbox"), max_vertices=max_vertices)


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput("Bad request. The body must be a JSON object.")
    return body


def parse_dates_request(
    body: object, *, today: dt.date, callback_required: bool, max_vertices: int
) -> DatesRequest:
    """Check an available-dates body; the window defaults to the 90 days up to today."""
    fields = _object(body)
    aoi = _aoi(fields, max_vertices)
    cloud = parse_cloud_cover(fields.get("cloud_cover"))
    end = _optional_day(fields, "end_date") or today
    start = _optional_day(fields, "start_date") or days_before(end, DEFAULT_SEARCH_DAYS)
    if start > end:
        raise InvalidInput(f"'start_date' ({start}) is after 'end_date' ({end}).")
    return DatesRequest(aoi, cloud, start, end, _callback(fields, callback_required))


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
    if model is not None and (not isinstance(model, str) or len(model) > MAX_MODEL_CHARS):
        raise InvalidInput("'model' must be the name of a registered model.")
    if scale is not None and (isinstance(scale, bool) or scale not in SCALES):
        raise InvalidInput("'scale' must be 1 (fusion to 10 m), 2 (5 m) or 4 (2.5 m).")
    return model, scale


def parse_job_request(body: object, *, today: dt.date, max_vertices: int) -> JobRequest:
    """Check a job body: `dates`, or `end_date` (with `start_date`, which defaults to today)."""
    fields = _object(body)
    aoi = _aoi(fields, max_vertices)
    cloud = parse_cloud_cover(fields.get("cloud_cover"))
    dates = _parse_dates(fields.get("dates"))
    end = _optional_day(fields, "end_date")
    start = _optional_day(fields, "start_date")
    if dates is None and end is None:
        raise InvalidInput("Provide 'dates', or an 'end_date' (optionally with 'start_date').")
    if dates is None:
        start = start or today
        if end is not None and start > end:
            raise InvalidInput(f"'start_date' ({start}) is after 'end_date' ({end}).")
    model, scale = _optional_model(fields)
    return JobRequest(
        aoi=aoi,
        cloud_cover=cloud,
        start_date=start if dates is None else None,
        end_date=end if dates is None else None,
        dates=dates,
        interval=_parse_interval(fields.get("interval")),
        callback_url=_callback(fields, required=False),
        model=model,
        scale=scale,
    )
