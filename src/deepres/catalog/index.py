"""Static STAC item collections for folders of per-band GeoTIFFs (`deepres catalog index`)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac
import rasterio
import shapely.geometry
from pyproj import Transformer
from pystac.utils import str_to_datetime
from rasterio.errors import RasterioError
from shapely.geometry.base import BaseGeometry

from deepres.bands import OUTPUT_BANDS, V1_ASSET_BANDS
from deepres.catalog.items import band_of_asset_key
from deepres.catalog.mgrs import mgrs_in_name, mgrs_of_utm_point, utm_zone_of_epsg
from deepres.errors import InvalidInput, SceneReadError
from deepres.types import BBox

#: Non-band files indexed when present, by v1 asset key (v0 keys map to the same files).
EXTRA_ASSET_FILES: dict[str, str] = {"aot": "AOT", "wvp": "WVP", "visual": "TCI"}
_EXTRA_KEY_ALIASES: dict[str, str] = {
    "aot": "aot",
    "wvp": "wvp",
    "visual": "visual",
    "AOT": "aot",
    "WVP": "wvp",
}
_KEY_OF_BAND: dict[str, str] = {band: key for key, band in V1_ASSET_BANDS.items()}
_STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
]
#: Degrees by which a sibling item's footprint may overrun the local rasters and still be kept.
_FOOTPRINT_TOLERANCE_DEG = 1e-3
_DATE_IN_NAME_RE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)")
_BASELINE_IN_NAME_RE = re.compile(r"_N(\d{2})(\d{2})(?=_|$)")
_DATETIME_TAGS = ("DATETIME", "ACQUISITION_DATE", "SENSING_TIME", "DATATAKE_SENSING_START")


@dataclass(frozen=True)
class _Raster:
    """What the index records of one local band file."""

    path: Path
    epsg: int | None
    shape: tuple[int, int]
    transform: list[float]
    bounds: BBox
    tags: dict[str, str]


@dataclass(frozen=True)
class Skipped:
    """A folder the index did not turn into an item, and why."""

    folder: Path
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """The item collection, the folders left out with their reasons, and notes on the items."""

    collection: dict[str, Any]
    skipped: list[Skipped]
    notes: list[str]


def write_index(scene_dirs: Iterable[Path], out: Path) -> dict[str, Any]:
    """Give the item collection of `scene_dirs` (see `build_index`) after writing it to `out`."""
    return write_report(scene_dirs, out).collection


def write_report(scene_dirs: Iterable[Path], out: Path) -> IndexReport:
    """`index_scenes` of `scene_dirs`, its collection written to `out`."""
    report = index_scenes(scene_dirs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.collection, indent=2) + "\n", encoding="utf-8")
    return report


def index_scenes(scene_dirs: Iterable[Path]) -> IndexReport:
    """Every scene folder under `scene_dirs` as an item (see `build_index`), and what was not.

    A folder is skipped, with its reason, when it has no `B02.tif`, no readable CRS or no
    acquisition time. A scene without an SCL layer is indexed with a note: its cloud cover over
    an AOI is unknown, so it is offered only to searches that accept 100 % cloud. A scene that
    lacks some of the ten bands is indexed with a note too: it can be searched, not processed.
    """
    features, skipped, notes = [], [], []
    for folder, problem in _candidates(scene_dirs):
        if problem is not None:
            skipped.append(Skipped(folder, problem))
            continue
        try:
            item = _item_for_folder(folder)
        except (InvalidInput, SceneReadError) as exc:
            skipped.append(Skipped(folder, exc.message))
            continue
        missing = _missing_bands(folder)
        if missing:
            notes.append(
                f"{folder.name}: no {', '.join(f'{b}.tif' for b in missing)}; dates can be "
                "found on it, but it cannot be super-resolved."
            )
        if "scl" not in item["assets"] and "SCL" not in item["assets"]:
            notes.append(
                f"{folder.name}: no SCL.tif, so its cloud cover over an AOI cannot be measured; "
                "it is offered only to searches that accept 100 % cloud."
            )
        features.append(item)
    return IndexReport({"type": "FeatureCollection", "features": features}, skipped, notes)


def scene_item(folder: Path) -> dict[str, Any]:
    """The STAC item of one scene folder (what `deepres sr upscale` reads a folder as)."""
    for candidate, problem in _candidates([folder]):
        if problem is not None:
            raise InvalidInput(f"{candidate}: {problem}")
        return _item_for_folder(candidate)
    raise InvalidInput(f"{folder} holds no scene folder.")


def build_index(scene_dirs: Iterable[Path]) -> dict[str, Any]:
    """Give a STAC ItemCollection dict with one item per scene folder, hrefs absolute and local.

    Each path is a scene folder (it holds `B02.tif` …, named by band id) or a folder of scene
    folders; folders without `B02.tif` are skipped. A STAC item JSON beside the rasters keeps its
    properties, with each asset pointed at the local file of its band (assets with no local file
    are dropped) and grid and footprint taken from the files. Without one, the item is built from
    the rasters: id from the folder name, datetime from the GeoTIFF tags or a `YYYYMMDD` in the
    name, tile from a `T29RKH`-style name or else from the grid.
    """
    return index_scenes(scene_dirs).collection


def _missing_bands(folder: Path) -> list[str]:
    return [b for b in OUTPUT_BANDS if not (folder / f"{b}.tif").is_file()]


def _problem(folder: Path) -> str | None:
    """Why `folder` cannot be a scene (it has no B02.tif), or None."""
    if (folder / "B02.tif").is_file():
        return None
    tifs = sorted(p.name for p in folder.glob("*.tif"))
    shown = ", ".join(tifs[:3]) + (", ..." if len(tifs) > 3 else "")
    found = f" (it holds {shown})" if tifs else ""
    return (
        f"no B02.tif{found}; a scene folder holds one GeoTIFF per band named by band id "
        "(B02.tif ... B12.tif); multi-band stacks must be split into such files first"
    )


def _candidates(scene_dirs: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """(folder, why it is not a scene or None) for each given folder or each of its children."""
    for given in scene_dirs:
        folder = Path(given)
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder of scenes or a scene folder.")
        if (folder / "B02.tif").is_file() or any(folder.glob("*.tif")):
            yield folder, _problem(folder)
            continue
        for child in sorted(c for c in folder.iterdir() if c.is_dir()):
            yield child, _problem(child)


def _item_for_folder(folder: Path) -> dict[str, Any]:
    rasters = {
        key: _read_raster(path)
        for key, stem in {**V1_ASSET_BANDS, **EXTRA_ASSET_FILES}.items()
        if (path := folder / f"{stem}.tif").is_file()
    }
    footprint = _footprint(rasters["blue"])
    sibling = _sibling_item(folder)
    if sibling is not None:
        return _localised(sibling, rasters, footprint)
    return _item_from_rasters(folder, rasters, footprint)


def _read_raster(path: Path) -> _Raster:
    try:
        with rasterio.open(path) as src:
            return _Raster(
                path=path.resolve(),
                epsg=src.crs.to_epsg() if src.crs else None,
                shape=(src.height, src.width),
                transform=list(src.transform)[:6],
                bounds=tuple(src.bounds),
                tags=src.tags(),
            )
    except RasterioError as exc:
        raise SceneReadError(f"Could not read {path}: {exc}", detail=str(exc)) from exc


def _footprint(raster: _Raster) -> BaseGeometry:
    if raster.epsg is None:
        raise InvalidInput(f"{raster.path} has no CRS, so it cannot be placed in a catalog.")
    box = shapely.geometry.box(*raster.bounds)
    dense = box.segmentize(max(box.length / 40, 1.0))
    to_wgs84 = Transformer.from_crs(raster.epsg, 4326, always_xy=True)
    return shapely.transform(dense, to_wgs84.transform, interleaved=False)


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON dict made of lists (not the tuples `mapping` gives), so it survives a JSON trip."""
    data: dict[str, Any] = json.loads(shapely.to_geojson(geometry))
    return data


