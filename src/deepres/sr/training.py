"""Self-supervised training of `S2SR` on the sr-train band stacks with Wald's protocol.

Needs the `train` extra (torch). Each step draws random 64 x 64 (10 m) crops from the training
blocks (`dataset.split`), flips / rotates them, degrades them on the fly (MTF Gaussian +
decimation, x2 and x4) and asks the network to recover the originals:
fusion (20 m bands from x2-degraded inputs, and from x4-degraded inputs against their x2
versions), spatial x2 and x4 (10 m bands directly, 20 m bands after degrading the answer x2).
Loss: L1 in the normalised space. Seeds are fixed; one thread by default, so a run is
reproducible from one command.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepres.catalog.scene import OUTPUT_BANDS
from deepres.sr.base import FloatArray
from deepres.sr.dataset import BandStack, load_split
from deepres.sr.evaluate import validation_report
from deepres.sr.network import S2SR, Degrade

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every knob of one training run; saved beside the checkpoints."""

    data_dir: Path
    out_dir: Path
    steps: int = 8000
    batch: int = 16
    crop: int = 64
    lr: float = 2e-3
    width: int = 32
    depth: int = 5
    fusion_width: int = 48
    fusion_depth: int = 6
    iterations: int = 1
    seed: int = 0
    threads: int = 1
    val_every: int = 500
    max_minutes: float | None = None
    files: list[str] = field(default_factory=list)  # stems to keep; empty keeps all


