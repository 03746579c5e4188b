"""Turn Earth Search STAC items (v1 or v0 layout) into `Scene` records."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any
from urllib.parse import urljoin, urlparse

import pystac
from pystac.utils import str_to_datetime

from deepres.bands import BAND_IDS, V1_ASSET_BANDS
from deepres.catalog.mgrs import mgrs_in_name, normalise_mgrs, utm_zone_of_epsg
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput
from deepres.types import BBox

_BASELINE_IN_PRODUCT_RE = re.compile(r"_N(\d{2})(\d{2})_")


def band_of_asset_key(key: str) -> str | None:
    """Give the band id an asset key stands for (`blue` or `B02` → `B02`), else None."""
    if key.endswith("-jp2"):
        return None  # JPEG2000 originals in a requester-pays bucket; the COGs hold the same pixels
    if key in V1_ASSET_BANDS:
        return V1_ASSET_BANDS[key]
    return key if key in BAND_IDS else None


def scene_from_item(item: pystac.Item | dict[str, Any], *, base_href: str | None = None) -> Scene:
    """Give the `Scene` an Earth Search item describes: band hrefs, tile, grid and baseline.

    Relative asset hrefs are resolved against the item's self href, else against `base_href`
    (the file or URL the item was read from). Raises `InvalidInput` for an item that is not valid
    STAC, has no datetime or names no MGRS tile.
    """
    if isinstance(item, dict):
        data = item
        try:
            item = pystac.Item.from_dict(data, migrate=False)
        except (pystac.STACError, pystac.STACTypeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"STAC item {data.get('id')!r} is not valid: {exc}") from exc
    props: dict[str, Any] = dict(item.properties)
    when = _item_datetime(item)
    if when is None:
        raise InvalidInput(f"STAC item {item.id!r} has no datetime or start_datetime.")
    epsg = _epsg(props)
    base = item.get_self_href() or base_href
    return Scene(
        id=item.id,
        datetime=when,
        mgrs=_mgrs(item.id, props, epsg),
        epsg=epsg,
        assets=_band_hrefs(item, base),
        geometry=item.geometry,
        bbox=_bbox(item.bbox),
        eo_cloud_cover=_float_or_none(props.get("eo:cloud_cover")),
        processing_baseline=_processing_baseline(props),
        boa_offset_applied=_bool_or_none(props.get("earthsearch:boa_offset_applied")),
        properties=props,
    )


def _item_datetime(item: pystac.Item) -> dt.datetime | None:
    when = item.datetime
    if when is None:
        start = item.properties.get("start_datetime")
        when = str_to_datetime(start) if isinstance(start, str) else None
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _band_hrefs(item: pystac.Item, base: str | None) -> dict[str, str]:
    hrefs: dict[str, str] = {}
    for key, asset in item.assets.items():
        band = band_of_asset_key(key)
        if band is None or (band in hrefs and key not in V1_ASSET_BANDS):
            continue
        hrefs[band] = _resolve(asset.href, base)
    return hrefs


def _resolve(href: str, base: str | None) -> str:
    if base is None or urlparse(href).scheme or os.path.isabs(href):
        return href
    if urlparse(base).scheme in ("http", "https", "s3", "gs"):
        return urljoin(base, href)
    base_path = base.removeprefix("file://")
    return os.path.normpath(os.path.join(os.path.dirname(base_path), href))


def _epsg(props: dict[str, Any]) -> int | None:
    epsg = props.get("proj:epsg")
    if isinstance(epsg, int):
        return epsg
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        try:
            return int(code[5:])
        except ValueError:
            return None
    return None


def _mgrs(item_id: str, props: dict[str, Any], epsg: int | None) -> str:
    grid_code = props.get("grid:code")
    if isinstance(grid_code, str) and (code := normalise_mgrs(grid_code)):
        return code
    for prefix in ("mgrs:", "sentinel:"):
        zone = props.get(f"{prefix}utm_zone")
        if zone is None and epsg is not None:
            zone = utm_zone_of_epsg(epsg)  # v0 items may leave the zone out
        band = props.get(f"{prefix}latitude_band")
        square = props.get(f"{prefix}grid_square")
        if (
            zone is not None
            and band
            and square
            and (code := normalise_mgrs(f"{zone}{band}{square}"))
        ):
            return code
    for name in (item_id, props.get("s2:product_uri"), props.get("sentinel:product_id")):
        if isinstance(name, str) and (code := mgrs_in_name(name)):
            return code
    raise InvalidInput(f"STAC item {item_id!r} names no MGRS tile (grid:code, mgrs:*, or its id).")


def _processing_baseline(props: dict[str, Any]) -> str | None:
    baseline = props.get("s2:processing_baseline")
    if isinstance(baseline, str) and baseline:
        return baseline
    # v0 items carry the baseline only inside the product id (`..._N0214_...` → 02.14).
    for key in ("s2:product_uri", "sentinel:product_id"):
        name = props.get(key)
        if isinstance(name, str) and (match := _BASELINE_IN_PRODUCT_RE.search(name)):
            return f"{match.group(1)}.{match.group(2)}"
    return None


def _bbox(bbox: list[float] | None) -> BBox | None:
    if bbox is None or len(bbox) < 4:
        return None
    if len(bbox) == 6:  # 3-D bbox: drop the heights
        return (bbox[0], bbox[1], bbox[3], bbox[4])
    return (bbox[0], bbox[1], bbox[2], bbox[3])


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
