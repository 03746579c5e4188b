"""Synthetic Sentinel-2 scene folders on demand: small real GeoTIFFs, any CRS, nodata or size.

The factory behind conftest's `synthetic_scene` fixture (rio-tiler's habit: tests build the
rasters they need instead of reading a shared folder), also used by `bench/`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine

from deepres.bands import BANDS_10M, BANDS_20M, OUTPUT_BANDS
from deepres.catalog.scene import Scene


@dataclass(frozen=True)
class SyntheticScene:
    """Where the band files are, the Scene that describes them, and their grid."""

    folder: Path
    scene: Scene
    epsg: int
    left: float
    top: float
    side_px: int  # of the 10 m grid
    pixel_m: float  # of the 10 m grid


def field(
    size: int, rng: np.random.Generator, low: float = 300, high: float = 5000
) -> npt.NDArray[np.uint16]:
    """Smooth fields plus pixel noise: compresses like imagery, not like a constant."""
    cell = max(2, size // 40)
    coarse = rng.uniform(low, high, (size // cell + 2, size // cell + 2))
    smooth = np.kron(coarse, np.ones((cell, cell)))[:size, :size]
    return np.clip(smooth + rng.normal(0, 150, (size, size)), 1, 10000).astype(np.uint16)


def natural_field(size: int, seed: int = 0, slope: float = -3.0) -> npt.NDArray[np.float32]:
    """A periodic field with a power-law spectrum (like imagery): P(f) ~ f^slope, about 2000 DN."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    spectrum = radius ** (slope / 2) * np.exp(2j * np.pi * rng.random((size, size)))
    spectrum[0, 0] = 0
    field = np.real(np.fft.ifft2(spectrum))
    return (2000 + 400 * field / field.std()).astype(np.float32)


def fourier_shift(img: npt.NDArray[np.float32], dy: float, dx: float) -> npt.NDArray[np.float32]:
    """`img` (..., H, W) moved exactly by (dy, dx) px, periodically: out(y, x) = img(y-dy, x-dx)."""
    ky = np.fft.fftfreq(img.shape[-2])[:, None]
    kx = np.fft.fftfreq(img.shape[-1])[None, :]
    phase = np.exp(-2j * np.pi * (ky * dy + kx * dx))
    return np.real(np.fft.ifft2(np.fft.fft2(img) * phase)).astype(np.float32)


def displaced_20m(fine: npt.NDArray[np.float32], dy: float, dx: float) -> npt.NDArray[np.float32]:
    """A 10 m field as a 20 m band that sits (dy, dx) 20 m pixels off the 10 m grid sees it."""
    from deepres.sr.registration import box_to_20m

    return box_to_20m(fourier_shift(fine, 2 * dy, 2 * dx))


def write_scene(
    folder: Path,
    *,
    side_px: int = 256,
    epsg: int = 32629,
    left: float = 600000.0,
    top: float = 5800000.0,
    pixel_m: float = 10.0,
    nodata_left_px: int = 0,
    scl_class: int | None = 4,
    seed: int = 7,
    blocksize: int = 256,
    baseline: str | None = "05.10",
    offset_applied: bool | None = True,
    when: dt.datetime | None = None,
) -> SyntheticScene:
    """Write one tiled, DEFLATE GeoTIFF per band (10 m and 20 m grids, same origin) and SCL.

    `nodata_left_px` columns of the 10 m grid (and their 20 m share) are 0, as at a swath
    edge; `scl_class` fills the scene classification layer (None: no SCL file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    grids = ((BANDS_10M, side_px, pixel_m, 1), (BANDS_20M, side_px // 2, 2 * pixel_m, 2))
    for bands, size, pixel, ratio in grids:
        profile = {
            "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint16",
            "crs": f"EPSG:{epsg}", "transform": Affine(pixel, 0, left, 0, -pixel, top),
            "nodata": 0, "tiled": True, "blockxsize": min(blocksize, 512),
            "blockysize": min(blocksize, 512), "compress": "deflate", "predictor": 2,
        }  # fmt: skip
        for band in bands:
            data = field(size, rng)
            data[:, : nodata_left_px // ratio] = 0
            with rasterio.open(folder / f"{band}.tif", "w", **profile) as dst:
                dst.write(data, 1)
        if ratio == 2 and scl_class is not None:
            scl = np.full((size, size), scl_class, np.uint8)
            scl[:, : nodata_left_px // 2] = 0
            with rasterio.open(folder / "SCL.tif", "w", **(profile | {"dtype": "uint8"})) as dst:
                dst.write(scl, 1)
    scene = scene_of(folder, epsg=epsg, baseline=baseline, offset_applied=offset_applied, when=when)
    return SyntheticScene(folder, scene, epsg, left, top, side_px, pixel_m)


def scene_of(
    folder: Path,
    *,
    epsg: int = 32629,
    baseline: str | None = "05.10",
    offset_applied: bool | None = True,
    when: dt.datetime | None = None,
) -> Scene:
    """The Scene of a folder `write_scene` wrote (SCL included when the file is there)."""
    assets = {band: str(folder / f"{band}.tif") for band in OUTPUT_BANDS}
    if (folder / "SCL.tif").is_file():
        assets["SCL"] = str(folder / "SCL.tif")
    return Scene(
        id=f"S2A_SYNTH_{folder.name}",
        datetime=when or dt.datetime(2024, 6, 1, 11, 0, tzinfo=dt.UTC),
        mgrs="29UPU",
        epsg=epsg,
        assets=assets,
        processing_baseline=baseline,
        boa_offset_applied=offset_applied,
    )
