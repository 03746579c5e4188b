"""What a user sees on native-resolution input: grid pattern, clipped darks, added noise.

Wald's protocol scores a model on degraded copies, which never show the failures that matter on
real input. These three figures need no ground truth; each compares one output band with the
input band it came from. `c` is the number of output pixels per input pixel of that band
(`scale` for the 10 m bands, `2 * scale` for the 20 m ones).

* `grid_dn`: the RMS, in DN, of the mean within-cell pattern. Drop a border of 8 input pixels,
  cut the band into c x c cells, subtract each cell's own mean and average the residuals of all
  cells; a clean upsampling leaves next to nothing, a checkerboard on the input grid survives.
* `low_frac`: the share of output pixels at or below 1 DN (clipped or overshot darks).
* `hf_ratio`: the output's energy above the input's Nyquist frequency, against what the input's
  own spectrum predicts there. A power law is fitted to the input's Hann-windowed, radially
  averaged power spectrum between 1/4 and 0.9 of its Nyquist, scaled to the output's spectrum
  over that same range, and integrated from the input's Nyquist to 0.95 of the output's. About
  1 is natural-looking detail, bicubic gives about 0.1-0.2, noise gives several.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deepres.bands import BANDS_10M, OUTPUT_BANDS
from deepres.sr.base import FloatArray, SRModel
from deepres.sr.bicubic import Bicubic
from deepres.sr.registration import co_registered

BORDER_INPUT_PX = 8
LOW_DN = 1.0
FIT_RANGE = (0.25, 0.9)  # of the input's Nyquist
TOP = 0.95  # of the output's Nyquist


def grid_dn(out: FloatArray, cell: int, border: int = BORDER_INPUT_PX) -> float:
    """RMS (DN) of the mean within-cell pattern of one output band with `cell` px per input px."""
    if cell <= 1:
        return 0.0
    b = border * cell
    band = np.asarray(out, np.float64)[b : out.shape[0] - b, b : out.shape[1] - b]
    h, w = band.shape[0] // cell * cell, band.shape[1] // cell * cell
    if h == 0 or w == 0:
        raise ValueError(f"a {out.shape} band is too small for {cell} px cells and the border")
    cells = band[:h, :w].reshape(h // cell, cell, w // cell, cell)
    residual = cells - cells.mean(axis=(1, 3), keepdims=True)
    pattern = residual.mean(axis=(0, 2))
    return float(np.sqrt(np.mean(pattern**2)))


def low_frac(out: FloatArray, low: float = LOW_DN) -> float:
    """Share (0-1) of the pixels of `out` at or below `low` DN."""
    return float(np.mean(np.asarray(out) <= low))


def radial_spectrum(band: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(frequencies in cycles per pixel, mean power) of the Hann-windowed band, up to Nyquist.

    Rings are one frequency step of the shorter side wide; the mean is removed first.
    """
    img = np.asarray(band, np.float64)
    img = img - img.mean()
    h, w = img.shape
    img = img * np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(img)) ** 2 / (h * w)
    fy, fx = np.fft.fftfreq(h), np.fft.fftfreq(w)
    radius = np.hypot(fy[:, None], fx[None, :])
    step = 1.0 / min(h, w)
    ring = np.rint(radius / step).astype(np.int64)
    rings = int(0.5 / step)
    keep = (ring >= 1) & (ring <= rings)
    total = np.bincount(ring[keep], weights=power[keep], minlength=rings + 1)
    count = np.bincount(ring[keep], minlength=rings + 1)
    f = np.arange(rings + 1) * step
    valid = count > 0
    valid[0] = False
    return f[valid].astype(np.float64), (total[valid] / count[valid]).astype(np.float64)


