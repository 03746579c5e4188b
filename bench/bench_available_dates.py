"""Bench: `find_available_dates` (windowed SCL reads) against reading each scene's SCL whole.

Builds, in a temporary folder, full-size 20 m SCL COGs (5490 x 5490 px, deflate, 512 px tiles,
nearest overviews, as Earth Search serves them) made from the real 29RKH SCL (upsampled x10 with
nearest, plus rotated variants), and a static item collection of N scenes pointing at them. For
several AOI sizes it then times both ways and counts the bytes the process read.

Bytes are counted with `rchar` from /proc/self/io (every read(2)/pread(2) of the process, all
threads, page cache included), so it needs Linux. Run:

    .venv/bin/python bench/bench_available_dates.py [--scenes 30] [--workers 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.enums import Resampling
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from deepres.catalog.available import find_available_dates
from deepres.catalog.cloud_cover import CLOUD_CLASSES, INVALID_CLASSES
from deepres.catalog.index import build_index
from deepres.catalog.scene import Scene
from deepres.catalog.search import Catalog, open_catalog

SHARED_DATA = Path(
    os.environ.get("DEEPRES_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
RKH = SHARED_DATA / "scenes" / "S2A_29RKH_20200219_L2A"
CENTRE = (-10.975, 25.186)  # lon, lat over a cloud in the 29RKH SCL (its rotations: clear)
AOI_SIDES_KM = {"field_0.7km": 0.7, "farm_5km": 5.0, "max_aoi_15.8km": 15.8}


def bytes_read() -> int:
    """`rchar` of this process: bytes it has read through read(2) and friends."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def make_scl_variants(folder: Path, compress: str | None, count: int = 3) -> list[Path]:
    """Full-size SCL COGs: the 200 m fixture upsampled x10, rotated 0, 90, 180... degrees."""
    with rasterio.open(RKH / "SCL.tif") as src:
        scl, profile = src.read(1), src.profile
    profile.update(
        width=5490,
        height=5490,
        transform=profile["transform"] @ Affine.scale(0.1),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress=compress,
    )
    paths = []
    for turn in range(count):
        full = np.repeat(np.repeat(np.rot90(scl, turn), 10, axis=0), 10, axis=1)
        path = folder / f"SCL_{compress or 'none'}_{turn}.tif"
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(full, 1)
            dst.build_overviews([2, 4, 8, 16], Resampling.nearest)
        paths.append(path)
    return paths


def make_catalog(path: Path, scl_paths: list[Path], scenes: int) -> Path:
    """An item collection of `scenes` dates, five days apart, cycling through the SCL variants."""
    (template,) = build_index([RKH])["features"]
    features = []
    start = dt.datetime(2020, 1, 1, 11, 34, 25, tzinfo=dt.UTC)
    for n in range(scenes):
        when = start + dt.timedelta(days=5 * n)
        item = json.loads(json.dumps(template))
        item["id"] = f"S2A_29RKH_{when:%Y%m%d}_0_L2A"
        item["properties"]["datetime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        item["assets"]["scl"]["href"] = str(scl_paths[n % len(scl_paths)])
        features.append(item)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def square_aoi(side_km: float) -> BaseGeometry:
    """A square AOI of `side_km` around CENTRE, in WGS 84."""
    half_lat = side_km / 2 / 111.32
    half_lon = half_lat / math.cos(math.radians(CENTRE[1]))
    lon, lat = CENTRE
    return box(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)


def whole_scl_dates(
    catalog: Catalog, aoi: BaseGeometry, max_cloud: float
) -> list[tuple[str, float]]:
    """The naive way: read every scene's SCL whole, then count cloud under the AOI."""
    found = []
    for scene in catalog.search(aoi, None, None):
        percent = _whole_percent(scene, aoi)
        if percent is not None and percent <= max_cloud:
            found.append((scene.id, percent))
    return found


def _whole_percent(scene: Scene, aoi: BaseGeometry) -> float | None:
    with rasterio.open(scene.assets["SCL"]) as src:
        scl = src.read(1)
        to_raster = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
        aoi_utm = shapely.transform(aoi, to_raster.transform, interleaved=False)
        inside = rasterio.features.geometry_mask(
            [mapping(aoi_utm)], out_shape=scl.shape, transform=src.transform, invert=True
        )
    valid = inside & ~np.isin(scl, INVALID_CLASSES)
    if not valid.any():
        return None
    return 100.0 * float((valid & np.isin(scl, CLOUD_CLASSES)).sum()) / float(valid.sum())


def measure(run: Callable[[], list[tuple[str, float]]]) -> tuple[dict[str, Any], Any]:
    before_bytes, before = bytes_read(), time.perf_counter()
    result = run()
    wall = time.perf_counter() - before
    return {"wall_s": round(wall, 3), "bytes_read": bytes_read() - before_bytes}, result


def compare(catalog: Catalog, max_cloud: float, workers: int) -> list[dict[str, Any]]:
    """One row per AOI size: both ways timed and their bytes counted, results cross-checked."""
    geod = Geod(ellps="WGS84")
    rows = []
    for name, side in AOI_SIDES_KM.items():
        aoi = square_aoi(side)

        def windowed(aoi: BaseGeometry = aoi) -> list[tuple[str, float]]:
            dates = find_available_dates(catalog, aoi, None, None, max_cloud, max_workers=workers)
            return [(d.item_id, d.cloud_cover) for d in dates]

        def whole(aoi: BaseGeometry = aoi) -> list[tuple[str, float]]:
            return whole_scl_dates(catalog, aoi, max_cloud)

        fast, fast_dates = measure(windowed)
        slow, slow_dates = measure(whole)
        same = [i for i, _ in fast_dates] == [i for i, _ in slow_dates] and all(
            math.isclose(a, b, abs_tol=1e-9)
            for (_, a), (_, b) in zip(fast_dates, slow_dates, strict=True)
        )
        rows.append(
            {
                "aoi": name,
                "hectares": round(abs(geod.geometry_area_perimeter(aoi)[0]) / 10_000),
                "dates_found": len(fast_dates),
                "same_dates_and_percent": same,
                "windowed": fast,
                "whole_scl": slow,
                "bytes_ratio": round(slow["bytes_read"] / max(fast["bytes_read"], 1), 1),
                "speedup": round(slow["wall_s"] / max(fast["wall_s"], 1e-6), 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-cloud", type=float, default=20.0)
    args = parser.parse_args()

    report: dict[str, Any] = {
        "scenes": args.scenes,
        "scl_shape": [5490, 5490],
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "byte_counter": "/proc/self/io rchar (all threads, page cache included)",
        "max_cloud_cover": args.max_cloud,
    }
    with tempfile.TemporaryDirectory(prefix="deepres-bench-") as tmp:
        for compress in ("deflate", None):
            label = compress or "uncompressed"
            scl_paths = make_scl_variants(Path(tmp), compress)
            index = make_catalog(Path(tmp) / f"{label}.json", scl_paths, args.scenes)
            catalog = open_catalog(str(index))
            find_available_dates(catalog, square_aoi(1), None, None, 100)  # warm GDAL and PROJ
            report[label] = {
                "scl_file_bytes": scl_paths[0].stat().st_size,
                "results": compare(catalog, args.max_cloud, args.workers),
            }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
