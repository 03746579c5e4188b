"""Tiled inference equals whole-image inference when the margin covers the context."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr.bicubic import Bicubic
from deepres.sr.tiling import axis_weights, influence_radius, plan_axis, tiled_upscale


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


def _blur(radius: int):  # type: ignore[no-untyped-def]
    """Bicubic, then a mean over (2 * radius + 1)^2 10 m px: nothing farther reaches a pixel."""

    def upscale(b10: np.ndarray, b20: np.ndarray, scale: int) -> np.ndarray:
        up = Bicubic().upscale(b10, b20, scale).astype(np.float64)
        k = radius * scale
        pad = np.pad(up, ((0, 0), (k, k), (k, k)), mode="edge").cumsum(1).cumsum(2)
        pad = np.pad(pad, ((0, 0), (1, 0), (1, 0)))
        h, w = up.shape[1:]
        n = 2 * k + 1
        box = pad[:, n:, n:] - pad[:, :-n, n:] - pad[:, n:, :-n] + pad[:, :-n, :-n]
        return (box[:, :h, :w] / n**2).astype(np.float32)

    return upscale


def test_influence_radius_finds_how_far_a_network_reaches() -> None:
    near, far = (influence_radius(_blur(r), (1, 2), limit=40) for r in (4, 12))
    # The mean's own reach plus bicubic's (2 px of the 20 m grid: 4 px at 10 m), rounded even.
    assert 4 <= near <= 10
    assert 12 <= far <= 18
    assert far - near == 8
    # Never beyond the structural context it is given.
    assert influence_radius(_blur(12), (1, 2), limit=8) == 8


def test_the_measured_radius_is_a_margin_tiles_agree_with() -> None:
    fn = _blur(6)
    margin = influence_radius(fn, (2,), limit=40)
    rng = np.random.default_rng(3)
    b10 = (300 * np.exp(rng.normal(0, 1.0, (4, 150, 230)))).astype(np.float32)
    b20 = (300 * np.exp(rng.normal(0, 1.0, (6, 75, 115)))).astype(np.float32)
    whole = fn(b10, b20, 2)

    def tiled(m: int) -> np.ndarray:
        return tiled_upscale(lambda a, b: fn(a, b, 2), b10, b20, 2, tile=4 * m + 32, margin=m)

    assert np.abs(tiled(margin) - whole).max() < 0.05
    assert np.abs(tiled(margin - 6) - whole).max() > 1.0  # a smaller margin shows seams


def test_a_network_answering_nan_keeps_its_whole_context() -> None:
    def broken(b10: np.ndarray, b20: np.ndarray, scale: int) -> np.ndarray:
        return np.full((10, b10.shape[1] * scale, b10.shape[2] * scale), np.nan, np.float32)

    assert influence_radius(broken, (1,), limit=12) == 12
