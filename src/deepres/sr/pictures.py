"""Side-by-side PNG crops to judge a model by eye: input (nearest), model, bicubic.

Two rows, true colour (B04 B03 B02) and a SWIR composite (B12 B8A B05); three columns, the
input blown up with nearest neighbour (its real pixels), the model and the bicubic baseline.
Each row has one stretch, taken from the input crop, so brightness differences between the
columns are the models', not the display's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from deepres.bands import OUTPUT_BANDS, RGB_BANDS, SWIR_BANDS
from deepres.sr.base import FloatArray, SRModel
from deepres.sr.bicubic import Bicubic
from deepres.sr.registration import co_registered

UInt8Array = npt.NDArray[np.uint8]
GAP_PX = 6
STRETCH = (1.0, 99.0)


@dataclass(frozen=True)
class Crop:
    """A window of the 10 m grid: top-left row/column and side, all even."""

    row: int
    col: int
    size: int

    def of(self, b10: FloatArray, b20: FloatArray) -> tuple[FloatArray, FloatArray]:
        r, c, n = self.row // 2 * 2, self.col // 2 * 2, self.size // 2 * 2
        return b10[:, r : r + n, c : c + n], b20[:, r // 2 : (r + n) // 2, c // 2 : (c + n) // 2]


def nearest(b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray:
    """(10, H*s, W*s): every band blown up by pixel repetition, its native pixels made visible."""
    hi = b10.repeat(scale, axis=1).repeat(scale, axis=2)
    lo = b20.repeat(2 * scale, axis=1).repeat(2 * scale, axis=2)
    return np.concatenate([hi, lo], axis=0).astype(np.float32)


def _composite(stack: FloatArray, bands: tuple[str, str, str]) -> FloatArray:
    return np.stack([stack[OUTPUT_BANDS.index(b)] for b in bands])


def _stretch(rgb: FloatArray, lo: FloatArray, hi: FloatArray) -> UInt8Array:
    scaled = (rgb - lo[:, None, None]) / np.maximum(hi - lo, 1e-6)[:, None, None]
    return np.asarray(np.clip(scaled * 255.0 + 0.5, 0, 255), np.uint8)


def panel_rows(
    model: SRModel, b10: FloatArray, b20: FloatArray, scale: int, context: int = 0
) -> UInt8Array:
    """(3, H, W) RGB image: rows RGB and SWIR, columns input / model / bicubic.

    `context` 10 m pixels around the crop are fed to the models and cut off again, so the
    crop shows no edge effects.
    """
    outputs = [nearest(b10, b20, scale), model.upscale(b10, b20, scale)]
    outputs.append(Bicubic().upscale(b10, b20, scale))
    cut = context * scale
    if cut:
        outputs = [o[:, cut:-cut, cut:-cut] for o in outputs]
    rows = []
    for bands in (RGB_BANDS, SWIR_BANDS):
        composites = [_composite(o, bands) for o in outputs]
        ref = composites[0].reshape(3, -1)
        lo, hi = np.percentile(ref, STRETCH[0], axis=1), np.percentile(ref, STRETCH[1], axis=1)
        tiles = [_stretch(c, lo, hi) for c in composites]
        gap = np.full((3, tiles[0].shape[1], GAP_PX), 255, np.uint8)
        rows.append(np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=2))
    hgap = np.full((3, GAP_PX, rows[0].shape[2]), 255, np.uint8)
    return np.concatenate([rows[0], hgap, rows[1]], axis=1)


def encode_png(rgb: UInt8Array) -> bytes:
    """The PNG bytes of a (3, H, W) uint8 image (a picture: no georeference, no warning)."""
    with warnings.catch_warnings(), MemoryFile() as mem:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with mem.open(
            driver="PNG", width=rgb.shape[2], height=rgb.shape[1], count=3, dtype="uint8"
        ) as dst:
            dst.write(rgb)
        return bytes(mem.read())


def compare_png(
    model: SRModel, b10: FloatArray, b20: FloatArray, crop: Crop, scale: int, context: int = 16
) -> bytes:
    """PNG of `crop` (plus `context` px fed but not shown) as `panel_rows` lays it out."""
    model = co_registered(model, b10, b20)  # measured on the whole scene, as the service does
    grown = Crop(crop.row - context, crop.col - context, crop.size + 2 * context)
    if grown.row < 0 or grown.col < 0:
        raise ValueError(f"the crop needs {context} px of context inside the scene")
    w10, w20 = grown.of(b10, b20)
    if w10.shape[1:] != (grown.size, grown.size):
        raise ValueError(f"the crop {crop} with its context does not fit in the scene")
    return encode_png(panel_rows(model, w10, w20, scale, context))
