"""The dates on which an AOI was seen with little enough cloud: the `available_dates` answer."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from shapely.geometry.base import BaseGeometry

from deepres.catalog.cloud_cover import aoi_cloud_cover
from deepres.catalog.scene import Scene
from deepres.catalog.search import Catalog, TimeBound
from deepres.errors import InvalidInput
from deepres.types import spec_date

log = logging.getLogger(__name__)


#: What a scene without a scene classification layer counts as: nothing proves it clear.
UNKNOWN_CLOUD_COVER = 100.0


@dataclass(frozen=True)
class AvailableDate:
    """One usable acquisition: a date and MGRS tile, the AOI's cloud cover and the scene.

    `cloud_cover_known` is False for a scene without an SCL layer, whose cloud over the AOI
    cannot be measured: it counts as 100 % (offered only when the request accepts that).
    """

    date: dt.date
    cloud_cover: float
    scene: Scene
    mgrs: str
    item_id: str
    cloud_cover_known: bool = True

    def to_payload(self) -> dict[str, Any]:
        """Give the spec's `available_dates` entry: cloud_cover, data_source, date, mgrs."""
        entry: dict[str, Any] = {
            "cloud_cover": self.cloud_cover,
            "data_source": self.item_id,
            "date": spec_date(self.date),
            "mgrs": self.mgrs,
        }
        if not self.cloud_cover_known:
            entry["cloud_cover_known"] = False
        return entry


@dataclass(frozen=True)
class SkippedScene:
    """A scene over the AOI that was not offered, and why (in words for the client)."""

    item_id: str
    date: dt.date
    mgrs: str
    reason: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "data_source": self.item_id,
            "date": spec_date(self.date),
            "mgrs": self.mgrs,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DateSearch:
    """What a search found (`available`) and what it saw but left out (`skipped`)."""

    available: list[AvailableDate]
    skipped: list[SkippedScene]


def find_available_dates(*args: Any, **kwargs: Any) -> list[AvailableDate]:
    """The `available` part of `search_dates`, with the same arguments."""
    return search_dates(*args, **kwargs).available


def search_dates(
    catalog: Catalog,
    aoi_geometry: BaseGeometry,
    start: TimeBound,
    end: TimeBound,
    max_cloud_cover: float,
    *,
    max_workers: int = 8,
) -> DateSearch:
    """Give one entry per (date, MGRS tile) whose AOI cloud cover is at most `max_cloud_cover`.

    Cloud cover is counted on each scene's SCL inside the AOI (see `aoi_cloud_cover`), with the
    scenes read concurrently. Scenes that do not see the AOI (outside the footprint, or nodata
    there) and scenes without an SCL asset give no entry. When two scenes share a date and tile
    (overlapping items, reprocessings) the one with the least cloud is kept, ties going to the
    one that sees more of the AOI. Entries come sorted by date, then tile.

    The only scene-level pre-filter is `eo:cloud_cover >= 100` with `max_cloud_cover < 100`: a
    fully clouded tile is fully clouded over every part of it. Any lower tile percentage says
    nothing about a sub-area (a 90 % cloudy tile can be clear over a field), so nothing else is
    skipped before the AOI is read.
    """
    if not 0 <= max_cloud_cover <= 100:
        raise InvalidInput(f"cloud_cover must be between 0 and 100. Given: {max_cloud_cover}.")
    skipped: list[SkippedScene] = []
    scenes = []
    for scene in catalog.search(aoi_geometry, start, end):
        reason = _left_out(scene, max_cloud_cover)
        if reason is None:
            scenes.append(scene)
        else:
            skipped.append(SkippedScene(scene.id, scene.date, scene.mgrs, reason))
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(scenes) or 1))) as pool:
        covers = list(pool.map(_cover, scenes, repeat(aoi_geometry)))

    best: dict[tuple[dt.date, str], tuple[AvailableDate, int]] = {}
    for scene, cover in zip(scenes, covers, strict=True):
        reason = _too_cloudy(cover, max_cloud_cover)
        if cover is None or reason is not None:
            skipped.append(SkippedScene(scene.id, scene.date, scene.mgrs, reason or ""))
            continue
        entry = AvailableDate(
            date=scene.date,
            cloud_cover=cover.percent,
            scene=scene,
            mgrs=scene.mgrs,
            item_id=scene.id,
            cloud_cover_known=cover.known,
        )
        key = (entry.date, entry.mgrs)
        kept = best.get(key)
        if kept is None or _better(entry, cover.valid_pixels, *kept):
            if kept is not None:
                skipped.append(_duplicate(kept[0], entry))
            best[key] = (entry, cover.valid_pixels)
        else:
            skipped.append(_duplicate(entry, kept[0]))
    skipped.sort(key=lambda s: (s.date, s.mgrs, s.item_id))
    return DateSearch([best[key][0] for key in sorted(best)], skipped)


@dataclass(frozen=True)
class _Cover:
    percent: float
    valid_pixels: int
    known: bool = True


def _cover(scene: Scene, aoi: BaseGeometry) -> _Cover | None:
    """The AOI's cloud cover in `scene` (unknown without SCL); None where it sees no AOI."""
    if "SCL" not in scene.assets:
        return _Cover(UNKNOWN_CLOUD_COVER, 0, known=False)
    cover = aoi_cloud_cover(scene, aoi)
    return None if cover is None else _Cover(cover.percent, cover.valid_pixels)


def _too_cloudy(cover: _Cover | None, max_cloud_cover: float) -> str | None:
    """Why a scene with `cover` over the AOI is not offered, or None."""
    if cover is None:
        return "the scene holds no valid pixels over the AOI (outside its data, or nodata)"
    if not cover.known:
        if max_cloud_cover >= UNKNOWN_CLOUD_COVER:
            return None
        return (
            "the scene has no scene classification layer (SCL), so its cloud cover over the "
            f"AOI is unknown; it is offered only to requests that accept {UNKNOWN_CLOUD_COVER:g}%"
        )
    if cover.percent > max_cloud_cover:
        return (
            f"cloud over the AOI is {cover.percent:.1f}%, above the requested {max_cloud_cover:g}%"
        )
    return None


def _duplicate(dropped: AvailableDate, kept: AvailableDate) -> SkippedScene:
    return SkippedScene(
        dropped.item_id,
        dropped.date,
        dropped.mgrs,
        f"another scene of the same day and tile ({kept.item_id}) sees the AOI better",
    )


def _left_out(scene: Scene, max_cloud_cover: float) -> str | None:
    """Why `scene` is not even read (a fully clouded tile), or None."""
    if scene.eo_cloud_cover is not None and scene.eo_cloud_cover >= 100 > max_cloud_cover:
        return "the whole tile is cloud (eo:cloud_cover 100%)"
    return None


def _better(entry: AvailableDate, valid: int, kept: AvailableDate, kept_valid: int) -> bool:
    """Less cloud wins; on a tie, more valid pixels; then the smaller item id, for stable output."""
    return (entry.cloud_cover, -valid, entry.item_id) < (
        kept.cloud_cover,
        -kept_valid,
        kept.item_id,
    )
