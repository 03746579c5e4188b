"""Wald's-protocol degradation: an MTF-like Gaussian blur followed by decimation.

The Sentinel-2 modulation transfer function at the Nyquist frequency of a band's own grid is
about 0.2-0.3 (ESA S2 MSI image-quality reports). A Gaussian with MTF `mtf` at the Nyquist
frequency of the grid `factor` times coarser has
`sigma = factor * sqrt(-2 ln mtf) / pi` fine pixels; `mtf=0.25` gives `sigma ~ 0.53 * factor`.
Coarse pixel `i` is centred on fine pixels `factor*i .. factor*i + factor - 1`, so a degraded
image has exactly the footprint of its source and flips / 90-degree rotations commute with it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from deepres.sr.base import FloatArray

DEFAULT_MTF = 0.25


def gaussian_sigma(factor: int, mtf: float = DEFAULT_MTF) -> float:
    """The blur sigma, in fine pixels, whose MTF at the coarse grid's Nyquist frequency is `mtf`."""
    if not 0.0 < mtf < 1.0:
        raise ValueError(f"mtf must lie in (0, 1), got {mtf}")
    return factor * math.sqrt(-2.0 * math.log(mtf)) / math.pi


@lru_cache(maxsize=32)
def degrade_kernel(factor: int, mtf: float = DEFAULT_MTF) -> tuple[FloatArray, int]:
    """The 1-D kernel (length `factor + 2*pad`) and the edge padding `pad` of one axis.

    Coarse pixel `i` is `sum_j k[j] * padded[factor*i + j]`.
    """
    sigma = gaussian_sigma(factor, mtf)
    pad = math.ceil(3.0 * sigma)
    offsets = np.arange(factor + 2 * pad, dtype=np.float64) - pad - (factor - 1) / 2.0
    k = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (k / k.sum()).astype(np.float32)
    kernel.setflags(write=False)
    return kernel, pad


def _degrade_axis(img: FloatArray, factor: int, mtf: float, axis: int) -> FloatArray:
    kernel, pad = degrade_kernel(factor, mtf)
    n = img.shape[axis] // factor
    widths = [(0, 0)] * img.ndim
    widths[axis] = (pad, pad)
    src = np.pad(img, widths, mode="edge")
    shape = list(img.shape)
    shape[axis] = n
    out = np.zeros(shape, np.float32)
    for j, w in enumerate(kernel):
        idx: list[slice] = [slice(None)] * img.ndim
        idx[axis] = slice(j, j + factor * n, factor)
        out += w * src[tuple(idx)]
    return out


def degrade(img: FloatArray, factor: int, mtf: float = DEFAULT_MTF) -> FloatArray:
    """(C, H/factor, W/factor): `img` (C, H, W) blurred by the MTF-like Gaussian and decimated.

    H and W must be multiples of `factor`.
    """
    img = img.astype(np.float32, copy=False)
    if factor == 1:
        return img
    if img.shape[-2] % factor or img.shape[-1] % factor:
        raise ValueError(f"image shape {img.shape[-2:]} is not a multiple of {factor}")
    return _degrade_axis(_degrade_axis(img, factor, mtf, img.ndim - 2), factor, mtf, img.ndim - 1)