def _sibling_item(folder: Path) -> dict[str, Any] | None:
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("type") == "Feature" and "assets" in data:
            return data
    return None


def _asset_fields(raster: _Raster) -> dict[str, Any]:
    return {
        "href": str(raster.path),
        "proj:shape": list(raster.shape),
        "proj:transform": raster.transform,
    }


def _localised(
    item: dict[str, Any], rasters: dict[str, _Raster], footprint: BaseGeometry
) -> dict[str, Any]:
    local = copy.deepcopy(item)
    assets: dict[str, Any] = {}
    used: set[str] = set()
    for key, asset in item["assets"].items():
        band = band_of_asset_key(key)
        local_key = _KEY_OF_BAND[band] if band else _EXTRA_KEY_ALIASES.get(key)
        if local_key in rasters and local_key not in used:
            assets[key] = {**asset, **_asset_fields(rasters[local_key])}
            used.add(local_key)
    for key, raster in rasters.items():  # local files the item does not list
        if key not in used:
            assets[key] = {**_asset_fields(raster), "roles": ["data"]}
    local["assets"] = assets
    local["links"] = [link for link in item.get("links", []) if link.get("rel") == "license"]
    geometry = _kept_footprint(item.get("geometry"), footprint)
    local["geometry"] = _geojson(geometry)
    local["bbox"] = list(geometry.bounds)
    epsg = rasters["blue"].epsg
    props = local.setdefault("properties", {})
    if props.get("proj:epsg") != epsg:
        props["proj:epsg"] = epsg
    if "proj:code" in props:
        props["proj:code"] = f"EPSG:{epsg}"
    return local


