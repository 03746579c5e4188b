"""Tiled inference with overlap and blending: bounded memory, no seams.

Windows overlap by at least `2 * margin + BLEND_PX` 10 m pixels. Within an overlap, each
window ignores the `margin` pixels next to its own edge (where its padding differs from the real
neighbourhood) and the two windows are blended linearly over the middle pixels. With `margin` at
least the model's context, both windows compute identical values wherever they are blended,
so the tiled result equals the whole-image result up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deepres.sr.base import FloatArray

TileFn = Callable[[FloatArray, FloatArray], FloatArray]
BLEND_PX = 8
#: Largest change (DN) an object may make to an output pixel beyond the measured context.
INFLUENCE_TOLERANCE_DN = 0.05


def plan_axis(n: int, tile: int, margin: int) -> list[int]:
    """Even start offsets of windows of length `tile` that cover `0..n` with enough overlap."""
    if tile >= n:
        return [0]
    overlap = 2 * margin + BLEND_PX
    if tile < 2 * overlap or tile % 2 or margin % 2:
        raise ValueError(
            f"tile ({tile}) must be even and at least 4 x margin + {2 * BLEND_PX} "
            f"(margin {margin}, even)"
        )
    count = -(-(n - tile) // (tile - overlap)) + 1
    starts = [round(i * (n - tile) / (count - 1) / 2) * 2 for i in range(count)]
    starts[-1] = n - tile
    return starts


def _ramp(length: int, margin: int) -> FloatArray:
    """Rising weights over an overlap of `length` output pixels: 0, then linear, then 1."""
    q = np.arange(length, dtype=np.float32) + 0.5
    return np.clip((q - margin) / max(length - 2 * margin, 1), 0.0, 1.0).astype(np.float32)


def axis_weights(starts: list[int], n: int, tile: int, margin: int, scale: int) -> list[FloatArray]:
    """Blending weights, at output resolution, of each window along one axis."""
    length = min(tile, n)
    out = []
    for i, start in enumerate(starts):
        w = np.ones(length * scale, np.float32)
        if i > 0:
            ov = (starts[i - 1] + length - start) * scale
            w[:ov] = _ramp(ov, margin * scale)
        if i + 1 < len(starts):
            ov = (start + length - starts[i + 1]) * scale
            tail = w[length * scale - ov :]
            np.minimum(tail, _ramp(ov, margin * scale)[::-1], out=tail)
        out.append(w)
    return out


def tiled_upscale(
    fn: TileFn, b10: FloatArray, b20: FloatArray, scale: int, *, tile: int = 256, margin: int = 32
) -> FloatArray:
    """(10, H*scale, W*scale): `fn` applied window by window over `b10` / `b20` and blended.

    `fn(b10_window, b20_window)` returns the (10, h*scale, w*scale) answer for one window.
    """
    _, h, w = b10.shape
    if h % 2 or w % 2 or b20.shape[1:] != (h // 2, w // 2):
        raise ValueError(f"b10 {b10.shape} needs even sides and b20 {b20.shape} half of them")
    ys, xs = plan_axis(h, tile, margin), plan_axis(w, tile, margin)
    if len(ys) == len(xs) == 1:  # one window: nothing to blend (the pipeline's case)
        return fn(b10, b20)
    wys = axis_weights(ys, h, tile, margin, scale)
    wxs = axis_weights(xs, w, tile, margin, scale)
    th, tw = min(tile, h), min(tile, w)
    out = np.zeros((10, h * scale, w * scale), np.float32)
    norm_y = np.zeros(h * scale, np.float32)
    norm_x = np.zeros(w * scale, np.float32)
    for y, wy in zip(ys, wys, strict=True):
        norm_y[y * scale : (y + th) * scale] += wy
    for x, wx in zip(xs, wxs, strict=True):
        norm_x[x * scale : (x + tw) * scale] += wx
    for y, wy in zip(ys, wys, strict=True):
        for x, wx in zip(xs, wxs, strict=True):
            pred = fn(
                b10[:, y : y + th, x : x + tw],
                b20[:, y // 2 : (y + th) // 2, x // 2 : (x + tw) // 2],
            )
            region = out[:, y * scale : (y + th) * scale, x * scale : (x + tw) * scale]
            region += pred * wy[:, None] * wx[None, :]
    out /= norm_y[:, None] * norm_x[None, :]
    return out


def influence_radius(
    upscale: Callable[[FloatArray, FloatArray, int], FloatArray],
    scales: tuple[int, ...],
    limit: int,
    tolerance_dn: float = INFLUENCE_TOLERANCE_DN,
) -> int:
    """The smallest even halo (10 m px, at most `limit`, the structural context) beyond which
    nothing moves an output pixel of a trained `upscale` by more than `tolerance_dn`.

    The structural context counts every path through the network, however small its weight;
    a trained network's influence dies out sooner. Measured at every scale on the worst cases
    tiling meets: a textured field, dark (300 DN) or bright (8,000 DN: snow, cloud), with
    everything farther than the halo from an 8 px square turned as dark as water (30 DN) or as
    bright as cloud (12,000 DN), the square's output compared with the field's. A log-domain
    network moves a bright pixel by more DN than a dark one, so both fields are needed.
    """
    core, side = 8, 4 * limit + 16  # at least `limit` px changed beyond the widest halo
    lo = (side - core) // 2
    rng = np.random.default_rng(0)
    texture10 = np.exp(rng.normal(0, 0.2, (4, side, side))).astype(np.float32)
    texture20 = np.exp(rng.normal(0, 0.2, (6, side // 2, side // 2))).astype(np.float32)

    def square(b10: FloatArray, b20: FloatArray, s: int) -> FloatArray:
        """The 8 px square's output at scale `s`."""
        out = upscale(b10.astype(np.float32), b20.astype(np.float32), s)
        return out[:, lo * s : (lo + core) * s, lo * s : (lo + core) * s]

    cases = []
    for level in (300.0, 8000.0):
        answers = {s: square(level * texture10, level * texture20, s) for s in scales}
        cases.append((level, answers))

    def moved(halo: int) -> bool:
        inside = np.zeros((side, side), bool)
        inside[lo - halo : lo + core + halo, lo - halo : lo + core + halo] = True
        for level, answers in cases:
            for outside in (30.0, 12000.0):
                b10 = np.where(inside, level, outside) * texture10
                b20 = np.where(inside[::2, ::2], level, outside) * texture20
                for s, ref in answers.items():
                    if not (np.abs(square(b10, b20, s) - ref) <= tolerance_dn).all():  # NaN: moved
                        return True
        return False

    return next((h for h in range(2, limit, 2) if not moved(h)), limit + limit % 2)