class TorchSR:
    """An `SRModel` view of a torch `S2SR`, for validation during training."""

    def __init__(self, net: S2SR, mean: FloatArray, std: FloatArray, name: str = "s2sr") -> None:
        self.net, self.name, self.version = net, name, "training"
        self.mean, self.std = mean[:, None, None], std[:, None, None]

    @property
    def scales(self) -> tuple[int, ...]:
        return S2SR.SCALES

    def upscale(self, b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray:
        n10 = torch.from_numpy((b10 - self.mean[:4]) / self.std[:4]).float()[None]
        n20 = torch.from_numpy((b20 - self.mean[4:]) / self.std[4:]).float()[None]
        self.net.eval()
        with torch.no_grad():
            out = self.net(n10, n20, scale)[0].numpy()
        result: FloatArray = (out * self.std + self.mean).astype(np.float32)
        return result


def band_statistics(stacks: list[BandStack]) -> tuple[FloatArray, FloatArray]:
    """Per-band mean and standard deviation (DN, `OUTPUT_BANDS` order) over the training blocks."""
    mean, std = [], []
    for i in range(len(OUTPUT_BANDS)):
        vals = np.concatenate(
            [(s.b10[i] if i < 4 else s.b20[i - 4]).ravel() for s in stacks]
        ).astype(np.float64)
        mean.append(vals.mean())
        std.append(vals.std())
    return np.asarray(mean, np.float32), np.asarray(std, np.float32)


class CropSampler:
    """Random augmented crops of the training blocks, normalised, as torch tensors."""

    def __init__(
        self,
        stacks: list[BandStack],
        crop: int,
        mean: FloatArray,
        std: FloatArray,
        rng: np.random.Generator,
    ) -> None:
        self.stacks = [s for s in stacks if min(s.b10.shape[1:]) >= crop]
        area = np.array([s.b10.shape[1] * s.b10.shape[2] for s in self.stacks], np.float64)
        self.p = np.sqrt(area) / np.sqrt(area).sum()  # big files count more, small ones still seen
        self.crop, self.rng = crop, rng
        self.mean, self.std = mean[:, None, None], std[:, None, None]

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        b10s, b20s = [], []
        c = self.crop
        for i in self.rng.choice(len(self.stacks), size=n, p=self.p):
            s = self.stacks[i]
            y = int(self.rng.integers(0, (s.b10.shape[1] - c) // 2 + 1)) * 2
            x = int(self.rng.integers(0, (s.b10.shape[2] - c) // 2 + 1)) * 2
            a = (s.b10[:, y : y + c, x : x + c] - self.mean[:4]) / self.std[:4]
            b20 = s.b20[:, y // 2 : (y + c) // 2, x // 2 : (x + c) // 2]
            b = (b20 - self.mean[4:]) / self.std[4:]
            k, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            a, b = np.rot90(a, k, axes=(1, 2)), np.rot90(b, k, axes=(1, 2))
            if flip:
                a, b = a[:, :, ::-1], b[:, :, ::-1]
            b10s.append(np.ascontiguousarray(a))
            b20s.append(np.ascontiguousarray(b))
        return torch.from_numpy(np.stack(b10s)).float(), torch.from_numpy(np.stack(b20s)).float()


class WaldLoss(torch.nn.Module):
    """Sum of the fusion, x2 and x4 L1 losses on one batch of original-resolution crops."""

    def __init__(self) -> None:
        super().__init__()
        self.d2_10, self.d2_20 = Degrade(4, 2), Degrade(6, 2)
        self.d4_10, self.d4_20 = Degrade(4, 4), Degrade(6, 4)

    def forward(self, net: S2SR, b10: torch.Tensor, b20: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = {}
        for f, d10, d20 in ((2, self.d2_10, self.d2_20), (4, self.d4_10, self.d4_20)):
            in10, in20 = d10(b10), d20(b20)
            fused = net.fusion(in10, in20)
            target20 = b20 if f == 2 else self.d2_20(b20)
            losses[f"fusion{f}"] = F.l1_loss(fused[:, 4:], target20) * (1.0 if f == 2 else 0.5)
            out = net.spatial[str(f)](fused, in10, in20)
            losses[f"x{f}"] = F.l1_loss(out[:, :4], b10) + 0.5 * F.l1_loss(
                self.d2_20(out[:, 4:]), b20
            )
        return losses


def _lr_at(step: int, steps: int, lr: float) -> float:
    warm = min(1.0, (step + 1) / 100)
    return lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / steps)))


def _seed(seed: int) -> np.random.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def train(config: TrainConfig) -> dict[str, Any]:
    """Train `S2SR`, checkpointing the best validation score; returns the run summary.

    The checkpoint `best.pt` in `config.out_dir` holds the weights, band statistics and config;
    `export.export_onnx` turns it into a shipped model.
    """
    torch.set_num_threads(config.threads)
    rng = _seed(config.seed)
    train_blocks, val_blocks = load_split(config.data_dir)
    if config.files:
        keep = set(config.files)
        train_blocks = [b for b in train_blocks if b.name in keep]
        val_blocks = [b for b in val_blocks if b.name in keep]
    mean, std = band_statistics(train_blocks)
    sampler = CropSampler(train_blocks, config.crop, mean, std, rng)
    net = S2SR(
        config.width, config.depth, config.iterations, config.fusion_width, config.fusion_depth
    )
    loss_fn = WaldLoss()
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    started, best, history = time.monotonic(), -math.inf, []
    step = 0
    for step in range(config.steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, config.steps, config.lr)
        net.train()
        losses = loss_fn(net, *sampler.batch(config.batch))
        total = sum(losses.values(), torch.zeros(()))
        opt.zero_grad()
        total.backward()
        opt.step()
        minutes = (time.monotonic() - started) / 60
        last = step + 1 == config.steps or (
            config.max_minutes is not None and minutes >= config.max_minutes
        )
        if (step + 1) % config.val_every == 0 or last:
            score = validate(net, mean, std, val_blocks)
            entry = {
                "step": step + 1,
                "minutes": round(minutes, 2),
                "loss": float(total.detach()),
                **score,
            }
            history.append(entry)
            log.info("%s", json.dumps(entry))
            if score["score"] > best:
                best = score["score"]
                save_checkpoint(config.out_dir / "best.pt", net, mean, std, config, entry)
            save_checkpoint(config.out_dir / "last.pt", net, mean, std, config, entry)
        if last:
            break
    summary = {"steps": step + 1, "best_score": best, "history": history}
    (config.out_dir / "history.json").write_text(json.dumps(summary, indent=1))
    return summary


def validate(
    net: S2SR, mean: FloatArray, std: FloatArray, blocks: list[BandStack]
) -> dict[str, float]:
    """Mean PSNR gains over bicubic on the validation blocks, and their sum as `score`."""
    report = validation_report(TorchSR(net, mean, std), blocks)["mean_over_blocks"]
    gains = {f"{k}_gain_db": v["gain_db"] for k, v in report.items()}
    return {**gains, "score": float(sum(gains.values()))}


def save_checkpoint(
    path: Path,
    net: S2SR,
    mean: FloatArray,
    std: FloatArray,
    config: TrainConfig,
    entry: dict[str, Any],
) -> None:
    """Weights, normalisation, config and the validation entry, in one torch file."""
    cfg = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    torch.save(
        {
            "state": net.state_dict(),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "config": cfg,
            "validation": entry,
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[S2SR, FloatArray, FloatArray, dict[str, Any]]:
    """(network in eval mode, band mean, band std, saved metadata) from `save_checkpoint`."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    cfg = ckpt["config"]
    net = S2SR(
        cfg["width"], cfg["depth"], cfg["iterations"], cfg["fusion_width"], cfg["fusion_depth"]
    )
    net.load_state_dict(ckpt["state"])
    net.eval()
    return net, np.asarray(ckpt["mean"], np.float32), np.asarray(ckpt["std"], np.float32), ckpt
