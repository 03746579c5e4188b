"""PNG quicklooks of a product and of its source scene, on one pixel grid for before/after views.

A quicklook is true colour (B04 B03 B02) with a 2-98 % percentile stretch per band computed on
the valid pixels of the *input*, nodata transparent (RGBA). A result is shown with its input's
stretch, so that the model, bicubic and the input of one date are compared on one scale: a
brighter or more contrasted result is the result's doing, not the stretch's.

The result quicklook reads the product COG at reduced size (GDAL picks its overviews); the input
quicklook resamples the source scene's bands (nearest) onto the same grid (same CRS, bounds and
size) and masks them to the AOI, so the two images align pixel for pixel.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.features import geometry_mask
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT
from shapely.geometry.base import BaseGeometry

from deepres.bands import OUTPUT_BANDS
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.geodesy import to_crs

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]

#: Longest side of a quicklook, in pixels, unless the caller asks for another.
MAX_SIDE = 1024
#: The most a caller may ask for: enough to see 2.5 m pixels one for one over 10 km.
LARGEST_SIDE = 4096
#: Percentiles of the valid pixels mapped to black and white.
STRETCH = (2.0, 98.0)
#: True colour, in display order.
RGB_BANDS: tuple[str, str, str] = ("B04", "B03", "B02")

# Remote COGs (signed S3 or local-storage links): no directory listing, no HEAD request (a
# presigned GET link refuses HEAD), a few retries.
_GDAL_REMOTE = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
}


@dataclass(frozen=True)
class QuicklookGrid:
    """The pixel grid both quicklooks of a product share: the product's bounds, fewer pixels."""

    epsg: int
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in EPSG:epsg
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """The grid's affine transform."""
        transform: Affine = from_bounds(*self.bounds, self.width, self.height)
        return transform

    @property
    def crs(self) -> CRS:
        """The grid's CRS."""
        return CRS.from_epsg(self.epsg)


def quicklook_grid(
    epsg: int,
    bounds: tuple[float, float, float, float],
    width: int,
    height: int,
    max_side: int = MAX_SIDE,
) -> QuicklookGrid:
    """The quicklook grid of a `width` x `height` product, shrunk by a whole factor to fit."""
    if width < 1 or height < 1 or max_side < 1:
        raise InvalidInput(f"A quicklook needs a positive size (got {width}x{height}/{max_side}).")
    factor = max(1, math.ceil(max(width, height) / max_side))
    return QuicklookGrid(
        epsg, bounds, max(1, math.ceil(width / factor)), max(1, math.ceil(height / factor))
    )


def stretch_limits(rgb: FloatArray, valid: BoolArray) -> FloatArray | None:
    """(3, 2) per-band black and white points: the `STRETCH` percentiles over `valid`."""
    if not valid.any():
        return None
    return np.array([np.percentile(band[valid], STRETCH) for band in rgb], np.float32)


def stretch_rgba(rgb: FloatArray, valid: BoolArray, limits: FloatArray | None = None) -> UInt8Array:
    """(4, H, W) uint8: each band stretched between `limits` (default: its own), alpha = valid.

    Valid pixels get values 1-255 and alpha 255; the others are 0 and fully transparent.
    """
    out = np.zeros((4, *valid.shape), np.uint8)
    if limits is None:
        limits = stretch_limits(rgb, valid)
    if limits is None:
        return out
    for i, band in enumerate(rgb):
        lo, hi = float(limits[i, 0]), float(limits[i, 1])
        span = hi - lo if hi > lo else 1.0
        scaled = np.clip((band - lo) / span, 0.0, 1.0) * 254.0 + 1.0
        out[i] = np.where(valid, np.round(scaled), 0).astype(np.uint8)
    out[3] = np.where(valid, 255, 0).astype(np.uint8)
    return out


def encode_png(rgba: UInt8Array) -> bytes:
    """The PNG bytes of a (4, H, W) uint8 RGBA array."""
    count, height, width = rgba.shape
    with warnings.catch_warnings():
        # A quicklook is a picture, not a map: it carries no georeferencing on purpose.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(
                driver="PNG", width=width, height=height, count=count, dtype="uint8"
            ) as dst:
                dst.write(rgba)
            return bytes(mem.read())


