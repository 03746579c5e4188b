"""The fusion ceiling pinned on synthetic cases: a band made of its guides, unrelated noise,
half of each; a truth the guides explain against one they cannot."""

from __future__ import annotations

import numpy as np
import pytest

from deepres.bands import BANDS_20M
from deepres.sr.ceiling import fitted_gain, predictable_share
from deepres.sr.figures import limitations
from tests.scenes import fourier_shift, natural_field


def gaussian_filter(img: np.ndarray, sigma: float, mode: str = "wrap") -> np.ndarray:
    """A periodic Gaussian blur of `sigma` px (the FFT of the kernel)."""
    assert mode == "wrap"
    ky, kx = np.fft.fftfreq(img.shape[-2])[:, None], np.fft.fftfreq(img.shape[-1])[None, :]
    gain = np.exp(-2 * (np.pi * sigma) ** 2 * (ky**2 + kx**2))
    return np.real(np.fft.ifft2(np.fft.fft2(img) * gain))


def _guides(size: int = 128) -> np.ndarray:
    return np.stack([natural_field(size, seed=s, slope=-2.0) for s in range(4)])


def _detail(img: np.ndarray) -> np.ndarray:
    """`img` less its low frequencies: the part fusion has to add."""
    return img - gaussian_filter(img, 2.0, mode="wrap")


def test_a_band_made_of_its_guides_is_fully_predictable_whatever_its_shift_and_blur() -> None:
    g = _guides()
    band = 0.7 * g[0] + fourier_shift(gaussian_filter(g[1], 0.6, mode="wrap"), 0.3, -0.4)
    share = predictable_share(g, band)
    assert share is not None and share > 0.97


def test_unrelated_noise_is_not_predictable() -> None:
    g = _guides()
    noise = np.random.default_rng(7).normal(0, 50, g.shape[1:])
    share = predictable_share(g, noise)
    assert share is not None and share < 0.1


def test_half_guide_half_noise_is_about_half_predictable() -> None:
    g = _guides()
    signal = _detail(g[2])
    noise = np.random.default_rng(3).normal(0, 1, signal.shape)
    sel = np.fft.fftfreq(128)
    # Scale the noise to the signal's power in the fusion band so the two weigh the same there.
    f = np.hypot(*np.meshgrid(sel, sel, indexing="ij"))
    band = (f >= 0.25) & (f < 0.5)
    power = lambda a: np.mean(np.abs(np.fft.fft2(a))[band] ** 2)  # noqa: E731
    noise *= np.sqrt(power(signal) / power(noise))
    share = predictable_share(g, signal + noise)
    assert share is not None and 0.4 < share < 0.6


def test_too_small_an_image_has_no_share() -> None:
    g = _guides(32)
    assert predictable_share(g, g[0]) is None


def test_too_small_an_image_has_no_fitted_gain() -> None:
    g = _guides(24)
    gains = fitted_gain(g[:1], g[1:2], g, g[2:3])
    assert gains == {"model_gain_db": None, "truth_fitted_gain_db": None}


def test_a_correction_fitted_on_the_truth_finds_what_the_guides_explain() -> None:
    g = _guides(96)
    base = np.stack([gaussian_filter(g[0] + g[3], 2.0, mode="wrap")])
    truth = base + np.stack([_detail(g[0]) + _detail(fourier_shift(g[3], 0.5, 0.0))])
    # The "model" adds half of the missing detail.
    pred = base + 0.5 * (truth - base)
    gains = fitted_gain(pred, base, g, truth)
    assert gains["model_gain_db"] == pytest.approx(6.02, abs=0.1)  # half the error: 20 log10 2
    assert gains["truth_fitted_gain_db"] > gains["model_gain_db"] + 15


def test_a_correction_cannot_find_detail_the_guides_do_not_hold() -> None:
    g = _guides(96)
    rng = np.random.default_rng(5)
    base = np.stack([gaussian_filter(g[0], 2.0, mode="wrap")])
    truth = base + rng.normal(0, 20, base.shape)
    gains = fitted_gain(base.copy(), base, g, truth)  # a "model" that adds nothing, as bicubic
    assert gains["model_gain_db"] == 0.0
    assert gains["truth_fitted_gain_db"] == pytest.approx(0.0, abs=0.3)


def test_the_gains_cover_the_whole_image_as_the_wald_score_does() -> None:
    g = _guides(96)
    base = np.stack([gaussian_filter(g[0], 2.0, mode="wrap")])
    truth = base + np.stack([_detail(g[0])])
    # A "model" right on the left half and no better than bicubic on the right.
    pred = base.copy()
    pred[..., :48] = truth[..., :48]
    gains = fitted_gain(pred, base, g, truth)
    assert gains["model_gain_db"] == pytest.approx(3.0, abs=0.4)  # half the error: 10 log10 2
    # Each half is corrected by the fit on the other, so the detail is found on both.
    assert gains["truth_fitted_gain_db"] > gains["model_gain_db"] + 5


def _report(shares: list[float]) -> dict:
    ceiling = {
        "predictable_share": dict(zip(BANDS_20M, shares, strict=True)),
        "model_gain_db": 6.3,
        "truth_fitted_gain_db": 7.07,
    }
    scene = {"fusion": {"gain_db": 5.4}, "fusion_ceiling": ceiling}
    return {"per_block": {}, "cross_scene": {"T39RVJ": scene}}


def test_the_card_says_where_the_data_limits_the_fusion() -> None:
    notes = limitations(_report([0.70, 0.71, 0.71, 0.72, 0.68, 0.64]))
    limited = [n for n in notes if n.startswith("Fusion on T39RVJ is limited by its data")]
    assert limited and "64%-72%" in limited[0] and "+7.07 dB" in limited[0]
    assert not any("limited by its data" in n for n in limitations(_report([0.95] * 6)))
