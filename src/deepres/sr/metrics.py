"""Image-quality metrics for super-resolution, computed per band on reflectance DN.

PSNR uses a fixed peak of 10000 DN (reflectance 1.0), so differences between two methods are
independent of the peak. SRE is DSen2's signal-to-reconstruction error, SAM the mean spectral
angle in degrees, ERGAS Wald's relative global error for a resolution ratio of 1/`scale`.
"""

from __future__ import annotations

import numpy as np

from deepres.sr.base import FloatArray
from deepres.sr.degrade import DEFAULT_MTF, degrade

PEAK_DN = 10000.0
_EPS = 1e-12


def _mse(pred: FloatArray, truth: FloatArray) -> np.ndarray:
    diff = pred.astype(np.float64) - truth.astype(np.float64)
    return np.asarray((diff * diff).reshape(diff.shape[0], -1).mean(axis=1))


def psnr(pred: FloatArray, truth: FloatArray, peak: float = PEAK_DN) -> list[float]:
    """Per-band PSNR in dB of (C, H, W) `pred` against `truth`."""
    mse = _mse(pred, truth)
    return [float(v) for v in 10.0 * np.log10(peak**2 / np.maximum(mse, _EPS))]


def sre(pred: FloatArray, truth: FloatArray) -> list[float]:
    """Per-band signal-to-reconstruction error in dB (DSen2): mean(truth^2) over MSE."""
    power = (truth.astype(np.float64) ** 2).reshape(truth.shape[0], -1).mean(axis=1)
    return [float(v) for v in 10.0 * np.log10(power / np.maximum(_mse(pred, truth), _EPS))]


def sam(pred: FloatArray, truth: FloatArray) -> float:
    """Mean spectral angle in degrees between the per-pixel spectra of `pred` and `truth`."""
    p = pred.astype(np.float64).reshape(pred.shape[0], -1)
    t = truth.astype(np.float64).reshape(truth.shape[0], -1)
    cos = (p * t).sum(axis=0) / np.maximum(
        np.linalg.norm(p, axis=0) * np.linalg.norm(t, axis=0), _EPS
    )
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())


def ergas(pred: FloatArray, truth: FloatArray, scale: int) -> float:
    """ERGAS = 100 / scale * sqrt(mean over bands of (RMSE / mean)^2)."""
    means = truth.astype(np.float64).reshape(truth.shape[0], -1).mean(axis=1)
    rel = _mse(pred, truth) / np.maximum(means**2, _EPS)
    return float(100.0 / scale * np.sqrt(rel.mean()))


def quality(pred: FloatArray, truth: FloatArray, scale: int) -> dict[str, float | list[float]]:
    """PSNR (mean and per band), SRE, SAM and ERGAS of `pred` against `truth`, JSON-ready."""
    per_band = psnr(pred, truth)
    return {
        "psnr": float(np.mean(per_band)),
        "psnr_per_band": [round(v, 3) for v in per_band],
        "sre": float(np.mean(sre(pred, truth))),
        "sam_deg": sam(pred, truth),
        "ergas": ergas(pred, truth, scale),
    }


def spectral_consistency(
    out: FloatArray, b10: FloatArray, b20: FloatArray, scale: int, mtf: float = DEFAULT_MTF
) -> dict[str, float]:
    """How far the output, degraded back to each input grid, lies from the input.

    Returns the PSNR (dB, higher is closer) and RMSE (DN) of `degrade(out)` against the input:
    the 10 m bands degraded by `scale`, the 20 m bands by `2*scale`; at `scale=1` the 10 m bands
    pass through unchanged and only the 20 m bands count. SEN2SR calls this the low-frequency
    constraint; a perfectly consistent output scores RMSE 0.
    """
    mse = _mse(degrade(out[4:], 2 * scale, mtf), b20)
    if scale > 1:
        mse = np.concatenate([_mse(degrade(out[:4], scale, mtf), b10), mse])
    return {
        "psnr": float(np.mean(10.0 * np.log10(PEAK_DN**2 / np.maximum(mse, _EPS)))),
        "rmse_dn": float(np.sqrt(mse.mean())),
    }