def _band_indexes(ds: rasterio.io.DatasetReader) -> list[int]:
    """1-based indexes of B04 B03 B02, by band description, else by the product's band order."""
    described = {d: i for i, d in enumerate(ds.descriptions, start=1) if d}
    if all(b in described for b in RGB_BANDS):
        return [described[b] for b in RGB_BANDS]
    if ds.count >= len(OUTPUT_BANDS):
        return [OUTPUT_BANDS.index(b) + 1 for b in RGB_BANDS]
    raise SceneReadError(f"The product has {ds.count} bands and no B04 B03 B02 descriptions.")


def read_result_rgb(href: str | Path, grid: QuicklookGrid) -> tuple[FloatArray, BoolArray]:
    """B04 B03 B02 of a product COG (path or URL) on `grid`, and where they hold data."""
    try:
        with rasterio.Env(**_GDAL_REMOTE), rasterio.open(href) as ds:
            if ds.crs is None or ds.crs.to_epsg() != grid.epsg:
                raise SceneReadError(f"The product is in {ds.crs}, not EPSG:{grid.epsg}.")
            data = ds.read(
                _band_indexes(ds),
                out_shape=(3, grid.height, grid.width),
                resampling=Resampling.average,  # GDAL leaves nodata out of the average
            )
            nodata = 0 if ds.nodata is None else ds.nodata
    except RasterioError as exc:
        raise SceneReadError(f"Cannot read the product for its quicklook: {exc}") from exc
    valid = np.logical_and.reduce(data != nodata)
    return data.astype(np.float32), valid


def read_input_rgb(
    scene: Scene, grid: QuicklookGrid, aoi_wgs84: BaseGeometry
) -> tuple[FloatArray, BoolArray]:
    """B04 B03 B02 of `scene` (offset removed) resampled onto `grid`, valid inside the AOI only."""
    valid: BoolArray = geometry_mask(
        [to_crs(aoi_wgs84, grid.epsg)],
        out_shape=(grid.height, grid.width),
        transform=grid.transform,
        invert=True,
    )
    bands: list[FloatArray] = []
    for name in RGB_BANDS:
        href = scene.assets.get(name)
        if href is None:
            raise SceneReadError(f"Scene {scene.id} has no {name} asset.")
        try:
            with rasterio.Env(**_GDAL_REMOTE), rasterio.open(href) as ds:
                nodata = 0 if ds.nodata is None else ds.nodata
                with WarpedVRT(
                    ds,
                    crs=grid.crs,
                    transform=grid.transform,
                    width=grid.width,
                    height=grid.height,
                    resampling=Resampling.nearest,
                    src_nodata=nodata,
                    nodata=nodata,
                ) as vrt:
                    data = vrt.read(1)
        except RasterioError as exc:
            raise SceneReadError(f"Scene {scene.id}: cannot read {name} at {href}: {exc}") from exc
        valid &= data != nodata
        reflectance = data.astype(np.float32)
        if scene.offset_dn:
            reflectance = np.maximum(reflectance - scene.offset_dn, 0.0)
        bands.append(reflectance)
    return np.stack(bands), valid


def result_quicklook(
    href: str | Path, grid: QuicklookGrid, limits: FloatArray | None = None
) -> bytes:
    """The PNG quicklook of a product COG at `href` (path or URL) on `grid`.

    `limits` is the input's stretch (`input_stretch`); without it the result's own is used.
    """
    rgb, valid = read_result_rgb(href, grid)
    return encode_png(stretch_rgba(rgb, valid, limits))


def input_stretch(scene: Scene, grid: QuicklookGrid, aoi_wgs84: BaseGeometry) -> FloatArray | None:
    """The stretch of the input quicklook, for showing a result on the same scale."""
    return stretch_limits(*read_input_rgb(scene, grid, aoi_wgs84))


def input_quicklook(scene: Scene, grid: QuicklookGrid, aoi_wgs84: BaseGeometry) -> bytes:
    """The PNG quicklook of the source `scene` over the AOI, on the product's quicklook `grid`."""
    rgb, valid = read_input_rgb(scene, grid, aoi_wgs84)
    return encode_png(stretch_rgba(rgb, valid))
