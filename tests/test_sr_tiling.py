"""Tiled inference equals whole-image inference when the margin covers the context."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr.bicubic import Bicubic
from deepres.sr.tiling import axis_weights, plan_axis, tiled_upscale


def _local_nonlinear(b10: np.ndarray, b20: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic, a 5 x 5 mean (edge-padded) and a tanh: finite context, not linear."""
    up = Bicubic().upscale(b10, b20, scale)
    pad = np.pad(up, ((0, 0), (2, 2), (2, 2)), mode="edge")
    h, w = up.shape[1:]
    box = sum(pad[:, i : i + h, j : j + w] for i in range(5) for j in range(5)) / 25
    return (np.tanh(box / 3000) * 3000).astype(np.float32)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_tiled_equals_whole(scale: int) -> None:
    rng = np.random.default_rng(scale)
    b10 = (rng.random((4, 150, 230)) * 4000).astype(np.float32)
    b20 = (rng.random((6, 75, 115)) * 4000).astype(np.float32)
    whole = _local_nonlinear(b10, b20, scale)
    tiled = tiled_upscale(
        lambda a, b: _local_nonlinear(a, b, scale), b10, b20, scale, tile=64, margin=8
    )
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() < 1e-2  # DN, float rounding only


def test_windows_cover_every_pixel_with_positive_weight() -> None:
    for n in (64, 66, 130, 257 // 2 * 2, 1000):
        starts = plan_axis(n, 64, 8)
        assert starts[0] == 0 and starts[-1] + min(64, n) == n
        assert all(s % 2 == 0 for s in starts)
        total = np.zeros(n * 2)
        for s, w in zip(starts, axis_weights(starts, n, 64, 8, 2), strict=True):
            assert w[: 8 * 2].max() == 0 or s == 0  # a window's own edge margin is never used
            total[s * 2 : (s + min(64, n)) * 2] += w
        assert total.min() > 0.99


def test_margin_too_large_for_the_tile_is_refused() -> None:
    with pytest.raises(ValueError, match="4 x margin"):
        plan_axis(500, 64, 14)
