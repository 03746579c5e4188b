"""The bicubic baseline: the fast polyphase resize equals the textbook tap-gather one."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr import Bicubic
from deepres.sr.bicubic import _cubic, resize


def _reference(img: np.ndarray, factor: int) -> np.ndarray:
    """Separable bicubic by gathering four clipped taps per output pixel (the original code)."""

    def taps(n_in: int) -> tuple[np.ndarray, np.ndarray]:
        centre = (np.arange(n_in * factor, dtype=np.float64) + 0.5) / factor - 0.5
        idx = (np.floor(centre).astype(np.int64) - 1)[:, None] + np.arange(4)[None, :]
        w = _cubic((centre[:, None] - idx).astype(np.float32)).astype(np.float64)
        w /= w.sum(axis=1, keepdims=True)
        return np.clip(idx, 0, n_in - 1), w

    iy, wy = taps(img.shape[1])
    ix, wx = taps(img.shape[2])
    rows = np.einsum("chkw,hk->chw", img[:, iy, :].astype(np.float64), wy)
    return np.einsum("chwk,wk->chw", rows[:, :, ix], wx)


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_resize_matches_reference(factor: int) -> None:
    rng = np.random.default_rng(factor)
    img = (rng.random((3, 17, 12)) * 9000).astype(np.float32)
    fast = resize(img, factor)
    assert fast.shape == (3, 17 * factor, 12 * factor)
    assert fast.dtype == np.float32
    # float32 rounding on values up to 9000 DN: well inside 1e-3 DN relative to the signal
    assert np.abs(fast - _reference(img, factor)).max() < 1e-3 * 9000 / 1000


def test_resize_keeps_a_constant_image() -> None:
    img = np.full((2, 6, 6), 1234.0, np.float32)
    np.testing.assert_allclose(resize(img, 4), 1234.0, rtol=1e-6)


def test_bicubic_upscale_shapes() -> None:
    out = Bicubic().upscale(np.ones((4, 8, 10), np.float32), np.ones((6, 4, 5), np.float32), 2)
    assert out.shape == (10, 16, 20)