def hf_ratio(out: FloatArray, inp: FloatArray, cell: int) -> float:
    """Energy of `out` above the Nyquist of `inp` over the input's power-law prediction there."""
    if cell <= 1:
        return 1.0
    f_px, p_in = radial_spectrum(inp)
    f_in = f_px / cell  # in cycles per output pixel
    nyq_in = 0.5 / cell
    lo, hi = FIT_RANGE[0] * nyq_in, FIT_RANGE[1] * nyq_in
    fit = (f_in >= lo) & (f_in <= hi) & (p_in > 0)
    if fit.sum() < 3:
        raise ValueError(f"a {inp.shape} band is too small to fit its spectrum")
    slope, intercept = np.polyfit(np.log(f_in[fit]), np.log(p_in[fit]), 1)
    f_out, p_out = radial_spectrum(out)

    def law(f: FloatArray) -> FloatArray:
        return np.asarray(np.exp(intercept + slope * np.log(f)), np.float64)

    same = (f_out >= lo) & (f_out <= hi)
    if not same.any():
        raise ValueError(f"a {out.shape} band has no frequencies in the fitting range")
    # Energy over a ring is its mean power times its circumference: weight by f.
    gain = np.sum(p_out[same] * f_out[same]) / np.sum(law(f_out[same]) * f_out[same])
    top = (f_out > nyq_in) & (f_out <= TOP * 0.5)
    if not top.any():
        raise ValueError(f"a {out.shape} band has no frequencies above the input's Nyquist")
    predicted = gain * np.sum(law(f_out[top]) * f_out[top])
    return float(np.sum(p_out[top] * f_out[top]) / predicted)


def band_figures(out: FloatArray, inp: FloatArray, cell: int) -> dict[str, float]:
    """`grid_dn`, `low_frac` and `hf_ratio` of one output band against its input band."""
    return {
        "grid_dn": round(grid_dn(out, cell), 3),
        "low_frac": round(low_frac(out), 6),
        "hf_ratio": round(hf_ratio(out, inp, cell), 4),
    }


def native_figures(
    out: FloatArray, b10: FloatArray, b20: FloatArray, scale: int
) -> dict[str, dict[str, float]]:
    """Per band (`OUTPUT_BANDS` order): the three figures of `out` (10, H*s, W*s) vs the input."""
    figures = {}
    for i, band in enumerate(OUTPUT_BANDS):
        ten = i < len(BANDS_10M)
        inp = b10[i] if ten else b20[i - len(BANDS_10M)]
        figures[band] = band_figures(out[i], inp, scale if ten else 2 * scale)
    return figures


def targets_met(model: dict[str, float], bicubic: dict[str, float]) -> dict[str, bool]:
    """Issue targets for one band: grid, low pixels and high-frequency energy."""
    return {
        "grid_dn": model["grid_dn"] <= max(5.0, 3.0 * bicubic["grid_dn"]),
        "low_frac": model["low_frac"] <= bicubic["low_frac"] + 0.001,
        "hf_ratio": 0.25 <= model["hf_ratio"] <= 2.0,
    }


def native_report(
    models: dict[str, Any], b10: FloatArray, b20: FloatArray, scale: int
) -> dict[str, dict[str, Any]]:
    """Per band: the figures of each `SRModel` in `models` (name -> model) on native input,
    side by side, and whether the first model meets `targets_met` against the last. A fusing
    model runs as the service runs it: co-registered where this input's 20 m grid is displaced.
    """
    figures = {
        name: native_figures(co_registered(m, b10, b20).upscale(b10, b20, scale), b10, b20, scale)
        for name, m in models.items()
    }
    names = list(figures)
    report: dict[str, dict[str, Any]] = {}
    for band in OUTPUT_BANDS:
        entry: dict[str, Any] = {name: figures[name][band] for name in names}
        entry["targets_met"] = targets_met(figures[names[0]][band], figures[names[-1]][band])
        report[band] = entry
    return report


#: Side (10 m px) of the centre crop a large scene's native figures are computed on.
NATIVE_CROP_PX = 512


def scene_figures(model: SRModel, scene_dir: Path) -> dict[str, Any]:
    """x2 and x4 native-input figures per band of `model` and bicubic on one scene folder.

    Scenes larger than `NATIVE_CROP_PX` on a side are measured on their centre crop.
    """
    from deepres.sr.scene_dir import read_scene_dir

    bands = read_scene_dir(scene_dir)
    _, h, w = bands.b10.shape
    side_h, side_w = min(h, NATIVE_CROP_PX) // 2 * 2, min(w, NATIVE_CROP_PX) // 2 * 2
    r, c = (h - side_h) // 4 * 2, (w - side_w) // 4 * 2
    b10 = np.ascontiguousarray(bands.b10[:, r : r + side_h, c : c + side_w])
    b20 = np.ascontiguousarray(bands.b20[:, r // 2 : (r + side_h) // 2, c // 2 : (c + side_w) // 2])
    out: dict[str, Any] = {"crop_10m_px": [r, c, side_h, side_w]}
    for scale in (2, 4):
        out[f"x{scale}"] = native_report({"model": model, "bicubic": Bicubic()}, b10, b20, scale)
    return out
