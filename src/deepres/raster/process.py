"""One date of one MGRS tile over an AOI: read, super-resolve tile by tile, clip, write a COG."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from affine import Affine
from rasterio.features import geometry_mask
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from deepres.aoi import to_crs
from deepres.bands import OUTPUT_BANDS
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.raster.cog import write_cog
from deepres.raster.reader import SceneGrid, SceneReader
from deepres.raster.tiling import (
    Tile,
    decompose,
    snapped_window,
    window_bounds,
    window_transform,
)
from deepres.sr.base import SRModel
from deepres.types import BBox

UInt16Array = npt.NDArray[np.uint16]

# The staging GeoTIFF's block size (also the COG's): one output tile covers whole blocks.
BLOCK_PX = 512
# GDAL's block cache holds dirty staging blocks; bounding it bounds memory whatever the AOI size.
_GDAL_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ProductInfo:
    """Where the product was written and the grid it is on (the scene's UTM CRS)."""

    path: Path
    epsg: int
    bounds: BBox  # left, bottom, right, top in the product CRS
    width: int
    height: int
    resolution: float  # pixel size in CRS units: the scene's 10 m grid pixel / scale
    bands: tuple[str, ...] = OUTPUT_BANDS


@dataclass(frozen=True)
class _Job:
    """Everything a tile needs to know, fixed for one product."""

    reader: SceneReader
    model: SRModel
    aoi: BaseGeometry  # in the scene CRS, prepared
    window: Window  # the product's footprint on the fine grid
    transform: Affine  # the product's output grid
    scale: int
    halo_px: int


def _check_arguments(model: SRModel, scale: int, tile_px: int, halo_px: int) -> None:
    if scale not in model.scales:
        raise InvalidInput(f"Model {model.name} supports scales {list(model.scales)}, not {scale}.")
    if tile_px < 2 or tile_px % 2 or halo_px < 0 or halo_px % 2:
        raise InvalidInput(
            f"tile_px must be a positive even number and halo_px an even number >= 0 "
            f"(got {tile_px} and {halo_px})."
        )


def _tags(scene: Scene, model: SRModel, scale: int, offset_dn: int) -> dict[str, str]:
    return {
        "DEEPRES_MODEL": str(model.name),
        "DEEPRES_MODEL_VERSION": str(model.version),
        "DEEPRES_SCALE": str(scale),
        "DEEPRES_SCENE_ID": scene.id,
        "DEEPRES_DATE": scene.date.isoformat(),
        "DEEPRES_OFFSET_REMOVED_DN": str(offset_dn),
        "TIFFTAG_COPYRIGHT": f"Contains modified Copernicus Sentinel data {scene.date.year}",
    }


def _render(job: _Job, tile: Tile) -> tuple[Window, UInt16Array] | None:
    """The uint16 block one tile contributes and where it goes; None when it adds no data."""
    s, halo = job.scale, job.halo_px
    height, width = int(tile.core.height), int(tile.core.width)
    row, col = tile.core_offset(job.window)
    target = Window(col * s, row * s, width * s, height * s)
    bands = job.reader.read(tile.read)
    keep = bands.crop(halo, halo, height, width).valid_at(s)
    if not keep.any():
        return None
    target_transform = window_transform(target, job.transform)
    bounds = window_bounds(target, job.transform)
    if not job.aoi.contains(shapely.box(*bounds)):
        keep &= geometry_mask(
            [job.aoi], out_shape=keep.shape, transform=target_transform, invert=True
        )
        if not keep.any():
            return None
    sr = job.model.upscale(bands.b10, bands.b20, s)
    expected = (len(OUTPUT_BANDS), int(tile.read.height) * s, int(tile.read.width) * s)
    if sr.shape != expected:
        raise ValueError(f"Model {job.model.name} returned {sr.shape}, expected {expected}.")
    core = sr[:, halo * s : (halo + height) * s, halo * s : (halo + width) * s]
    np.rint(core, out=core)
    np.clip(core, 1, 65535, out=core)  # a real 0 DN must not turn into nodata
    block = core.astype(np.uint16)
    block[:, ~keep] = 0
    return target, block


def _fill(dst: Any, job: _Job, tile_px: int) -> bool:
    """Writes every tile into `dst`; True when at least one pixel holds data."""
    wrote = False
    grid: SceneGrid = job.reader.grid
    for tile in decompose(job.window, grid, job.aoi, tile_px=tile_px, halo_px=job.halo_px):
        rendered = _render(job, tile)
        if rendered is not None:
            target, block = rendered
            dst.write(block, window=target)
            wrote = True
    return wrote


def _staging_profile(grid: SceneGrid, window: Window, scale: int) -> dict[str, Any]:
    return {
        "driver": "GTiff",
        "width": int(window.width) * scale,
        "height": int(window.height) * scale,
        "count": len(OUTPUT_BANDS),
        "dtype": "uint16",
        "crs": grid.crs,
        "transform": window_transform(window, grid.transform_10m) @ Affine.scale(1 / scale),
        "nodata": 0,
        "tiled": True,
        "blockxsize": BLOCK_PX,
        "blockysize": BLOCK_PX,
        "interleave": "pixel",
        "sparse_ok": True,  # blocks no tile touches stay unwritten and read back as nodata
        "bigtiff": "IF_SAFER",
    }


def process_scene(
    scene: Scene,
    aoi_wgs84: BaseGeometry,
    model: SRModel,
    scale: int,
    out_path: Path,
    *,
    tile_px: int = 512,
    halo_px: int = 16,
    tags: Mapping[str, str] | None = None,
) -> ProductInfo | None:
    """The product written to `out_path` for `scene` over the AOI; None when nothing overlaps.

    `aoi_wgs84` is a shapely geometry in lon/lat; `model` an `SRModel`. The COG is in the scene's
    CRS at the fine-grid pixel size / `scale`, ten bands in `OUTPUT_BANDS` order as uint16 DN with
    the L2A offset removed, and 0 (nodata) outside the AOI, outside the scene and where the scene
    holds no data. `tile_px` (fine-grid pixels) and `halo_px` (overlap read on every side, so
    that tiles join without seams) bound the memory used, whatever the AOI size. Only the part
    of the AOI inside the scene is covered: an AOI across tiles takes one call per scene.
    """
    _check_arguments(model, scale, tile_px, halo_px)
    out_path = Path(out_path)
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_BYTES, GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        with SceneReader(scene) as reader:
            grid = reader.grid
            epsg = grid.crs.to_epsg()
            if epsg is None:
                raise SceneReadError(f"Scene {scene.id} is in a CRS without an EPSG code.")
            aoi = to_crs(aoi_wgs84, epsg)
            shapely.prepare(aoi)
            window = snapped_window(grid, aoi)
            if window is None:
                return None
            profile = _staging_profile(grid, window, scale)
            job = _Job(reader, model, aoi, window, profile["transform"], scale, halo_px)
            all_tags = _tags(scene, model, scale, reader.offset_dn) | dict(tags or {})
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".deepres-", dir=out_path.parent) as tmp:
                staging, product = Path(tmp) / "staging.tif", Path(tmp) / "product.tif"
                with rasterio.open(staging, "w", **profile) as dst:
                    dst.update_tags(**all_tags)
                    for i, band in enumerate(OUTPUT_BANDS, start=1):
                        dst.set_band_description(i, band)
                    wrote = _fill(dst, job, tile_px)
                if not wrote:
                    return None
                write_cog(staging, product, blocksize=BLOCK_PX)
                os.replace(product, out_path)
    width, height = profile["width"], profile["height"]
    t: Affine = profile["transform"]
    return ProductInfo(
        path=out_path,
        epsg=epsg,
        bounds=(t.c, t.f + t.e * height, t.c + t.a * width, t.f),
        width=width,
        height=height,
        resolution=float(t.a),
    )
