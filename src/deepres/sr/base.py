"""The contract every super-resolution model honours."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class SRModel(Protocol):
    """Turns the 10 m and 20 m bands of one window into all ten bands at 10 m / `scale`.

    Inputs are reflectance DN (reflectance x 10000, L2A offset already removed) as float32:
    `b10` is (4, H, W) in band order B02 B03 B04 B08 and `b20` is (6, H/2, W/2) in order
    B05 B06 B07 B8A B11 B12 on the same footprint (H and W even). The answer is
    (10, H*scale, W*scale) float32 DN in `OUTPUT_BANDS` order. `scale=1` is fusion only.
    """

    name: str
    version: str

    @property
    def scales(self) -> tuple[int, ...]: ...

    def upscale(self, b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray: ...


def context_px(model: SRModel, minimum: int = 16) -> int:
    """Pixels of context to read around a tile so tiles join without seams (even, >= minimum).

    Models that need more than `minimum` say so with a `margin` attribute (ONNX models take it
    from their card: `ModelCard.margin_px`).
    """
    margin = max(minimum, int(getattr(model, "margin", 0)))
    return margin + margin % 2


def fitted_tile_px(model: SRModel, tile_px: int, halo_px: int) -> int:
    """`tile_px`, shrunk where needed so that one tile and its halo make one model window.

    A model that runs its own overlapping windows of `tile` pixels (ONNX models) would cut a
    larger read into several, each with its own margin: the overlap would be paid twice, and a
    512 px tile with its 32 px halo became four 384 px windows, 1.8 times the pixels.
    """
    window = int(getattr(model, "tile", 0))
    if window <= 2 * halo_px:
        return tile_px
    fitted = window - 2 * halo_px
    return min(tile_px, fitted - fitted % 2)
