"""Wald degradation: MTF at Nyquist as specified, footprint kept, constants preserved."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr.degrade import degrade, degrade_kernel, gaussian_sigma


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_kernel_mtf_at_coarse_nyquist(factor: int) -> None:
    kernel, pad = degrade_kernel(factor, 0.25)
    offsets = np.arange(kernel.size) - pad - (factor - 1) / 2
    response = float(np.sum(kernel * np.cos(2 * np.pi * offsets / (2 * factor))))
    assert response == pytest.approx(0.25, abs=0.02)
    assert gaussian_sigma(factor, 0.25) == pytest.approx(0.53 * factor, rel=0.01)


def test_degrade_shape_and_constant() -> None:
    img = np.full((3, 16, 24), 700.0, np.float32)
    out = degrade(img, 4)
    assert out.shape == (3, 4, 6)
    np.testing.assert_allclose(out, 700.0, rtol=1e-5)


def test_degrade_commutes_with_flips() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(degrade(img[:, ::-1, :], 4), degrade(img, 4)[:, ::-1, :], atol=1e-6)


def test_degrade_rejects_ragged_shapes() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        degrade(np.zeros((1, 10, 8), np.float32), 4)
