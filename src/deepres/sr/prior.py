"""A training prior on native input: no pattern on the input pixel grid, natural spectra.

Needs the `train` extra (torch). Wald's protocol supervises a network on degraded copies only,
and a network can pass it while it draws a pattern on the input grid or adds noise above the
input's Nyquist frequency on real input (see `native.py`). This prior runs the network on
native crops (no degradation, no truth) and penalises, per band and over a whole batch:

* the mean within-cell pattern (the grid `native.grid_dn` measures), relative to the band's
  spread;
* high-frequency energy outside `HF_BAND` times what the input's own power law predicts
  above its Nyquist (`native.hf_ratio`, computed the same way, differentiably).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from deepres.sr.native import FIT_RANGE, TOP

#: Accepted band of the high-frequency ratio; outside it the penalty grows with log distance.
HF_BAND = (0.5, 1.4)


@lru_cache(maxsize=32)
def _rings(
    h: int, w: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(flat positions kept, their ring, pixels per ring, Hann window, ring frequencies) of an
    h x w image, on `device` (made once per size: no host round trip inside a training step)."""
    fy, fx = torch.fft.fftfreq(h, dtype=torch.float64), torch.fft.fftfreq(w, dtype=torch.float64)
    radius = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    step = 1.0 / min(h, w)
    rings = int(0.5 / step)
    ring = torch.round(radius / step).long().reshape(-1)
    pos = torch.nonzero((ring >= 1) & (ring <= rings)).reshape(-1)
    count = torch.bincount(ring[pos], minlength=rings + 1).clamp(min=1)
    window = torch.outer(torch.hann_window(h, periodic=False), torch.hann_window(w, periodic=False))
    freqs = torch.arange(rings + 1, dtype=torch.float64) / min(h, w)
    return (
        pos.to(device),
        ring[pos].to(device),
        count.to(device),
        window.float().to(device),
        freqs.to(device),
    )


def radial_power(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(frequencies, mean power per ring) of (N, C, H, W), averaged over N: (C, R) power."""
    _, c, h, w = x.shape
    pos, idx, count, window, freqs = _rings(h, w, x.device)
    x = (x - x.mean(dim=(2, 3), keepdim=True)) * window
    power = (torch.fft.fft2(x).abs() ** 2 / (h * w)).mean(dim=0).reshape(c, -1)
    total = torch.zeros(c, len(freqs), dtype=power.dtype, device=x.device)
    total.index_add_(1, idx, power.index_select(1, pos))
    return freqs[1:].to(power.dtype), (total / count.to(power.dtype))[:, 1:]


def hf_ratios(out: torch.Tensor, inp: torch.Tensor, cell: int) -> torch.Tensor:
    """(C,) `native.hf_ratio` of every band of `out` against `inp`, over the batch."""
    f_in, p_in = radial_power(inp.detach())
    f_in = f_in / cell
    nyq = 0.5 / cell
    fit = (f_in >= FIT_RANGE[0] * nyq) & (f_in <= FIT_RANGE[1] * nyq)
    lf, lp = torch.log(f_in[fit]), torch.log(p_in[:, fit].clamp(min=1e-12))
    slope = ((lf - lf.mean()) * (lp - lp.mean(dim=1, keepdim=True))).sum(1) / (
        (lf - lf.mean()) ** 2
    ).sum()
    intercept = lp.mean(dim=1) - slope * lf.mean()
    f_out, p_out = radial_power(out)
    law = torch.exp(intercept[:, None] + slope[:, None] * torch.log(f_out)[None, :])
    same = (f_out >= FIT_RANGE[0] * nyq) & (f_out <= FIT_RANGE[1] * nyq)
    top = (f_out > nyq) & (f_out <= TOP * 0.5)
    weight = f_out  # ring energy = mean power x circumference
    gain = (p_out[:, same] * weight[same]).sum(1) / (law[:, same] * weight[same]).sum(1)
    predicted = gain * (law[:, top] * weight[top]).sum(1)
    return (p_out[:, top] * weight[top]).sum(1) / predicted


def grid_pattern(out: torch.Tensor, cell: int) -> torch.Tensor:
    """(C,) RMS of the mean within-cell pattern of every band, over all cells of the batch."""
    n, c, h, w = out.shape
    cells = out[:, :, : h // cell * cell, : w // cell * cell]
    cells = cells.reshape(n, c, h // cell, cell, w // cell, cell)
    residual = cells - cells.mean(dim=(3, 5), keepdim=True)
    pattern = residual.mean(dim=(0, 2, 4))
    return torch.sqrt((pattern**2).mean(dim=(1, 2)) + 1e-12)


def native_prior(
    out: torch.Tensor, b10: torch.Tensor, b20: torch.Tensor, scale: int, spread: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(grid penalty, spectrum penalty) of the network's answer `out` (DN) on native input.

    `spread` is each band's DN standard deviation, so that the grid counts relative to it.
    """
    grid = torch.cat(
        [
            grid_pattern(out[:, :4], scale) / spread[:4],
            grid_pattern(out[:, 4:], 2 * scale) / spread[4:],
        ]
    )
    ratios = torch.cat([hf_ratios(out[:, :4], b10, scale), hf_ratios(out[:, 4:], b20, 2 * scale)])
    log_r = torch.log(ratios.clamp(min=1e-6))
    lo, hi = math.log(HF_BAND[0]), math.log(HF_BAND[1])
    spectrum = torch.relu(log_r - hi) ** 2 + torch.relu(lo - log_r) ** 2
    return (grid**2).mean(), spectrum.mean()
