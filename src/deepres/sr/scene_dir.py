"""Scene folders (`B02.tif` ... `B12.tif`, native resolution) read whole: evaluation, training.

The service and `deepres sr upscale` read scenes window by window instead (`raster.reader`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError

from deepres.bands import BANDS_10M, BANDS_20M, OUTPUT_BANDS
from deepres.errors import InvalidInput, SceneReadError
from deepres.sr.base import FloatArray

BLOCK_PX = 512  # 10 m pixels per side of one output block
MIN_MARGIN_PX = 32


@dataclass(frozen=True)
class SceneBands:
    """The ten bands of a scene directory as DN, with the 10 m grid they sit on."""

    b10: FloatArray  # (4, H, W)
    b20: FloatArray  # (6, H/2, W/2)
    crs: Any
    transform: Affine  # of the 10 m grid


def _read(path: Path, offset_dn: float) -> tuple[FloatArray, Any, Affine]:
    try:
        with rasterio.open(path) as ds:
            data = ds.read(1).astype(np.float32)
            crs, transform = ds.crs, ds.transform
    except RasterioError as exc:
        raise SceneReadError(f"Cannot read {path}: {exc}") from exc
    if offset_dn:
        data = np.maximum(data - np.float32(offset_dn), 0.0)
    return data, crs, transform


def read_scene_dir(scene_dir: Path, *, offset_dn: float = 0.0) -> SceneBands:
    """The ten bands of `scene_dir`, cropped so that the 20 m grid is exactly half the 10 m one.

    `offset_dn` is subtracted from every band (1000 for L2A from baseline 04.00 whose offset
    is still in the pixels).
    """
    missing = [b for b in OUTPUT_BANDS if not (scene_dir / f"{b}.tif").is_file()]
    if missing:
        raise InvalidInput(f"{scene_dir} lacks {', '.join(f'{b}.tif' for b in missing)}.")
    fine = [_read(scene_dir / f"{b}.tif", offset_dn) for b in BANDS_10M]
    coarse = [_read(scene_dir / f"{b}.tif", offset_dn) for b in BANDS_20M]
    h = min(min(a.shape[0] for a, _, _ in fine), 2 * min(a.shape[0] for a, _, _ in coarse))
    w = min(min(a.shape[1] for a, _, _ in fine), 2 * min(a.shape[1] for a, _, _ in coarse))
    h, w = h // 2 * 2, w // 2 * 2
    if h == 0 or w == 0:
        raise InvalidInput(f"{scene_dir}: the bands are too small to super-resolve.")
    b10 = np.stack([a[:h, :w] for a, _, _ in fine])
    b20 = np.stack([a[: h // 2, : w // 2] for a, _, _ in coarse])
    return SceneBands(b10, b20, fine[0][1], fine[0][2])
