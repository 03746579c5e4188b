"""The deepres-s2sr network in PyTorch: a small fusion net and one spatial net per scale.

Needs the `train` extra (torch). Everything works in the normalised space of the model card.

* Fusion (DSen2's task): the 20 m bands to the 10 m grid, guided by the 10 m bands. It runs
  entirely on the 20 m grid: the 10 m bands enter space-to-depth, the answer leaves through a
  pixel shuffle as a residual over bicubic.
* Spatial x`f`: the ten fused 10 m bands to 10 m / f, again at input resolution with a
  residual over bicubic and a pixel shuffle.
* Low-frequency correction after each: `out += up(input - degrade(out))` with the Wald
  degradation and bicubic upsampling, so the output degraded back matches its input (SEN2SR's
  low-frequency constraint). The nets are trained through it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepres.sr.bicubic import TAPS, phase_weights
from deepres.sr.degrade import DEFAULT_MTF, degrade_kernel


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


class Degrade(nn.Module):
    """Fixed Wald degradation (Gaussian MTF blur, decimation by `factor`), as `degrade.py`."""

    def __init__(self, channels: int, factor: int, mtf: float = DEFAULT_MTF) -> None:
        super().__init__()
        kernel, pad = degrade_kernel(factor, mtf)
        k = torch.from_numpy(np.array(kernel))
        self.register_buffer("wy", k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1))
        self.register_buffer("wx", k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1))
        self.channels, self.factor, self.pad = channels, factor, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factor == 1:
            return x
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        x = F.conv2d(x, self.wy, stride=(self.factor, 1), groups=self.channels)  # type: ignore[arg-type]
        return F.conv2d(x, self.wx, stride=(1, self.factor), groups=self.channels)  # type: ignore[arg-type]


class Consistency(nn.Module):
    """Low-frequency correction: add back the upsampled gap between input and degraded output."""

    def __init__(self, channels: int, factor: int, iterations: int = 1) -> None:
        super().__init__()
        self.up, self.down = BicubicUp(channels, factor), Degrade(channels, factor)
        self.iterations = iterations

    def forward(self, out: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        for _ in range(self.iterations):
            out = out + self.up(ref - self.down(out))
        return out


def _body(c_in: int, width: int, depth: int, c_out: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
    head = nn.Conv2d(width, c_out, 3, padding=1)
    nn.init.zeros_(head.weight)
    if head.bias is not None:
        nn.init.zeros_(head.bias)  # starts as bicubic + correction
    return nn.Sequential(*layers, head)


class FusionNet(nn.Module):
    """(B, 10, H, W): the 10 m bands unchanged and the 20 m bands fused onto the 10 m grid."""

    def __init__(self, width: int = 32, depth: int = 4, iterations: int = 1) -> None:
        super().__init__()
        self.body = _body(16 + 6, width, depth, 6 * 4)
        self.up = BicubicUp(6, 2)
        self.fix = Consistency(6, 2, iterations)

    def forward(self, b10: torch.Tensor, b20: torch.Tensor) -> torch.Tensor:
        feat = torch.cat([F.pixel_unshuffle(b10, 2), b20], dim=1)
        # residual and bicubic added before the (costly, linear) shuffle: one shuffle, not two
        hi = F.pixel_shuffle(self.up.phases(b20) + self.body(feat), 2)
        return torch.cat([b10, self.fix(hi, b20)], dim=1)


class SpatialNet(nn.Module):
    """(B, 10, H*f, W*f) from the fused bands (B, 10, H, W) and the original inputs."""

    def __init__(self, factor: int, width: int = 32, depth: int = 4, iterations: int = 1) -> None:
        super().__init__()
        self.factor = factor
        self.body = _body(10, width, depth, 10 * factor * factor)
        self.up = BicubicUp(10, factor)
        self.fix10 = Consistency(4, factor, iterations)
        self.fix20 = Consistency(6, 2 * factor, iterations)

    def forward(self, fused: torch.Tensor, b10: torch.Tensor, b20: torch.Tensor) -> torch.Tensor:
        out = F.pixel_shuffle(self.up.phases(fused) + self.body(fused), self.factor)
        return torch.cat([self.fix10(out[:, :4], b10), self.fix20(out[:, 4:], b20)], dim=1)


class S2SR(nn.Module):
    """Fusion plus spatial x2 and x4: `forward(b10, b20, scale)` for scale 1, 2 or 4."""

    SCALES = (1, 2, 4)

    def __init__(
        self,
        width: int = 32,
        depth: int = 5,
        iterations: int = 1,
        fusion_width: int = 48,
        fusion_depth: int = 6,
    ) -> None:
        super().__init__()
        self.fusion = FusionNet(fusion_width, fusion_depth, iterations)
        self.spatial = nn.ModuleDict(
            {str(f): SpatialNet(f, width, depth, iterations) for f in self.SCALES if f > 1}
        )

    def forward(self, b10: torch.Tensor, b20: torch.Tensor, scale: int) -> torch.Tensor:
        fused: torch.Tensor = self.fusion(b10, b20)
        if scale == 1:
            return fused
        out: torch.Tensor = self.spatial[str(scale)](fused, b10, b20)
        return out


class AtScale(nn.Module):
    """`S2SR` frozen at one scale, the form that is exported to ONNX."""

    def __init__(self, net: S2SR, scale: int) -> None:
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, b10: torch.Tensor, b20: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(b10, b20, self.scale)
        return out


def set_correction_steps(net: nn.Module, steps: int) -> None:
    """Run the low-frequency correction `steps` times in every `Consistency` of `net`.

    Each step shrinks the remaining inconsistency (it converges towards an exact projection);
    the validation gains of more steps are measured in the model card.
    """
    for module in net.modules():
        if isinstance(module, Consistency):
            module.iterations = steps


def parameter_count(net: nn.Module) -> int:
    """Number of trainable parameters (fixed filters are buffers, not counted)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
