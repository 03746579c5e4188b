"""Search a STAC catalog (a STAC API, or a static catalog on disk) for scenes over an AOI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlparse

import pystac
import pystac_client
import pystac_client.errors
import pystac_client.exceptions
import requests
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from deepres.catalog.items import scene_from_item
from deepres.catalog.scene import Scene
from deepres.errors import CatalogUnavailable, DeepresError

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "sentinel-2-l2a"
#: Collection ids that hold the same product under another Earth Search version's name.
_COLLECTION_ALIASES: dict[str, frozenset[str]] = {
    "sentinel-2-l2a": frozenset({"sentinel-2-l2a", "sentinel-s2-l2a-cogs", "sentinel-s2-l2a"}),
}
_OFFLINE_HINT = (
    "To work offline, index local scenes with `deepres catalog index DIR -o catalog.json` "
    "and point DEEPRES_CATALOG_URL at that file."
)

#: A time bound: an instant (naive means UTC) or a whole day (a `date`).
TimeBound = dt.datetime | dt.date | None

#: What a STAC API that cannot be reached, or answers something that is not STAC, raises.
_API_ERRORS: tuple[type[Exception], ...] = (
    pystac_client.exceptions.APIError,
    pystac_client.errors.ClientTypeError,
    pystac.STACError,
    pystac.STACTypeError,
    requests.RequestException,
    OSError,
    ValueError,  # a landing page or result that is not STAC JSON
    NotImplementedError,  # the API does not conform to STAC item search
)


#: WGS84 west, south, east, north.
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class CatalogOverview:
    """Where and when a catalog holds scenes, and its most recent ones (newest first).

    `bbox`, `start` and `end` are None when the catalog does not say (or holds nothing);
    `scene_count` is known for a static catalog only.
    """

    kind: Literal["static", "stac-api"]
    collection: str | None
    bbox: BBox | None
    start: dt.datetime | None
    end: dt.datetime | None
    recent: list[Scene]
    scene_count: int | None


class Catalog(Protocol):
    """Anything `find_available_dates` can search: a STAC API or a static catalog."""

    url: str

    def search(self, geometry_wgs84: BaseGeometry, start: TimeBound, end: TimeBound) -> list[Scene]:
        """Give the scenes whose footprint meets the AOI within [start, end], oldest first."""
        ...

    def overview(self, limit: int) -> CatalogOverview:
        """Give the catalog's extent and its `limit` most recent scenes."""
        ...


def open_catalog(
    url: str, *, collection: str = DEFAULT_COLLECTION, timeout: float = 30.0
) -> Catalog:
    """Give a searchable catalog for `url`: an http(s) STAC API, or a static STAC JSON file.

    A static file (a path or `file://` URL to a catalog, collection, item collection or single
    item) is read now; a missing or unreadable one raises `CatalogUnavailable`. A STAC API is first
    contacted by `search`, which raises `CatalogUnavailable` when it cannot be reached.
    """
    if urlparse(url).scheme in ("http", "https"):
        return StacApiCatalog(url, collection=collection, timeout=timeout)
    return StaticCatalog.from_file(url, collection=collection)


