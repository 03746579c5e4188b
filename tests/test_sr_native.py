"""The native-input figures pinned on synthetic cases: a planted grid, bicubic, white noise."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.sr.bicubic import resize
from deepres.sr.native import grid_dn, hf_ratio, low_frac, native_figures, targets_met
from tests.scenes import natural_field


def test_a_planted_checkerboard_is_measured_at_its_amplitude() -> None:
    band = np.full((200, 200), 1500.0, np.float32)
    band[0::2, 0::2] += 30
    band[1::2, 1::2] += 30
    band[0::2, 1::2] -= 30
    band[1::2, 0::2] -= 30
    assert grid_dn(band, 2) == pytest.approx(30.0, rel=1e-6)
    # A pattern with the period of the cell but not of the pixel grid averages out at cell 4.
    assert grid_dn(band, 4) == pytest.approx(30.0, rel=1e-6)


def test_content_alone_leaves_no_grid() -> None:
    hi = resize(natural_field(128)[None], 4)[0]
    assert grid_dn(hi, 4) < 1.0
    assert grid_dn(hi + 0.0 * hi, 1) == 0.0


def test_bicubic_adds_little_above_the_input_nyquist() -> None:
    low = natural_field(128)
    ratio = hf_ratio(resize(low[None], 4)[0], low, 4)
    assert 0.02 < ratio < 0.3


def test_white_noise_shows_up_as_excess_high_frequency_energy() -> None:
    low = natural_field(128, seed=1)
    up = resize(low[None], 4)[0]
    noisy = up + np.random.default_rng(2).normal(0, 100, up.shape).astype(np.float32)
    assert hf_ratio(noisy, low, 4) > 2.0
    assert hf_ratio(noisy, low, 4) > 10 * hf_ratio(up, low, 4)


def test_a_detail_continuing_the_input_spectrum_scores_about_one() -> None:
    truth = natural_field(512, seed=3)
    low = truth.reshape(128, 4, 128, 4).mean(axis=(1, 3))  # box decimation: little blur
    assert 0.5 < hf_ratio(truth, low, 4) < 2.0


def test_low_frac_counts_pixels_at_or_below_one_dn() -> None:
    band = np.array([[0.0, 1.0, 1.5, 800.0]], np.float32)
    assert low_frac(band) == pytest.approx(0.5)


def test_per_band_figures_and_the_targets() -> None:
    b10 = np.stack([natural_field(64, seed=s) for s in range(4)])
    b20 = np.stack([natural_field(32, seed=10 + s) for s in range(6)])
    out = np.concatenate([resize(b10, 2), resize(b20, 4)])
    figures = native_figures(out, b10, b20, 2)
    assert list(figures) == ["B02", "B03", "B04", "B08", "B05", "B06", "B07", "B8A", "B11", "B12"]
    assert all(set(f) == {"grid_dn", "low_frac", "hf_ratio"} for f in figures.values())
    same = targets_met(figures["B05"], figures["B05"])
    assert same["grid_dn"] and same["low_frac"]
    assert not same["hf_ratio"]  # bicubic itself adds too little detail to pass
    noisy = {**figures["B05"], "grid_dn": 50.0}
    assert not targets_met(noisy, figures["B05"])["grid_dn"]
