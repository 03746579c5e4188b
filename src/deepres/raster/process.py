"""One date of one MGRS tile over an AOI: read, super-resolve tile by tile, clip, write a COG.

This is the one read -> SR -> write pipeline: the service's workers and `deepres sr upscale`
both call `process_scene`. Tiles are read one ahead on a thread (GDAL releases the GIL) and
written behind on another, so reading and writing overlap the model, which has the cores.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
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

from deepres.bands import OUTPUT_BANDS, REFLECTANCE_SCALE
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.geodesy import to_crs
from deepres.raster.cog import write_cog
from deepres.raster.reader import BandWindow, SceneGrid, SceneReader
from deepres.raster.tiling import (
    Tile,
    decompose,
    snapped_window,
    window_bounds,
    window_transform,
)
from deepres.sr.base import SRModel, context_px, fitted_tile_px
from deepres.sr.registration import SAMPLE_PX, CoRegistered, co_registered, fuses
from deepres.types import BBox

UInt16Array = npt.NDArray[np.uint16]

# The staging GeoTIFF's block size (also the COG's): one output tile covers whole blocks.
BLOCK_PX = 512
# GDAL's block cache holds dirty staging blocks; bounding it bounds memory whatever the AOI size.
_GDAL_CACHE_BYTES = 256 * 1024 * 1024
# The GDAL options of a product, set on every thread that touches it (rasterio's Env is per
# thread).
_GDAL_OPTIONS = {"GDAL_CACHEMAX": _GDAL_CACHE_BYTES, "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
#: Halo read around each tile when the model asks for less: tiles join without seams.
MIN_HALO_PX = 16
#: `progress(tiles_done, tiles_total)` after each tile.
Progress = Callable[[int, int], None]


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
    #: (down, right) in 20 m pixels the 20 m bands were moved onto the 10 m grid; None: not moved
    shift_20m_px: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Plan:
    """Everything a tile needs to know, fixed for one product."""

    reader: SceneReader
    model: SRModel
    aoi: BaseGeometry | None  # in the scene CRS, prepared; None: the whole scene
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


def _co_registered(model: SRModel, reader: SceneReader, window: Window) -> SRModel:
    """`model`, co-registered when it fuses and the scene's 20 m grid is displaced.

    The displacement is measured once, on a sample of the scene about the product's centre
    (`SAMPLE_PX` 20 m pixels a side where the scene has them), so every tile shares it.
    """
    if not fuses(model):
        return model
    grid = reader.grid
    side = 2 * SAMPLE_PX

    def start(centre: float, extent: int) -> int:
        return max(0, min(int(centre) - side // 2, extent - side)) // 2 * 2

    height, width = min(side, grid.height_10m // 2 * 2), min(side, grid.width_10m // 2 * 2)
    row = start(window.row_off + window.height / 2, grid.height_10m)
    col = start(window.col_off + window.width / 2, grid.width_10m)
    sample = reader.read(Window(col, row, width, height))
    return co_registered(model, sample.b10, sample.b20, sample.valid_20m)


def _shift_20m_px(model: SRModel) -> tuple[float, float] | None:
    if not isinstance(model, CoRegistered):
        return None
    return -model.offset.dy, -model.offset.dx


def _tags(scene: Scene, model: SRModel, scale: int, offset_dn: int) -> dict[str, str]:
    registration = {}
    if (shift := _shift_20m_px(model)) is not None:
        registration["DEEPRES_20M_SHIFT_PX"] = f"{shift[0]:.3f} {shift[1]:.3f}"
    return registration | {
        "DEEPRES_MODEL": str(model.name),
        "DEEPRES_MODEL_VERSION": str(model.version),
        "DEEPRES_SCALE": str(scale),
        "DEEPRES_SCENE_ID": scene.id,
        "DEEPRES_DATE": scene.date.isoformat(),
        "DEEPRES_OFFSET_REMOVED_DN": str(offset_dn),
        "TIFFTAG_COPYRIGHT": f"Contains modified Copernicus Sentinel data {scene.date.year}",
    }


def _render(plan: _Plan, tile: Tile, bands: BandWindow) -> tuple[Window, UInt16Array] | None:
    """The uint16 block one tile contributes and where it goes; None when it adds no data."""
    s, halo = plan.scale, plan.halo_px
    height, width = int(tile.core.height), int(tile.core.width)
    row, col = tile.core_offset(plan.window)
    target = Window(col * s, row * s, width * s, height * s)
    keep = bands.crop(halo, halo, height, width).valid_at(s)
    if not keep.any():
        return None
    target_transform = window_transform(target, plan.transform)
    bounds = window_bounds(target, plan.transform)
    if plan.aoi is not None and not plan.aoi.contains(shapely.box(*bounds)):
        keep &= geometry_mask(
            [plan.aoi], out_shape=keep.shape, transform=target_transform, invert=True
        )
        if not keep.any():
            return None
    sr = plan.model.upscale(bands.b10, bands.b20, s)
    expected = (len(OUTPUT_BANDS), int(tile.read.height) * s, int(tile.read.width) * s)
    if sr.shape != expected:
        raise ValueError(f"Model {plan.model.name} returned {sr.shape}, expected {expected}.")
    core = sr[:, halo * s : (halo + height) * s, halo * s : (halo + width) * s]
    np.rint(core, out=core)
    np.clip(core, 1, 65535, out=core)  # a real 0 DN must not turn into nodata
    block = core.astype(np.uint16)
    block[:, ~keep] = 0
    return target, block


def _in_env(call: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`call(*args, **kw)` under the product's GDAL options, on a thread of its own."""
    with rasterio.Env(**_GDAL_OPTIONS):
        return call(*args, **kw)


