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


@dataclass(frozen=True)
class AvailableDate:
    """One usable acquisition: a date and MGRS tile, the AOI's cloud cover and the scene."""

    date: dt.date
    cloud_cover: float
    scene: Scene
    mgrs: str
    item_id: str

    def to_payload(self) -> dict[str, Any]:
        """Give the spec's `available_dates` entry: cloud_cover, data_source, date, mgrs."""
        return {
            "cloud_cover": self.cloud_cover,
            "data_source": self.item_id,
            "date": spec_date(self.date),
            "mgrs": self.mgrs,
        }


def find_available_dates(
    catalog: Catalog,
    aoi_geometry: BaseGeometry,
    start: TimeBound,
    end: TimeBound,
    max_cloud_cover: float,
    *,
    max_workers: int = 8,
) -> list[AvailableDate]:
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
    scenes = [
        scene
        for scene in catalog.search(aoi_geometry, start, end)
        if _may_qualify(scene, max_cloud_cover)
    ]
    if not scenes:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(scenes)))) as pool:
        covers = list(pool.map(aoi_cloud_cover, scenes, repeat(aoi_geometry)))

    best: dict[tuple[dt.date, str], tuple[AvailableDate, int]] = {}
    for scene, cover in zip(scenes, covers, strict=True):
        if cover is None or cover.percent > max_cloud_cover:
            continue
        entry = AvailableDate(
            date=scene.date,
            cloud_cover=cover.percent,
            scene=scene,
            mgrs=scene.mgrs,
            item_id=scene.id,
        )
        key = (entry.date, entry.mgrs)
        kept = best.get(key)
        if kept is None or _better(entry, cover.valid_pixels, *kept):
            best[key] = (entry, cover.valid_pixels)
    return [best[key][0] for key in sorted(best)]


def _may_qualify(scene: Scene, max_cloud_cover: float) -> bool:
    if scene.eo_cloud_cover is not None and scene.eo_cloud_cover >= 100 > max_cloud_cover:
        return False
    if "SCL" not in scene.assets:
        log.warning("scene %s has no SCL asset; its cloud cover over the AOI is unknown", scene.id)
        return False
    return True


def _better(entry: AvailableDate, valid: int, kept: AvailableDate, kept_valid: int) -> bool:
    """Less cloud wins; on a tie, more valid pixels; then the smaller item id, for stable output."""
    return (entry.cloud_cover, -valid, entry.item_id) < (
        kept.cloud_cover,
        -kept_valid,
        kept.item_id,
    )