def _kept_footprint(item_geometry: dict[str, Any] | None, local: BaseGeometry) -> BaseGeometry:
    """The item's own footprint where the local files cover it, else its part on the files."""
    if item_geometry is None:
        return local
    declared = shapely.geometry.shape(item_geometry)
    if local.buffer(_FOOTPRINT_TOLERANCE_DEG).covers(declared):
        return declared
    overlap = declared.intersection(local)
    return overlap if not overlap.is_empty and overlap.area > 0 else local


def _item_from_rasters(
    folder: Path, rasters: dict[str, _Raster], footprint: BaseGeometry
) -> dict[str, Any]:
    blue = rasters["blue"]
    tags = {**blue.tags, **(rasters["scl"].tags if "scl" in rasters else {})}
    names = [folder.name, tags.get("PRODUCT", ""), tags.get("PRODUCT_URI", "")]
    when = _acquired(tags, names)
    if when is None:
        raise InvalidInput(
            f"{folder}: no acquisition time in the GeoTIFF tags (DATETIME) or a YYYYMMDD in the "
            "folder name; add a STAC item JSON beside the rasters."
        )
    mgrs = _tile(names, blue)
    props: dict[str, Any] = {
        "proj:epsg": blue.epsg,
        "grid:code": f"MGRS-{mgrs}",
        "mgrs:utm_zone": int(mgrs[:2]),
        "mgrs:latitude_band": mgrs[2],
        "mgrs:grid_square": mgrs[3:],
    }
    baseline = next((m for name in names if (m := _BASELINE_IN_NAME_RE.search(name))), None)
    if baseline is not None:
        props["s2:processing_baseline"] = f"{baseline.group(1)}.{baseline.group(2)}"
    item = pystac.Item(
        id=folder.name,
        geometry=_geojson(footprint),
        bbox=list(footprint.bounds),
        datetime=when,
        properties=props,
        stac_extensions=list(_STAC_EXTENSIONS),
    )
    for key, raster in rasters.items():
        title = V1_ASSET_BANDS.get(key, EXTRA_ASSET_FILES.get(key, key))
        item.add_asset(
            key,
            pystac.Asset(
                href=str(raster.path),
                media_type=pystac.MediaType.GEOTIFF,
                title=title,
                roles=["data"],
                extra_fields={"proj:shape": list(raster.shape), "proj:transform": raster.transform},
            ),
        )
    return item.to_dict(include_self_link=False, transform_hrefs=False)


def _acquired(tags: dict[str, str], names: list[str]) -> dt.datetime | None:
    for tag in _DATETIME_TAGS:
        if value := tags.get(tag):
            try:
                return str_to_datetime(value).astimezone(dt.UTC)
            except ValueError:
                continue
    for name in names:
        if match := _DATE_IN_NAME_RE.search(name):
            year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
            try:
                return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
            except ValueError:
                continue
    return None


def _tile(names: list[str], blue: _Raster) -> str:
    for name in names:
        if code := mgrs_in_name(name):
            return code
    if blue.epsg is None or utm_zone_of_epsg(blue.epsg) is None:
        raise InvalidInput(f"{blue.path}: not on a UTM grid and no tile code in the folder name.")
    left, bottom, right, top = blue.bounds
    return mgrs_of_utm_point(blue.epsg, (left + right) / 2, (bottom + top) / 2)
