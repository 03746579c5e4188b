"""Cloud cover *inside an AOI*, counted on a scene's scene classification layer (SCL)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, WindowError
from shapely.geometry.base import BaseGeometry

from deepres.catalog.scene import Scene
from deepres.errors import SceneReadError

#: SCL classes counted as cloud: 3 cloud shadow, 8 cloud medium prob., 9 cloud high prob.,
#: 10 thin cirrus.
CLOUD_CLASSES: tuple[int, ...] = (3, 8, 9, 10)
#: SCL classes that say nothing about the ground: 0 no data, 1 saturated or defective.
INVALID_CLASSES: tuple[int, ...] = (0, 1)
#: Largest side, in pixels, read at full resolution. A wider window is read decimated by the
#: smallest power of two that brings it under this, so GDAL serves it from the matching COG
#: overview (SCL overviews are nearest-neighbour, so classes stay classes). 1024 px of 20 m SCL
#: is 20.5 km, wider than a square AOI of the largest size the API accepts (25,000 ha, 15.8 km),
#: so compact AOIs are counted at full resolution; only long, thin ones or library calls over
#: whole tiles use an overview (each overview pixel stands for decimation² pixels).
MAX_FULL_RES_SIDE = 1024

#: GDAL settings for reading COGs over HTTP: no directory listing, merged range requests.
_GDAL_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
}


@dataclass(frozen=True)
class CloudCover:
    """Cloud over the AOI: `percent` = 100 x `cloudy_pixels` / `valid_pixels` (0-100).

    `window` is the (col_off, row_off, width, height) of the SCL read, in full-resolution pixels;
    `decimation` is the overview factor it was read at (1: full resolution).
    """

    percent: float
    valid_pixels: int
    cloudy_pixels: int
    window: tuple[int, int, int, int]
    decimation: int = 1


def aoi_cloud_cover(scene: Scene, aoi_wgs84: BaseGeometry) -> CloudCover | None:
    """Give the cloud cover of the AOI in `scene`, or None where the AOI has no valid SCL pixel.

    Only the AOI's window of the SCL asset is read. Raises `SceneReadError` when the scene has no
    SCL asset or the file cannot be read.
    """
    href = scene.assets.get("SCL")
    if href is None:
        raise SceneReadError(f"Scene {scene.id} has no SCL asset, so its cloud cover is unknown.")
    try:
        with rasterio.Env(**_GDAL_ENV), rasterio.open(href) as src:
            aoi = _to_crs(aoi_wgs84, src.crs)
            window = _aoi_window(aoi, src.transform, src.width, src.height)
            if window is None:
                return None
            decimation = _decimation(window)
            shape = (math.ceil(window.height / decimation), math.ceil(window.width / decimation))
            scl = src.read(1, window=window, out_shape=shape, resampling=Resampling.nearest)
            transform = (
                src.transform
                @ Affine.translation(window.col_off, window.row_off)
                @ Affine.scale(window.width / shape[1], window.height / shape[0])
            )
            inside = _inside(aoi, shape, transform)
    except (RasterioError, OSError) as exc:
        raise SceneReadError(
            f"Could not read the SCL of scene {scene.id} at {href}: {exc}", detail=str(exc)
        ) from exc
    return _count(scl, inside, window, decimation)


def _to_crs(geometry: BaseGeometry, crs: CRS) -> BaseGeometry:
    to_raster = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(geometry, to_raster.transform, interleaved=False)


def _aoi_window(
    aoi: BaseGeometry, transform: Affine, width: int, height: int
) -> rasterio.windows.Window | None:
    """The whole-pixel window around the AOI's bounds, clipped to the raster; None if outside."""
    if aoi.is_empty:
        return None
    raw = rasterio.windows.from_bounds(*aoi.bounds, transform=transform)
    col0, row0 = math.floor(raw.col_off), math.floor(raw.row_off)
    col1 = math.ceil(raw.col_off + raw.width)
    row1 = math.ceil(raw.row_off + raw.height)
    outer = rasterio.windows.Window(col0, row0, max(col1 - col0, 1), max(row1 - row0, 1))
    try:
        clipped = outer.intersection(rasterio.windows.Window(0, 0, width, height))
    except WindowError:
        return None
    if clipped.width < 1 or clipped.height < 1:
        return None
    return clipped


def _decimation(window: rasterio.windows.Window) -> int:
    factor = 1
    while max(window.width, window.height) / factor > MAX_FULL_RES_SIDE:
        factor *= 2
    return factor


def _inside(aoi: BaseGeometry, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Pixels whose centre lies in the AOI; every touched pixel for an AOI under one pixel."""
    inside: np.ndarray = rasterio.features.geometry_mask(
        [aoi], out_shape=shape, transform=transform, all_touched=False, invert=True
    )
    if not inside.any():
        inside = rasterio.features.geometry_mask(
            [aoi], out_shape=shape, transform=transform, all_touched=True, invert=True
        )
    return inside


def _count(
    scl: np.ndarray, inside: np.ndarray, window: rasterio.windows.Window, decimation: int
) -> CloudCover | None:
    valid = inside & ~np.isin(scl, INVALID_CLASSES)
    valid_pixels = int(valid.sum())
    if valid_pixels == 0:
        return None
    cloudy_pixels = int((valid & np.isin(scl, CLOUD_CLASSES)).sum())
    return CloudCover(
        percent=100.0 * cloudy_pixels / valid_pixels,
        valid_pixels=valid_pixels,
        cloudy_pixels=cloudy_pixels,
        window=(int(window.col_off), int(window.row_off), int(window.width), int(window.height)),
        decimation=decimation,
    )
