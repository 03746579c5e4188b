"""What the SDK sends and how it reads answers (no I/O): the pieces its operations share.

Request bodies, bearer-token bookkeeping, poll delays and download file names live here; the
operations that use them are in `operations` and `session`, written once for both clients.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import httpx

from deepres import __version__
from deepres.client.errors import DeepresAPIError, WaitTimeout
from deepres.client.models import DateEntry, JobStatus

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"deepres-client/{__version__}"
# Renew the bearer JWT this long before the service says it expires (clock skew, slow calls).
TOKEN_MARGIN_S = 60.0

Day: TypeAlias = dt.date | str
BBoxLike: TypeAlias = Sequence[float] | Mapping[str, float]
_BBOX_KEYS = ("x_min", "y_min", "x_max", "y_max")
_PASS_THROUGH = ("Feature", "FeatureCollection", "GeometryCollection")


def day_text(day: Day) -> str:
    """A date as the spec's requests write it (`2020-02-19T00:00:00`); strings pass unchanged."""
    if isinstance(day, dt.datetime):
        utc = day.astimezone(dt.UTC) if day.tzinfo is not None else day
        return utc.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(day, dt.date):
        return f"{day.isoformat()}T00:00:00"
    return day


def area_fields(aoi: object | None, bbox: BBoxLike | None) -> dict[str, Any]:
    """`{"aoi": GeoJSON}` or `{"bbox": {...}}` for a request body.

    `aoi` may be a GeoJSON mapping or anything with `__geo_interface__` (a shapely geometry).
    Features, FeatureCollections and GeometryCollections go as given. A Polygon with holes or a
    MultiPolygon of several polygons, which the product spec's one-ring rule refuses, goes as
    the mechanics document's GeometryCollection extent, which the service accepts.
    """
    if aoi is not None:
        return {"aoi": extent_of(aoi)}
    if bbox is None:
        raise ValueError("give an aoi (GeoJSON or a shapely geometry) or a bbox")
    if isinstance(bbox, Mapping):
        return {"bbox": {key: float(bbox[key]) for key in _BBOX_KEYS}}
    if len(bbox) != 4:
        raise ValueError("bbox must be (x_min, y_min, x_max, y_max) in WGS84 degrees")
    return {"bbox": dict(zip(_BBOX_KEYS, map(float, bbox), strict=True))}


def extent_of(aoi: object) -> dict[str, Any]:
    """The GeoJSON to send for an AOI, in a form the service accepts (see `area_fields`)."""
    interface = getattr(aoi, "__geo_interface__", None)
    if interface is not None:
        aoi = json.loads(json.dumps(interface))  # tuples → lists, a plain JSON copy
    if not isinstance(aoi, Mapping):
        raise TypeError(f"aoi must be a GeoJSON mapping or a geometry, not {type(aoi).__name__}")
    kind = aoi.get("type")
    coordinates = aoi.get("coordinates")
    if kind in _PASS_THROUGH or not isinstance(coordinates, list):
        return dict(aoi)
    if kind == "Polygon" and len(coordinates) != 1:
        return _collection([coordinates])
    if kind == "MultiPolygon" and (len(coordinates) != 1 or len(coordinates[0]) != 1):
        return _collection(coordinates)
    return dict(aoi)


def _collection(polygons: Iterable[Any]) -> dict[str, Any]:
    return {
        "type": "GeometryCollection",
        "geometries": [{"type": "Polygon", "coordinates": rings} for rings in polygons],
    }


def dates_body(
    area: dict[str, Any], start: Day | None, end: Day | None, cloud_cover: float
) -> dict[str, Any]:
    """The body of `POST /deep-resolution/available_dates/initiate`."""
    body: dict[str, Any] = {**area, "cloud_cover": cloud_cover}
    if start is not None:
        body["start_date"] = day_text(start)
    if end is not None:
        body["end_date"] = day_text(end)
    return body


def job_body(area: dict[str, Any], cloud_cover: float, **fields: Any) -> dict[str, Any]:
    """The body of `POST /deep-resolution`; fields left as None are not sent."""
    body: dict[str, Any] = {**area, "cloud_cover": cloud_cover}
    for name, value in fields.items():
        if value is None:
            continue
        if name in ("start_date", "end_date"):
            value = day_text(value)
        elif name == "dates":
            value = [day_text(day) for day in value]
        body[name] = value
    return body


class BearerToken:
    """The JWT a client token was exchanged for, and when to exchange it again."""

    def __init__(self) -> None:
        self.jwt: str | None = None
        self._renew_at = 0.0

    def valid(self) -> bool:
        """True while a JWT is held and not close to expiring."""
        return self.jwt is not None and time.monotonic() < self._renew_at

    def store(self, answer: Mapping[str, Any]) -> str:
        """Keep the JWT of a `POST /auth/token` answer; give it back."""
        token = answer.get("access_token") or answer.get("id_token")
        if not isinstance(token, str) or not token:
            raise ValueError("the /auth/token answer holds no access_token")
        lifetime = float(answer.get("expires_in") or 3600)
        self.jwt = token
        self._renew_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_S, lifetime / 2)
        return token

    def forget(self) -> None:
        self.jwt = None


def checked(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; the typed `DeepresAPIError` for any other."""
    if not response.is_success:
        raise DeepresAPIError.from_response(response)
    return response.json()


class Deadline:
    """A time limit for a wait; None waits for ever."""

    def __init__(self, timeout: float | None) -> None:
        self._at = None if timeout is None else time.monotonic() + timeout

    def nap(self, seconds: float, what: str) -> float:
        """How long to sleep before the next poll: `seconds`, cut short at the deadline.

        Raises WaitTimeout once the deadline has passed (after the last poll it allowed).
        """
        if self._at is None:
            return seconds
        left = self._at - time.monotonic()
        if left <= 0:
            raise WaitTimeout(f"gave up waiting for {what}; it goes on on the service")
        return min(seconds, left)


def poll_delay(next_try: object, fallback: float, cap: float) -> float:
    """Seconds before the next poll: the service's `nextTry` when it gives one, never over cap."""
    if isinstance(next_try, int | float) and not isinstance(next_try, bool) and next_try >= 0:
        return min(float(next_try), cap)
    return min(fallback, cap)


def download_plan(status: JobStatus, out_dir: Path) -> list[tuple[DateEntry, Path]]:
    """Each PROCESSED entry with its link and the file it goes to in `out_dir`.

    A date is written as `YYYY-MM-DD_MS.tif`; when one date has files for several MGRS tiles
    (an AOI across tiles), each is `YYYY-MM-DD_<MGRS>_MS.tif` so none overwrites another.
    """
    entries = [entry for entry in status.processed if entry.link]
    per_day = Counter(entry.date for entry in entries)
    plan = []
    for entry in entries:
        day = entry.date.isoformat()
        shared = per_day[entry.date] > 1
        name = f"{day}_{entry.mgrs or 'tile'}_MS.tif" if shared else f"{day}_MS.tif"
        plan.append((entry, out_dir / name))
    return plan


def partial_path(target: Path) -> Path:
    """Where a download is written before it is complete and renamed onto `target`."""
    return target.with_name(f".{target.name}.part")


def headers(bearer: str | None = None) -> dict[str, str]:
    """The headers every API call carries."""
    out = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if bearer:
        out["Authorization"] = f"Bearer {bearer}"
    return out
