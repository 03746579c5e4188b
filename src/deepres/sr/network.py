"""The deepres-s2sr network in PyTorch: a fusion net and one spatial net per scale, in log space.

Needs the `train` extra (torch). The network takes and gives reflectance DN; inside, it works on
`log(DN)` (DN below 1, i.e. nodata, read as 1) and returns `exp(...)`, so every output is
positive by construction and detail scales with brightness: dark water gets small absolute
changes, not overshoots below zero.

* Fusion (DSen2's task): the 20 m bands to the 10 m grid, guided by the 10 m bands. It runs on
  the 20 m grid: the 10 m bands enter space-to-depth, the answer leaves through a pixel shuffle
  as a residual over bicubic (of the log bands).
* Spatial x`f`: the ten fused 10 m bands to 10 m / f, again at input resolution with a residual
  over bicubic and a pixel shuffle. Every output band is trained against real pixels at full
  bandwidth (see `training.WaldLoss`), so no output phase is left free to form a grid.
* Low-frequency correction after each net: `log_out += up(log(input) - log(degrade(out)))`,
  the degradation taken in DN (where it is physical) and the correction applied as a ratio
  (which keeps the output positive). The output degraded back then matches its input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepres.sr.bicubic import TAPS, phase_weights
from deepres.sr.degrade import degrade_kernel

#: MTF at Nyquist of the degradation the correction step assumes: Wald's protocol's (and
#: about Sentinel-2's own). One step of it corrects the low frequencies without turning into
#: the deconvolution that several steps would become on sharp native input.
CONSISTENCY_MTF = 0.25
#: Darkest DN the log takes: 0 is nodata in Sentinel-2 products.
MIN_DN = 1.0


class BicubicUp(nn.Module):
    """Fixed bicubic upsampling by `factor` (the baseline's, as a grouped conv + pixel shuffle)."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        w = phase_weights(factor)
        k = np.einsum("pi,qj->pqij", w, w).reshape(factor * factor, 1, TAPS, TAPS)
        self.register_buffer("weight", torch.from_numpy(np.tile(k, (channels, 1, 1, 1))))
        self.channels, self.factor = channels, factor

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C*f*f, H, W): the upsampled image before the pixel shuffle (`c*f*f + phase`)."""
        x = F.pad(x, (2, 2, 2, 2), mode="replicate")
        return F.conv2d(x, self.weight, groups=self.channels)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factor == 1:
            return x
        return F.pixel_shuffle(self.phases(x), self.factor)


def degrade_weights(
    channels: int, factor: int, mtf: float
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(vertical, horizontal) grouped-conv kernels and padding of the Wald degradation."""
    kernel, pad = degrade_kernel(factor, mtf)
    k = torch.from_numpy(np.array(kernel))
    wy = k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    wx = k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    return wy, wx, pad


def degrade_t(x: torch.Tensor, factor: int, mtf: float) -> torch.Tensor:
    """`degrade.degrade` in torch, for any MTF (kernels built on the fly; used in training)."""
    if factor == 1:
        return x
    wy, wx, pad = degrade_weights(x.shape[1], factor, mtf)
    x = F.pad(x, (pad,) * 4, mode="replicate")
    x = F.conv2d(x, wy.to(x), stride=(factor, 1), groups=x.shape[1])
    return F.conv2d(x, wx.to(x), stride=(1, factor), groups=x.shape[1])


class Degrade(nn.Module):
    """Fixed Wald degradation (Gaussian MTF blur, decimation by `factor`), as `degrade.py`."""

    def __init__(self, channels: int, factor: int, mtf: float = CONSISTENCY_MTF) -> None:
        super().__init__()
        wy, wx, pad = degrade_weights(channels, factor, mtf)
        self.register_buffer("wy", wy)
        self.register_buffer("wx", wx)
        self.channels, self.factor, self.pad = channels, factor, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factor == 1:
            return x
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        x = F.conv2d(x, self.wy, stride=(self.factor, 1), groups=self.channels)  # type: ignore[arg-type]
        return F.conv2d(x, self.wx, stride=(1, self.factor), groups=self.channels)  # type: ignore[arg-type]


class Consistency(nn.Module):
    """Low-frequency correction in log space: add the upsampled log ratio input / degraded."""

    def __init__(
        self, channels: int, factor: int, iterations: int = 1, mtf: float = CONSISTENCY_MTF
    ) -> None:
        super().__init__()
        self.up, self.down = BicubicUp(channels, factor), Degrade(channels, factor, mtf)
        self.iterations = iterations

    def forward(self, log_out: torch.Tensor, log_ref: torch.Tensor) -> torch.Tensor:
        for _ in range(self.iterations):
            log_out = log_out + self.up(log_ref - torch.log(self.down(torch.exp(log_out))))
        return log_out


