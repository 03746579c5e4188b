"""The bicubic baseline: honest interpolation, no learning. Named as a baseline everywhere."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from deepres.sr.base import FloatArray

A = -0.5  # Keys' cubic convolution parameter (the usual "bicubic")
TAPS = 5  # polyphase support: input offsets -2..2 around the output pixel's source pixel


def _cubic(x: FloatArray) -> FloatArray:
    x = np.abs(x)
    x2, x3 = x * x, x * x * x
    w = np.where(
        x <= 1,
        (A + 2) * x3 - (A + 3) * x2 + 1,
        np.where(x < 2, A * x3 - 5 * A * x2 + 8 * A * x - 4 * A, 0.0),
    )
    return w.astype(np.float32)


@lru_cache(maxsize=16)
def phase_weights(factor: int) -> FloatArray:
    """(factor, 5) weights: output pixel `i*factor + p` is `sum_t w[p, t] * in[i + t - 2]`.

    Pixel centres follow the half-pixel convention, so the output grid covers the input footprint
    exactly; every output pixel of phase `p` reads the same five input offsets, which is what
    lets both this module and the exported networks upsample with strided slices or a fixed conv.
    """
    out = np.zeros((factor, TAPS), np.float32)
    for p in range(factor):
        centre = (p + 0.5) / factor - 0.5
        left = int(np.floor(centre)) - 1
        offsets = left + np.arange(4)
        w = _cubic((centre - offsets).astype(np.float32))
        out[p, offsets + 2] = w / w.sum()
    out.setflags(write=False)
    return out


def _resize_axis(img: FloatArray, factor: int, axis: int) -> FloatArray:
    """Upsample one axis by polyphase filtering; edge pixels replicate."""
    w = phase_weights(factor)
    n = img.shape[axis]
    pad = [(0, 0)] * img.ndim
    pad[axis] = (2, 2)
    src = np.pad(img, pad, mode="edge")
    shape = list(img.shape)
    shape[axis] = n * factor
    out = np.empty(shape, np.float32)
    for p in range(factor):
        acc = np.zeros_like(img)
        for t in range(TAPS):
            if w[p, t] != 0:
                acc += w[p, t] * np.take(src, np.arange(t, t + n), axis=axis)
        idx: list[slice] = [slice(None)] * img.ndim
        idx[axis] = slice(p, None, factor)
        out[tuple(idx)] = acc
    return out


def resize(img: FloatArray, factor: int) -> FloatArray:
    """Upsample (C, H, W) by an integer factor with separable bicubic convolution."""
    img = img.astype(np.float32, copy=False)
    if factor == 1:
        return img
    return _resize_axis(_resize_axis(img, factor, 1), factor, 2)


class Bicubic:
    """Bicubic interpolation of every band to the output grid: the baseline, not a model."""

    name = "bicubic"
    version = "1"

    @property
    def scales(self) -> tuple[int, ...]:
        return (1, 2, 4, 8)

    def upscale(self, b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray:
        hi = resize(b10, scale)
        lo = resize(b20, 2 * scale)
        return np.concatenate([hi, lo], axis=0)