def utc_range(start: TimeBound, end: TimeBound) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Give [start, end] as aware UTC instants; a date-only end stands for the end of that day."""
    return _as_utc(start, end_of_day=False), _as_utc(end, end_of_day=True)


def _as_utc(bound: TimeBound, *, end_of_day: bool) -> dt.datetime | None:
    if bound is None:
        return None
    if not isinstance(bound, dt.datetime):
        clock = dt.time.max if end_of_day else dt.time.min
        return dt.datetime.combine(bound, clock, tzinfo=dt.UTC)
    return bound.replace(tzinfo=dt.UTC) if bound.tzinfo is None else bound.astimezone(dt.UTC)


class StacApiCatalog:
    """A STAC API searched with pystac-client (`/search` with `intersects` and `datetime`)."""

    def __init__(self, url: str, *, collection: str, timeout: float) -> None:
        self.url = url
        self.collection = collection
        self.timeout = timeout

    def search(self, geometry_wgs84: BaseGeometry, start: TimeBound, end: TimeBound) -> list[Scene]:
        """Give the scenes the API returns for the AOI and time range, oldest first."""
        first, last = utc_range(start, end)
        interval = None
        if first is not None or last is not None:
            interval = f"{_iso(first) if first else '..'}/{_iso(last) if last else '..'}"
        try:
            client = pystac_client.Client.open(self.url, timeout=self.timeout)
            found = client.search(
                collections=[self.collection],
                intersects=shapely.geometry.mapping(geometry_wgs84),
                datetime=interval,
            )
            items = list(found.items_as_dicts())
        except _API_ERRORS as exc:
            raise CatalogUnavailable(
                f"The STAC catalog at {self.url} could not be reached or searched"
                f"{_http_status(exc)}. " + _OFFLINE_HINT,
                detail=str(exc),
            ) from exc
        return _sorted_scenes(_scenes(items, base_href=None))

    def overview(self, limit: int) -> CatalogOverview:
        """Give the collection's declared extent and the latest `limit` items the API returns.

        The items are asked for newest first when the API offers sorting; without it they are
        whatever `limit` items the API gives, sorted here. Raises `CatalogUnavailable` when the
        API cannot be reached or has no such collection.
        """
        try:
            client = pystac_client.Client.open(self.url, timeout=self.timeout)
            collection = client.get_collection(self.collection)
            if collection is None:
                raise CatalogUnavailable(
                    f"The STAC API at {self.url} has no collection {self.collection!r}. "
                    + _OFFLINE_HINT
                )
            sort = client.conforms_to(pystac_client.ConformanceClasses.SORT)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a missing conformance class is not an error
                found = client.search(
                    collections=[self.collection],
                    max_items=limit,
                    limit=limit,
                    sortby="-properties.datetime" if sort else None,
                )
                items = list(found.items_as_dicts())
        except _API_ERRORS as exc:
            raise CatalogUnavailable(
                f"The STAC catalog at {self.url} could not be reached or read"
                f"{_http_status(exc)}. " + _OFFLINE_HINT,
                detail=str(exc),
            ) from exc
        extent = collection.extent
        bboxes = extent.spatial.bboxes or [[]]
        intervals = extent.temporal.intervals or [[None, None]]
        first, last = intervals[0][0], intervals[0][1]
        return CatalogOverview(
            kind="stac-api",
            collection=self.collection,
            bbox=_bbox4(bboxes[0]),
            start=_as_utc(first, end_of_day=False),
            end=_as_utc(last, end_of_day=False),
            recent=_newest(_scenes(items, base_href=None), limit),
            scene_count=None,
        )


class StaticCatalog:
    """Items of a static STAC file held in memory and filtered by footprint and time."""

    def __init__(self, url: str, items: list[pystac.Item], *, collection: str | None) -> None:
        self.url = url
        self.items = items
        self.collection = collection

    @classmethod
    def from_file(cls, url: str, *, collection: str | None = DEFAULT_COLLECTION) -> StaticCatalog:
        """Give the catalog stored at a path or `file://` URL; raise `CatalogUnavailable` if not."""
        path = Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url)
        try:
            items = _read_items(path)
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            pystac.STACError,
            pystac.STACTypeError,
        ) as exc:
            raise CatalogUnavailable(
                f"The static STAC catalog {url} could not be read ({exc}). " + _OFFLINE_HINT,
                detail=str(exc),
            ) from exc
        return cls(str(path), items, collection=collection)

    def search(self, geometry_wgs84: BaseGeometry, start: TimeBound, end: TimeBound) -> list[Scene]:
        """Give the items whose footprint meets the AOI within [start, end], oldest first."""
        first, last = utc_range(start, end)
        wanted = _COLLECTION_ALIASES.get(self.collection or "", frozenset({self.collection}))
        chosen = [
            item
            for item in self.items
            if (self.collection is None or item.collection_id in (None, *wanted))
            and _meets(item, geometry_wgs84)
            and _within(item, first, last)
        ]
        return _sorted_scenes(_scenes(chosen, base_href=self.url))

    def overview(self, limit: int) -> CatalogOverview:
        """Give the bounds and time span of every usable item, and the `limit` newest."""
        wanted = _COLLECTION_ALIASES.get(self.collection or "", frozenset({self.collection}))
        scenes = _scenes(
            (
                item
                for item in self.items
                if self.collection is None or item.collection_id in (None, *wanted)
            ),
            base_href=self.url,
        )
        boxes = [box for box in map(_footprint_bbox, scenes) if box is not None]
        return CatalogOverview(
            kind="static",
            collection=self.collection,
            bbox=_union(boxes),
            start=min((scene.datetime for scene in scenes), default=None),
            end=max((scene.datetime for scene in scenes), default=None),
            recent=_newest(scenes, limit),
            scene_count=len(scenes),
        )


def _read_items(path: Path) -> list[pystac.Item]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a STAC JSON object")
    kind = data.get("type")
    if kind == "FeatureCollection":
        return list(pystac.ItemCollection.from_dict(data, preserve_dict=False).items)
    if kind == "Feature":
        return [pystac.Item.from_file(str(path))]
    root = pystac.read_file(str(path))
    if not isinstance(root, pystac.Catalog):  # Collection is a Catalog subclass
        raise ValueError(f"unexpected STAC object {type(root).__name__}")
    return list(root.get_items(recursive=True))


def _meets(item: pystac.Item, aoi: BaseGeometry) -> bool:
    if item.geometry is not None:
        return bool(shapely.geometry.shape(item.geometry).intersects(aoi))
    if item.bbox is not None:
        box = item.bbox if len(item.bbox) == 4 else [*item.bbox[:2], *item.bbox[3:5]]
        return bool(shapely.geometry.box(*box).intersects(aoi))
    return True  # no footprint to judge by: let the per-AOI cloud read decide


def _within(item: pystac.Item, first: dt.datetime | None, last: dt.datetime | None) -> bool:
    props = item.properties
    if item.datetime is not None:
        item_start = item_end = _as_utc(item.datetime, end_of_day=False)
    else:
        item_start = _parse(props.get("start_datetime"))
        item_end = _parse(props.get("end_datetime")) or item_start
    if item_start is None or item_end is None:
        return False
    return (first is None or item_end >= first) and (last is None or item_start <= last)


def _parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    return _as_utc(pystac.utils.str_to_datetime(value), end_of_day=False)


def _scenes(items: Iterable[pystac.Item | dict[str, Any]], *, base_href: str | None) -> list[Scene]:
    scenes = []
    for item in items:
        try:
            scenes.append(scene_from_item(item, base_href=base_href))
        except DeepresError as exc:
            item_id = item.id if isinstance(item, pystac.Item) else item.get("id")
            log.warning("skipping STAC item %s: %s", item_id, exc.message)
    return scenes


def _sorted_scenes(scenes: list[Scene]) -> list[Scene]:
    return sorted(scenes, key=lambda scene: (scene.datetime, scene.id))


def _http_status(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    return f" (HTTP {status})" if isinstance(status, int) else ""


def _iso(when: dt.datetime) -> str:
    return pystac.utils.datetime_to_str(when)


def _newest(scenes: list[Scene], limit: int) -> list[Scene]:
    return list(reversed(_sorted_scenes(scenes)))[: max(limit, 0)]


def _bbox4(values: list[float] | tuple[float, ...] | None) -> BBox | None:
    """A 2D bbox from a STAC bbox (4 numbers, or 6 with heights); None for anything else."""
    if values is None:
        return None
    box = list(values)
    if len(box) == 6:
        box = [*box[:2], *box[3:5]]
    if len(box) != 4:
        return None
    west, south, east, north = (float(v) for v in box)
    return west, south, east, north


def _footprint_bbox(scene: Scene) -> BBox | None:
    if scene.bbox is not None:
        return _bbox4(scene.bbox)
    if scene.geometry is not None:
        west, south, east, north = shapely.geometry.shape(scene.geometry).bounds
        return float(west), float(south), float(east), float(north)
    return None


def _union(boxes: list[BBox]) -> BBox | None:
    """The box around `boxes` (boxes crossing the antimeridian are taken at face value)."""
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
