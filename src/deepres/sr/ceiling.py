"""How much fusion gain a scene's own pixels allow: the data's share of a weak Wald score.

Fusion (Wald x2) asks for the 20 m bands' detail between the 40 m input's Nyquist and the
20 m truth's from the 10 m bands degraded to 20 m. Two checks tell whether a weak gain on a
scene is the model's or the data's:

- `predictable_share`: the share of each 20 m band's power in that frequency range that any
  linear filter of the four 10 m bands can predict (multiple coherence, Welch-averaged over
  Hann-windowed blocks, power-weighted). It ignores shifts and blur, so a displaced or softer
  band still scores 1; noise, compression and content that the 10 m bands do not see lower it.
- `fitted_gain`: the model's answer corrected by linear filters of the 10 m bands fitted
  against the truth itself, each half of the scene corrected by a fit on the other half and
  scored beside the model alone. No model of the same inputs is expected to beat a correction
  that saw the truth by much; when even that stays below a target, the target is out of reach
  on that scene.

`spatial_ceiling` does the same for Wald xN in the 10 m bands, the filters taken over the
bicubic answer (a sharpening fitted on the truth).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepres.bands import BANDS_20M
from deepres.sr.base import FloatArray, SRModel
from deepres.sr.bicubic import Bicubic
from deepres.sr.degrade import degrade
from deepres.sr.metrics import psnr
from deepres.sr.registration import co_registered

#: Welch blocks (px) and the fewest blocks a share is reported on (below it the estimate is
#: biased upwards by about bands / blocks).
BLOCK_PX = 16
MIN_BLOCKS = 16
#: The fusion task's frequency range in cycles per 20 m pixel: 40 m Nyquist to 20 m Nyquist.
FUSION_BAND = (0.25, 0.5)
#: Side of the fitted filters (20 m px), border left out of the fit and the score, and the
#: largest sample (20 m px a side, centre crop) fitted on.
KERNEL_PX = 5
BORDER_PX = 8
MIN_FIT_PX = 16
MAX_SIDE_PX = 512


def _blocks(img: FloatArray, block: int) -> np.ndarray:
    """(N, block, block) Hann-windowed, mean-removed blocks overlapping by half."""
    h, w = img.shape
    step = block // 2
    window = np.outer(np.hanning(block), np.hanning(block))
    out = [
        img[r : r + block, c : c + block]
        for r in range(0, h - block + 1, step)
        for c in range(0, w - block + 1, step)
    ]
    if not out:
        return np.zeros((0, block, block))
    stack = np.asarray(out, np.float64)
    stack -= stack.mean(axis=(1, 2), keepdims=True)
    return stack * window


def predictable_share(
    guide: FloatArray,
    band: FloatArray,
    band_range: tuple[float, float] = FUSION_BAND,
    block: int = BLOCK_PX,
) -> float | None:
    """Share of `band`'s (H, W) power in `band_range` (cycles/px) that linear filters of the
    (C, H, W) `guide` predict: 1 when `band` is a filtered sum of the guide bands, about 0 when
    unrelated. None when the image holds fewer than `MIN_BLOCKS` blocks."""
    y = np.fft.fft2(_blocks(band, block))
    if len(y) < MIN_BLOCKS:
        return None
    x = np.stack([np.fft.fft2(_blocks(g, block)) for g in guide], axis=1)  # (N, C, b, b)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(block), np.fft.fftfreq(block), indexing="ij"))
    sel = (f >= band_range[0]) & (f < band_range[1])
    xs, ys = x[:, :, sel], y[:, sel]  # (N, C, F), (N, F)
    sxx = np.einsum("nif,njf->fij", xs, xs.conj())
    sxy = np.einsum("nif,nf->fi", xs, ys.conj())
    syy = np.einsum("nf,nf->f", ys, ys.conj()).real
    explained = np.einsum("fi,fi->f", sxy.conj(), np.linalg.solve(sxx, sxy[..., None])[..., 0])
    return float(np.clip(explained.real.sum() / max(syy.sum(), 1e-12), 0.0, 1.0))


def _shifted(img: FloatArray, kernel: int) -> np.ndarray:
    """(kernel², H, W): `img` seen from every offset of a kernel x kernel neighbourhood."""
    r = kernel // 2
    h, w = img.shape
    p = np.pad(img.astype(np.float64), r, mode="reflect")
    return np.stack([p[dy : dy + h, dx : dx + w] for dy in range(kernel) for dx in range(kernel)])


def fitted_gain(
    pred: FloatArray,
    base: FloatArray,
    guide: FloatArray,
    truth: FloatArray,
    kernel: int = KERNEL_PX,
) -> dict[str, float | None]:
    """PSNR gains over `base`: `pred` as it is, and `pred` plus kernel x kernel linear filters
    of the `guide` bands fitted per band against `truth`, cross-fitted in two folds (fitted on
    the left half to correct the right, on the right half to correct the left), so every pixel
    is scored by a fit that never saw it and the gains cover the whole image, as the model's
    own Wald score does. All (C, H, W) on one grid but `guide` (G, H, W). None for an image
    under `MIN_FIT_PX` a side inside its border."""
    _, h, w = truth.shape
    if min(h, w) - 2 * BORDER_PX < MIN_FIT_PX:
        return {"model_gain_db": None, "truth_fitted_gain_db": None}
    rows, cols = slice(BORDER_PX, h - BORDER_PX), slice(BORDER_PX, w - BORDER_PX)
    width = w - 2 * BORDER_PX
    left = np.tile(np.arange(width) < width // 2, h - 2 * BORDER_PX)
    shifted = np.concatenate([_shifted(g, kernel) for g in guide])[:, rows, cols]
    features = shifted.reshape(len(shifted), -1)
    corrected = pred[:, rows, cols].astype(np.float64).copy()
    for j in range(len(truth)):
        a = np.vstack(
            [features, pred[j, rows, cols].ravel(), base[j, rows, cols].ravel(), np.ones(left.size)]
        )
        target = truth[j, rows, cols].ravel()
        answer = np.empty(left.size)
        for fold in (left, ~left):
            fit = a[:, fold]
            # Least squares through the normal equations (memory: features squared), minimum
            # norm where features repeat (the guide can hold `base` itself).
            coef = np.linalg.lstsq(fit @ fit.T, fit @ target[fold], rcond=None)[0]
            answer[~fold] = coef @ a[:, ~fold]
        corrected[j] = answer.reshape(corrected.shape[1:])

    def score(img: np.ndarray) -> float:
        return float(np.mean(psnr(img, truth[:, rows, cols])))

    reference = score(base[:, rows, cols])
    return {
        "model_gain_db": round(score(pred[:, rows, cols]) - reference, 3),
        "truth_fitted_gain_db": round(score(corrected) - reference, 3),
    }


def _centre(
    b10: FloatArray, b20: FloatArray, side: int, step: int
) -> tuple[FloatArray, FloatArray]:
    """The centre of a scene, at most `side` 10 m px a side, its sides a multiple of `2 * step`."""
    _, h, w = b10.shape
    m = 2 * step
    side_h, side_w = min(h, side) // m * m, min(w, side) // m * m
    r, c = (h - side_h) // 4 * 2, (w - side_w) // 4 * 2
    return (
        b10[:, r : r + side_h, c : c + side_w],
        b20[:, r // 2 : (r + side_h) // 2, c // 2 : (c + side_w) // 2],
    )


def fusion_ceiling(model: SRModel, b10: FloatArray, b20: FloatArray) -> dict[str, Any]:
    """Wald fusion on the centre (at most `MAX_SIDE_PX` 20 m px) of one scene: per 20 m band
    the `predictable_share` of its detail, and the model's `fitted_gain` against a correction
    fitted on the truth."""
    fine, truth = _centre(b10, b20, 2 * MAX_SIDE_PX, 2)
    in10, in20 = degrade(fine, 2), degrade(truth, 2)
    pred = co_registered(model, in10, in20).upscale(in10, in20, 1)[4:]
    base = Bicubic().upscale(in10, in20, 1)[4:]
    shares = {b: predictable_share(in10, truth[i]) for i, b in enumerate(BANDS_20M)}
    return {
        "predictable_share": {b: None if v is None else round(v, 3) for b, v in shares.items()},
        **fitted_gain(pred, base, in10, truth),
    }


def spatial_ceiling(
    model: SRModel, b10: FloatArray, b20: FloatArray, scale: int
) -> dict[str, float | None]:
    """Wald x`scale` on the centre (at most `MAX_SIDE_PX` 10 m px) of one scene: the model's
    `fitted_gain` in the 10 m bands against its answer sharpened by filters of the bicubic
    bands fitted on the truth."""
    truth, coarse = _centre(b10, b20, MAX_SIDE_PX, scale)
    in10, in20 = degrade(truth, scale), degrade(coarse, scale)
    pred = co_registered(model, in10, in20).upscale(in10, in20, scale)[:4]
    base = Bicubic().upscale(in10, in20, scale)[:4]
    return fitted_gain(pred, base, base, truth)