def _reads_ahead(plan: _Plan, tiles: list[Tile], pool: ThreadPoolExecutor) -> Iterator[BandWindow]:
    """The bands of each tile in turn, the next one read on `pool` while this one is used."""
    pending: Future[BandWindow] | None = None
    for i, tile in enumerate(tiles):
        current = pending.result() if pending else plan.reader.read(tile.read)
        if i + 1 < len(tiles):
            pending = pool.submit(_in_env, plan.reader.read, tiles[i + 1].read)
        yield current


def _fill(dst: Any, plan: _Plan, tile_px: int, progress: Progress | None) -> bool:
    """Writes every tile into `dst`; True when at least one pixel holds data.

    The reader and `dst` are each used by one thread at a time: reads run one tile ahead on
    the read thread, writes one tile behind on the write thread.
    """
    grid: SceneGrid = plan.reader.grid
    area = plan.aoi if plan.aoi is not None else shapely.box(*grid.bounds)
    tiles = list(decompose(plan.window, grid, area, tile_px=tile_px, halo_px=plan.halo_px))
    wrote = False
    with ThreadPoolExecutor(1) as reads, ThreadPoolExecutor(1) as writes:
        written: Future[None] | None = None
        for done, (tile, bands) in enumerate(
            zip(tiles, _reads_ahead(plan, tiles, reads), strict=True), 1
        ):
            rendered = _render(plan, tile, bands)
            if rendered is not None:
                if written is not None:
                    written.result()  # one block in flight: memory stays one tile
                target, block = rendered
                written = writes.submit(_in_env, dst.write, block, window=target)
                wrote = True
            if progress is not None:
                progress(done, len(tiles))
        if written is not None:
            written.result()
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
    aoi_wgs84: BaseGeometry | None,
    model: SRModel,
    scale: int,
    out_path: Path,
    *,
    tile_px: int = 512,
    halo_px: int | None = None,
    tags: Mapping[str, str] | None = None,
    offset_dn: int | None = None,
    progress: Progress | None = None,
) -> ProductInfo | None:
    """The product written to `out_path` for `scene` over the AOI; None when nothing overlaps.

    `aoi_wgs84` is a shapely geometry in lon/lat (None: the whole scene); `model` an `SRModel`.
    The COG is in the scene's CRS at the fine-grid pixel size / `scale`, ten bands in
    `OUTPUT_BANDS` order as uint16 DN with the L2A offset removed (`offset_dn` overrides the
    scene's own rule), band scale 0.0001 (reflectance), and 0 (nodata) outside the AOI, outside
    the scene and where the scene holds no data. `tile_px` (fine-grid pixels) and `halo_px`
    (overlap read on every side so that tiles join without seams; by default the model's
    context) bound the memory used, whatever the AOI size; a tile is made smaller where the model
    would otherwise cut it into several windows of its own. Only the part of the AOI inside the
    scene is covered: an AOI across tiles takes one call per scene.
    """
    halo_px = context_px(model, MIN_HALO_PX) if halo_px is None else halo_px
    tile_px = fitted_tile_px(model, tile_px, halo_px)
    _check_arguments(model, scale, tile_px, halo_px)
    out_path = Path(out_path)
    with rasterio.Env(**_GDAL_OPTIONS):
        with SceneReader(scene, offset_dn=offset_dn) as reader:
            grid = reader.grid
            epsg = grid.crs.to_epsg()
            if epsg is None:
                raise SceneReadError(f"Scene {scene.id} is in a CRS without an EPSG code.")
            aoi = None if aoi_wgs84 is None else to_crs(aoi_wgs84, epsg)
            if aoi is not None:
                shapely.prepare(aoi)
            window = snapped_window(grid, aoi if aoi is not None else shapely.box(*grid.bounds))
            if window is None:
                return None
            profile = _staging_profile(grid, window, scale)
            model = _co_registered(model, reader, window)
            plan = _Plan(reader, model, aoi, window, profile["transform"], scale, halo_px)
            all_tags = _tags(scene, model, scale, reader.offset_dn) | dict(tags or {})
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".deepres-", dir=out_path.parent) as tmp:
                staging, product = Path(tmp) / "staging.tif", Path(tmp) / "product.tif"
                with rasterio.open(staging, "w", **profile) as dst:
                    dst.update_tags(**all_tags)
                    for i, band in enumerate(OUTPUT_BANDS, start=1):
                        dst.set_band_description(i, band)
                    dst.scales = (REFLECTANCE_SCALE,) * len(OUTPUT_BANDS)
                    dst.offsets = (0.0,) * len(OUTPUT_BANDS)
                    wrote = _fill(dst, plan, tile_px, progress)
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
        shift_20m_px=_shift_20m_px(plan.model),
    )