def _body(c_in: int, width: int, depth: int, c_out: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
    head = nn.Conv2d(width, c_out, 3, padding=1)
    nn.init.zeros_(head.weight)
    if head.bias is not None:
        nn.init.zeros_(head.bias)  # starts as bicubic + correction
    return nn.Sequential(*layers, head)


class LogScale(nn.Module):
    """Per-band mean and spread of log DN: the nets see `(log DN - mean) / std`."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
        )
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def norm(self, log_x: torch.Tensor, bands: slice) -> torch.Tensor:
        return (log_x - self.mean[:, bands]) / self.std[:, bands]  # type: ignore[index]

    def spread(self, bands: slice, phases: int) -> torch.Tensor:
        """(1, C*phases, 1, 1): each band's std repeated per phase (pixel-shuffle order)."""
        std: torch.Tensor = self.std[:, bands]  # type: ignore[index]
        return std.repeat_interleave(phases, dim=1)


def to_log(x: torch.Tensor) -> torch.Tensor:
    """log DN, darker than `MIN_DN` (nodata) read as `MIN_DN`."""
    return torch.log(torch.clamp(x, min=MIN_DN))


TEN, TWENTY, ALL = slice(0, 4), slice(4, 10), slice(0, 10)


class FusionNet(nn.Module):
    """Log of the ten bands on the 10 m grid: the 10 m bands unchanged, the 20 m bands fused."""

    def __init__(
        self,
        scale: LogScale,
        width: int = 48,
        depth: int = 6,
        iterations: int = 1,
        mtf: float = CONSISTENCY_MTF,
    ):
        super().__init__()
        self.scale = scale
        self.body = _body(16 + 6, width, depth, 6 * 4)
        self.up = BicubicUp(6, 2)
        self.fix = Consistency(6, 2, iterations, mtf)

    def forward(self, l10: torch.Tensor, l20: torch.Tensor) -> torch.Tensor:
        n10, n20 = self.scale.norm(l10, TEN), self.scale.norm(l20, TWENTY)
        feat = torch.cat([F.pixel_unshuffle(n10, 2), n20], dim=1)
        res = self.body(feat) * self.scale.spread(TWENTY, 4)
        hi = F.pixel_shuffle(self.up.phases(l20) + res, 2)
        return torch.cat([l10, self.fix(hi, l20)], dim=1)


class SpatialNet(nn.Module):
    """Log of the ten bands at 10 m / f from their fused log (B, 10, H, W) and the log inputs."""

    def __init__(
        self,
        scale: LogScale,
        factor: int,
        width: int = 32,
        depth: int = 5,
        iterations: int = 1,
        mtf: float = CONSISTENCY_MTF,
    ) -> None:
        super().__init__()
        self.scale, self.factor = scale, factor
        self.body = _body(10, width, depth, 10 * factor * factor)
        self.up = BicubicUp(10, factor)
        self.fix10 = Consistency(4, factor, iterations, mtf)
        self.fix20 = Consistency(6, 2 * factor, iterations, mtf)

    def forward(self, fused: torch.Tensor, l10: torch.Tensor, l20: torch.Tensor) -> torch.Tensor:
        res = self.body(self.scale.norm(fused, ALL)) * self.scale.spread(ALL, self.factor**2)
        out = F.pixel_shuffle(self.up.phases(fused) + res, self.factor)
        return torch.cat([self.fix10(out[:, :4], l10), self.fix20(out[:, 4:], l20)], dim=1)


class S2SR(nn.Module):
    """Fusion plus spatial x2 and x4: `forward(b10, b20, scale)` in DN for scale 1, 2 or 4."""

    SCALES = (1, 2, 4)

    def __init__(
        self,
        log_mean: Sequence[float] = (7.0,) * 10,
        log_std: Sequence[float] = (0.5,) * 10,
        width: int = 32,
        depth: int = 5,
        iterations: int = 1,
        fusion_width: int = 48,
        fusion_depth: int = 6,
        consistency_mtf: float = CONSISTENCY_MTF,
    ) -> None:
        super().__init__()
        self.consistency_mtf = consistency_mtf
        self.scale = LogScale(log_mean, log_std)
        self.fusion = FusionNet(self.scale, fusion_width, fusion_depth, iterations, consistency_mtf)
        self.spatial = nn.ModuleDict(
            {
                str(f): SpatialNet(self.scale, f, width, depth, iterations, consistency_mtf)
                for f in self.SCALES
                if f > 1
            }
        )

    def forward_log(self, l10: torch.Tensor, l20: torch.Tensor, scale: int) -> torch.Tensor:
        """Log DN of the answer from log DN inputs (what training supervises)."""
        fused: torch.Tensor = self.fusion(l10, l20)
        if scale == 1:
            return fused
        out: torch.Tensor = self.spatial[str(scale)](fused, l10, l20)
        return out

    def forward(self, b10: torch.Tensor, b20: torch.Tensor, scale: int) -> torch.Tensor:
        return torch.exp(self.forward_log(to_log(b10), to_log(b20), scale))


class AtScale(nn.Module):
    """`S2SR` frozen at one scale, the form that is exported to ONNX."""

    def __init__(self, net: S2SR, scale: int) -> None:
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, b10: torch.Tensor, b20: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(b10, b20, self.scale)
        return out


def set_correction_steps(net: nn.Module, steps: int) -> None:
    """Run the low-frequency correction `steps` times in every `Consistency` of `net`."""
    for module in net.modules():
        if isinstance(module, Consistency):
            module.iterations = steps


def parameter_count(net: nn.Module) -> int:
    """Number of trainable parameters (fixed filters are buffers, not counted)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
