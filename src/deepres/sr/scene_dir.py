"""Scene folders (`B02.tif` ... `B12.tif`, native resolution) in, one multiband GeoTIFF out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.windows import Window

from deepres.bands import BANDS_10M, BANDS_20M, OUTPUT_BANDS
from deepres.errors import InvalidInput, SceneReadError
from deepres.sr.base import FloatArray, SRModel, context_px

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


def _blocks(n: int, block: int) -> list[tuple[int, int]]:
    return [(s, min(s + block, n)) for s in range(0, n, block)]


def upscale_scene(
    model: SRModel,
    scene: SceneBands,
    out_path: Path,
    scale: int,
    *,
    dtype: str = "uint16",
    block: int = BLOCK_PX,
) -> tuple[int, int]:
    """Write all ten bands at the 10 m grid / `scale` to a tiled GeoTIFF; returns (rows, cols).

    The scene is processed in blocks of `block` 10 m pixels, each read with a context margin
    that is cut off again, so memory stays bounded and blocks meet without seams.
    """
    if scale not in model.scales:
        raise InvalidInput(f"Model {model.name} supports scales {model.scales}, not {scale}.")
    margin = context_px(model, MIN_MARGIN_PX)
    _, h, w = scene.b10.shape
    t = scene.transform
    profile = {
        "driver": "GTiff",
        "height": h * scale,
        "width": w * scale,
        "count": 10,
        "dtype": dtype,
        "crs": scene.crs,
        "transform": Affine(t.a / scale, t.b, t.c, t.d, t.e / scale, t.f),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(out_path, "w", **profile) as dst:
        for i, band in enumerate(OUTPUT_BANDS, start=1):
            dst.set_band_description(i, band)
        dst.update_tags(
            DEEPRES_MODEL=model.name, DEEPRES_MODEL_VERSION=model.version, DEEPRES_SCALE=str(scale)
        )
        for y0, y1 in _blocks(h, block):
            for x0, x1 in _blocks(w, block):
                ry0, rx0 = max(0, y0 - margin), max(0, x0 - margin)
                ry1, rx1 = min(h, y1 + margin), min(w, x1 + margin)
                out = model.upscale(
                    scene.b10[:, ry0:ry1, rx0:rx1],
                    scene.b20[:, ry0 // 2 : ry1 // 2, rx0 // 2 : rx1 // 2],
                    scale,
                )
                out = out[
                    :,
                    (y0 - ry0) * scale : (y1 - ry0) * scale,
                    (x0 - rx0) * scale : (x1 - rx0) * scale,
                ]
                if dtype == "uint16":
                    out = np.clip(np.rint(out), 0, 65535)
                dst.write(
                    out.astype(dtype),
                    window=Window(x0 * scale, y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale),
                )
    return h * scale, w * scale
