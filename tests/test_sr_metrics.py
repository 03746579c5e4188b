"""Metrics on arrays whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr.bicubic import resize
from deepres.sr.degrade import degrade
from deepres.sr.metrics import ergas, psnr, quality, sam, spectral_consistency, sre


def test_psnr_and_sre_of_a_known_error() -> None:
    truth = np.full((2, 4, 4), 1000.0, np.float32)
    pred = truth + 10.0  # MSE 100
    assert psnr(pred, truth) == pytest.approx([10 * np.log10(1e8 / 100)] * 2)
    assert sre(pred, truth) == pytest.approx([10 * np.log10(1e6 / 100)] * 2)
    assert ergas(pred, truth, 2) == pytest.approx(100 / 2 * 10 / 1000)


def test_sam_ignores_brightness_but_not_colour() -> None:
    truth = np.random.default_rng(1).random((6, 5, 5)).astype(np.float32) + 0.1
    assert sam(truth * 3, truth) == pytest.approx(0.0, abs=1e-3)
    assert sam(truth[::-1], truth) > 1.0


def test_quality_keys() -> None:
    x = np.ones((4, 3, 3), np.float32)
    assert set(quality(x, x, 2)) == {"psnr", "psnr_per_band", "sre", "sam_deg", "ergas"}


def test_consistency_is_perfect_for_a_constant_and_finite_for_bicubic() -> None:
    b10 = np.full((4, 8, 8), 500.0, np.float32)
    b20 = np.full((6, 4, 4), 900.0, np.float32)
    out = np.concatenate([resize(b10, 2), resize(b20, 4)])
    assert spectral_consistency(out, b10, b20, 2)["rmse_dn"] == pytest.approx(0.0, abs=1e-3)
    rng = np.random.default_rng(2)
    b10 = (rng.random((4, 16, 16)) * 1000).astype(np.float32)
    b20 = degrade(resize(b10[:2].repeat(3, axis=0), 1), 2)
    out = np.concatenate([resize(b10, 2), resize(b20, 4)])
    assert spectral_consistency(out, b10, b20, 2)["rmse_dn"] > 1.0  # bicubic does not honour it
