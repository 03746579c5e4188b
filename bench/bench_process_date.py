"""Benchmark: one date over a 25,000 ha AOI, bicubic x4, against reading + writing alone.

Writes a synthetic scene (16 x 16 km: 1600 x 1600 px at 10 m, 800 x 800 at 20 m, tiled DEFLATE
GeoTIFFs) to a temporary folder, then runs `process_scene` twice, each in its own process so
that each gets its own peak RSS:

- `sr`: the bicubic model at scale 4 (a 6,324 x 6,324 px, 10-band product at 2.5 m);
- `read_write`: the same pipeline with pixel replication instead of SR: the same windows read,
  the same clipping, the same size of COG written; only the super-resolution is missing.

Prints one JSON object. Goal: `ratio` (sr / read_write) <= 3 and both peaks <= 2 GB for
bicubic, 1.5 GB for the network (`--model deepres-s2sr`). `--displaced 0.3` writes B8A as B08
seen 0.3 of a 20 m pixel down and right, so that the network runs co-registered (the product's
DEEPRES_20M_SHIFT_PX is reported).
Usage: python bench/bench_process_date.py [--tile-px 512] [--model M] [--displaced PX]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from pyproj import Transformer

from deepres.catalog.scene import Scene
from deepres.raster import process_scene, validate_cog
from deepres.sr import get_model
from deepres.sr.base import FloatArray

EPSG = 32629
LEFT, TOP = 600000.0, 5800000.0
SIDE_PX = 1600  # 16 km at 10 m
AOI_SIDE_M = 25_000e4**0.5  # a square of 25,000 ha: 15,811 m


class Replicate:
    """Nearest-neighbour "model": the output grid without any super-resolution work."""

    name = "replicate"
    version = "0"
    scales = (1, 2, 4, 8)

    def upscale(self, b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray:
        hi = b10.repeat(scale, axis=1).repeat(scale, axis=2)
        lo = b20.repeat(2 * scale, axis=1).repeat(2 * scale, axis=2)
        return np.concatenate([hi, lo])


def _scenes() -> Any:
    """The test suite's synthetic scene factory (`tests/scenes.py`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tests.scenes

    return tests.scenes


def write_scene(folder: Path, displaced_px: float = 0.0) -> None:
    """A synthetic L2A scene: one tiled GeoTIFF per band on the 10 m and 20 m grids.

    With `displaced_px`, B8A is B08 moved by that many 20 m pixels down and right.
    """
    scenes = _scenes()
    scenes.write_scene(
        folder, side_px=SIDE_PX, epsg=EPSG, left=LEFT, top=TOP, blocksize=512, scl_class=None
    )
    if displaced_px:
        with rasterio.open(folder / "B08.tif") as src:
            nir = src.read(1).astype(np.float32)
        moved = scenes.displaced_20m(nir, displaced_px, displaced_px)
        with rasterio.open(folder / "B8A.tif", "r+") as dst:
            dst.write(np.clip(np.rint(moved), 1, 65535).astype(np.uint16), 1)


def scene_in(folder: Path) -> Scene:
    """The Scene for the rasters `write_scene` wrote into `folder` (offset already removed)."""
    scene: Scene = _scenes().scene_of(folder, epsg=EPSG)
    return scene


def aoi_wgs84() -> object:
    margin = (SIDE_PX * 10 - AOI_SIDE_M) / 2
    utm = shapely.box(
        LEFT + margin, TOP - margin - AOI_SIDE_M, LEFT + margin + AOI_SIDE_M, TOP - margin
    )
    to_wgs = Transformer.from_crs(EPSG, 4326, always_xy=True)
    return shapely.transform(utm, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))


def run_part(part: str, folder: Path, tile_px: int, model_name: str) -> dict[str, float]:
    """Runs one part in this process; its time and this process's peak RSS."""
    scene = scene_in(folder)
    model = get_model(model_name) if part == "sr" else Replicate()
    out = folder / f"{part}.tif"
    start = time.perf_counter()
    info = process_scene(scene, aoi_wgs84(), model, 4, out, tile_px=tile_px)
    seconds = time.perf_counter() - start
    assert info is not None and validate_cog(out) == []
    with rasterio.open(out) as ds:
        shift_tag = ds.tags().get("DEEPRES_20M_SHIFT_PX", "")
    return {
        "shift_20m_px": shift_tag,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "width": info.width,
        "height": info.height,
        "cog_mb": round(out.stat().st_size / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-px", type=int, default=512)
    parser.add_argument("--model", default="bicubic", help="bicubic (the goal's) or deepres-s2sr")
    parser.add_argument("--displaced", type=float, default=0.0, help="B8A off by PX (20 m px)")
    parser.add_argument("--part", choices=["sr", "read_write"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:  # child process: one part, one JSON line
        print(json.dumps(run_part(args.part, args.folder, args.tile_px, args.model)))
        return 0
    with tempfile.TemporaryDirectory(prefix="deepres-bench-") as tmp:
        folder = Path(tmp)
        write_scene(folder, args.displaced)
        results: dict[str, dict[str, float]] = {}
        for part in ("read_write", "sr"):
            cmd = [
                sys.executable,
                __file__,
                "--part",
                part,
                "--folder",
                tmp,
                "--tile-px",
                str(args.tile_px),
                "--model",
                args.model,
            ]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[part] = json.loads(done.stdout.strip().splitlines()[-1])
    sr, rw = results["sr"], results["read_write"]
    peak = max(float(sr["peak_rss_mb"]), float(rw["peak_rss_mb"]))
    ratio = float(sr["seconds"]) / float(rw["seconds"])
    report = {
        "aoi_ha": 25_000,
        "scale": 4,
        "model": args.model,
        "tile_px": args.tile_px,
        "total_s": sr["seconds"],
        "read_write_s": rw["seconds"],
        "ratio": round(ratio, 2),
        "peak_rss_mb": {"sr": sr["peak_rss_mb"], "read_write": rw["peak_rss_mb"]},
        "product_px": [sr["width"], sr["height"]],
        "cog_mb": sr["cog_mb"],
        "co_registered_20m_px": sr["shift_20m_px"] or None,
        "goal_met": ratio <= 3 and peak <= (2048 if args.model == "bicubic" else 1536),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
