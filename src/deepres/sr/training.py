"""Self-supervised training of `S2SR` with Wald's protocol, on sr-train and native scenes.

Needs the `train` extra (torch). Each step draws random crops from the training blocks
(`dataset.load_split`), flips / rotates them, degrades them on the fly and asks the network to
recover the originals. The degradation's MTF at Nyquist is drawn per step from `mtf_range`
(by default Wald's fixed 0.25; a range makes a blind model that loses Wald fidelity, measured).
Real input is sharper than such a degraded copy, and a network trained on copies alone
over-sharpens it, draws patterns on the output grid and adds noise: the native-input prior
(`prior.py`) holds it to natural spectra and no grid on real crops. Losses, all L1 on
normalised DN unless said:

* fusion: the 20 m bands from x2-degraded inputs (and from x4 against their x2 versions);
* spatial x2 / x4, at the 10 m level: the 10 m bands against their truth, the 20 m bands after
  degrading the answer x2 back to 20 m;
* spatial x2 / x4, at the 20 m level: every band degraded to 20 m x f and asked back at 20 m,
  so the 20 m bands' outputs are held to real pixels at full bandwidth, not only through a
  blur that hides any pattern on the output grid;
* the native prior at x2 and x4 (no truth): grid pattern and high-frequency energy, ramped
  in after `prior_start` of the run.

Seeds are fixed; one thread by default, so a run is reproducible from one command.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepres.bands import OUTPUT_BANDS
from deepres.sr.base import FloatArray
from deepres.sr.dataset import BandStack, load_split
from deepres.sr.evaluate import validation_report
from deepres.sr.network import S2SR, degrade_t, to_log
from deepres.sr.prior import native_prior

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every knob of one training run; saved beside the checkpoints."""

    data_dir: Path
    out_dir: Path
    native_dir: Path | None = None
    steps: int = 16000
    batch: int = 16
    crop: int = 64
    crop_20m_level: int = 96
    lr: float = 2e-3
    width: int = 32
    depth: int = 5
    fusion_width: int = 64
    fusion_depth: int = 7
    iterations: int = 1
    consistency_mtf: float = 0.25
    mtf_range: tuple[float, float] = (0.25, 0.25)
    level20_weight: float = 1.0
    band_jitter: float = 0.0  # sigma of a random log gain per band and crop (Wald batches)
    prior_crop: int = 64
    prior_batch: int = 4
    prior_grid_weight: float = 300.0
    prior_hf_weight: float = 0.2
    prior_start: float = 0.2  # share of the steps before the prior starts (then ramps up)
    prior_every: int = 2
    seed: int = 0
    threads: int = 1
    device: str = "cpu"  # torch device to train on ("cuda": a GPU); checkpoints are saved on CPU
    val_every: int = 2000
    max_minutes: float | None = None
    time_schedule: bool = False  # the cosine runs over max_minutes of wall time, not over steps
    resume: Path | None = None  # a checkpoint of this config: its weights, from its step on
    resumed_from: str = ""  # filled in by `train`: which run and step the weights came from
    files: list[str] = field(default_factory=list)  # stems to keep; empty keeps all


#: `deepres sr train` options that set a `TrainConfig` field, in the order a command line is
#: written back (a model card's `reproduce`, a resumed run's `resumed_from`).
CLI_OPTIONS = {
    "--steps": "steps",
    "--minutes": "max_minutes",
    "--time-schedule": "time_schedule",
    "--batch": "batch",
    "--lr": "lr",
    "--band-jitter": "band_jitter",
    "--prior-batch": "prior_batch",
    "--prior-hf-weight": "prior_hf_weight",
    "--device": "device",
    "--seed": "seed",
    "--threads": "threads",
}


def command_options(cfg: dict[str, Any]) -> str:
    """The `deepres sr train` options that give the saved config `cfg`: `--steps` always, the
    others where they differ from `TrainConfig`'s defaults."""
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    parts = []
    for option, key in CLI_OPTIONS.items():
        value = cfg.get(key, defaults.get(key))
        if key != "steps" and (value is None or value == defaults.get(key)):
            continue
        if isinstance(value, bool):
            parts.append(option)
        else:
            parts.append(f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}")
    return " ".join(parts)


class TorchSR:
    """An `SRModel` view of a torch `S2SR` (DN in, DN out), for validation during training."""

    def __init__(self, net: S2SR, name: str = "s2sr") -> None:
        self.net, self.name, self.version = net, name, "training"

    @property
    def scales(self) -> tuple[int, ...]:
        return S2SR.SCALES

    def upscale(self, b10: FloatArray, b20: FloatArray, scale: int) -> FloatArray:
        self.net.eval()
        device = next(self.net.parameters()).device
        with torch.no_grad():
            x10, x20 = (torch.from_numpy(b)[None].to(device) for b in (b10, b20))
            out = self.net(x10, x20, scale)
        return np.asarray(out[0].cpu().numpy(), np.float32)


def _band_values(stacks: list[BandStack], i: int) -> np.ndarray:
    return np.concatenate([(s.b10[i] if i < 4 else s.b20[i - 4]).ravel() for s in stacks]).astype(
        np.float64
    )


def band_statistics(stacks: list[BandStack]) -> tuple[FloatArray, FloatArray]:
    """Per-band mean and standard deviation (DN, `OUTPUT_BANDS` order) over the training blocks."""
    values = [_band_values(stacks, i) for i in range(len(OUTPUT_BANDS))]
    return (
        np.asarray([v.mean() for v in values], np.float32),
        np.asarray([v.std() for v in values], np.float32),
    )


def log_statistics(stacks: list[BandStack]) -> tuple[FloatArray, FloatArray]:
    """Per-band mean and standard deviation of log DN (what the network normalises with)."""
    values = [np.log(np.maximum(_band_values(stacks, i), 1.0)) for i in range(len(OUTPUT_BANDS))]
    return (
        np.asarray([v.mean() for v in values], np.float32),
        np.asarray([max(v.std(), 0.05) for v in values], np.float32),
    )


class CropSampler:
    """Random augmented crops of the training blocks (DN), as torch tensors.

    Every crop is rotated by a multiple of 90 degrees and perhaps flipped. With `jitter` > 0
    each band of a crop is also scaled by its own random gain, exp(N(0, jitter)), at both
    resolutions alike: the ratios between bands then differ from crop to crop, so the network
    must read how the 20 m bands follow the 10 m ones from the crop itself rather than recall
    the training scenes' spectra.
    """

    def __init__(
        self,
        stacks: list[BandStack],
        crop: int,
        rng: np.random.Generator,
        jitter: float = 0.0,
        device: str = "cpu",
    ) -> None:
        self.stacks = [s for s in stacks if min(s.b10.shape[1:]) >= crop]
        if not self.stacks:
            raise ValueError(f"no training block is {crop} px on its shorter side")
        area = np.array([s.b10.shape[1] * s.b10.shape[2] for s in self.stacks], np.float64)
        self.p = np.sqrt(area) / np.sqrt(area).sum()  # big files count more, small ones still seen
        self.crop, self.rng, self.jitter, self.device = crop, rng, jitter, torch.device(device)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        b10s, b20s = [], []
        c = self.crop
        for i in self.rng.choice(len(self.stacks), size=n, p=self.p):
            s = self.stacks[i]
            y = int(self.rng.integers(0, (s.b10.shape[1] - c) // 2 + 1)) * 2
            x = int(self.rng.integers(0, (s.b10.shape[2] - c) // 2 + 1)) * 2
            a = s.b10[:, y : y + c, x : x + c]
            b = s.b20[:, y // 2 : (y + c) // 2, x // 2 : (x + c) // 2]
            k, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            a, b = np.rot90(a, k, axes=(1, 2)), np.rot90(b, k, axes=(1, 2))
            if flip:
                a, b = a[:, :, ::-1], b[:, :, ::-1]
            if self.jitter > 0:
                gain = np.exp(self.rng.normal(0.0, self.jitter, 10)).astype(np.float32)
                a, b = a * gain[:4, None, None], b * gain[4:, None, None]
            b10s.append(np.ascontiguousarray(a))
            b20s.append(np.ascontiguousarray(b))
        return self._tensor(b10s), self._tensor(b20s)

    def _tensor(self, crops: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(crops)).float().to(self.device)


class WaldLoss(torch.nn.Module):
    """The fusion, x2 and x4 L1 losses (both levels) on batches of original-resolution crops."""

    def __init__(self, mean: FloatArray, std: FloatArray, level20_weight: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.from_numpy(std).view(1, -1, 1, 1))
        self.level20_weight = level20_weight

    def _l1(self, pred: torch.Tensor, truth: torch.Tensor, bands: slice) -> torch.Tensor:
        std: torch.Tensor = self.std[:, bands]  # type: ignore[index]
        return F.l1_loss(pred / std, truth / std)

    def level10(
        self, net: S2SR, b10: torch.Tensor, b20: torch.Tensor, mtf: float
    ) -> dict[str, torch.Tensor]:
        """Fusion and spatial losses with the 10 m bands' truth at the 10 m grid."""
        ten, twenty = slice(0, 4), slice(4, 10)
        losses = {}
        for f in (2, 4):
            in10, in20 = degrade_t(b10, f, mtf), degrade_t(b20, f, mtf)
            l10, l20 = to_log(in10), to_log(in20)
            fused = net.fusion(l10, l20)
            target20 = b20 if f == 2 else degrade_t(b20, 2, mtf)
            weight = 1.0 if f == 2 else 0.5
            losses[f"fusion{f}"] = self._l1(torch.exp(fused[:, 4:]), target20, twenty) * weight
            out = torch.exp(net.spatial[str(f)](fused, l10, l20))
            losses[f"x{f}"] = self._l1(out[:, :4], b10, ten) + 0.5 * self._l1(
                degrade_t(out[:, 4:], 2, mtf), b20, twenty
            )
        return losses

    def level20(
        self, net: S2SR, b10: torch.Tensor, b20: torch.Tensor, mtf: float
    ) -> dict[str, torch.Tensor]:
        """Spatial losses one level up: all bands at 20 m x f in, all ten at 20 m against truth."""
        truth = torch.cat([degrade_t(b10, 2, mtf), b20], dim=1)
        losses = {}
        for f in (2, 4):
            in10, in20 = degrade_t(b10, 2 * f, mtf), degrade_t(b20, f, mtf)
            fused = to_log(torch.cat([in10, in20], dim=1))
            ref20 = to_log(degrade_t(b20, 2 * f, mtf))
            out = torch.exp(net.spatial[str(f)](fused, fused[:, :4], ref20))
            losses[f"x{f}_20m"] = self._l1(out, truth, slice(0, 10)) * self.level20_weight
        return losses

    def prior(
        self, net: S2SR, b10: torch.Tensor, b20: torch.Tensor, grid_w: float, hf_w: float
    ) -> dict[str, torch.Tensor]:
        """The native-input prior (`prior.native_prior`) at x2 and x4, weighted."""
        losses = {}
        spread = self.std.view(-1)  # type: ignore[operator]
        for f in (2, 4):
            out = net(b10, b20, f)
            grid, spectrum = native_prior(out, b10, b20, f, spread)
            losses[f"grid{f}"] = grid * grid_w
            losses[f"hf{f}"] = spectrum * hf_w
        return losses


def _lr_at(
    step: int, steps: int, lr: float, start: int = 0, progress: float | None = None
) -> float:
    """Learning rate: a 100-step warm-up from `start`, then a cosine over `progress` (by
    default `step / steps`) down to 2 % of `lr`."""
    warm = min(1.0, (step - start + 1) / 100)
    done = step / steps if progress is None else progress
    return lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * done)))


def _ramp(step: int, steps: int, start: float) -> float:
    """Weight of the native prior: 0 before `start` of the run, rising to 1 by twice that."""
    begin = start * steps
    return 0.0 if step < begin else min(1.0, (step - begin) / max(begin, 1.0))


def _seed(seed: int) -> np.random.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def train(config: TrainConfig) -> dict[str, Any]:
    """Train `S2SR`, checkpointing the best validation score; returns the run summary.

    Only checkpoints taken once the native prior weighs in full (and the last one) compete for
    `best.pt`; every validation also rewrites `last.pt`.

    The checkpoint `best.pt` in `config.out_dir` holds the weights, band statistics and config;
    `export.export_onnx` turns it into a shipped model.
    """
    torch.set_num_threads(config.threads)
    rng = _seed(config.seed)
    train_blocks, val_blocks = load_split(config.data_dir, config.native_dir)
    if config.files:
        keep = set(config.files)
        train_blocks = [b for b in train_blocks if b.name in keep]
        val_blocks = [b for b in val_blocks if b.name in keep]
    mean, std = band_statistics(train_blocks)
    log_mean, log_std = log_statistics(train_blocks)
    device = config.device
    sampler = CropSampler(train_blocks, config.crop, rng, config.band_jitter, device)
    sampler20 = CropSampler(
        train_blocks,
        min(config.crop_20m_level, _shortest(train_blocks)),
        rng,
        config.band_jitter,
        device,
    )
    native = CropSampler(
        train_blocks, min(config.prior_crop, _shortest(train_blocks)), rng, device=device
    )
    prior_on = config.prior_grid_weight > 0 or config.prior_hf_weight > 0
    net = S2SR(
        log_mean.tolist(),
        log_std.tolist(),
        config.width,
        config.depth,
        config.iterations,
        config.fusion_width,
        config.fusion_depth,
        config.consistency_mtf,
    )
    first, ramp_floor = _resume(net, config)
    net.to(device)
    loss_fn = WaldLoss(mean, std, config.level20_weight).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    started, best, history = time.monotonic(), -math.inf, []
    step = first
    for step in range(first, config.steps):
        progress = None
        if config.time_schedule and config.max_minutes:
            progress = min(1.0, (time.monotonic() - started) / 60 / config.max_minutes)
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, config.steps, config.lr, first, progress)
        net.train()
        mtf = float(rng.uniform(*config.mtf_range))
        losses = loss_fn.level10(net, *sampler.batch(config.batch), mtf)
        if config.level20_weight > 0:
            losses |= loss_fn.level20(net, *sampler20.batch(max(2, config.batch // 2)), mtf)
        ramp = max(_ramp(step, config.steps, config.prior_start), ramp_floor)
        if prior_on and ramp > 0 and step % config.prior_every == 0:
            losses |= loss_fn.prior(
                net,
                *native.batch(config.prior_batch),
                config.prior_grid_weight * ramp,
                config.prior_hf_weight * ramp,
            )
        total = sum(losses.values(), torch.zeros((), device=device))
        opt.zero_grad()
        torch.autograd.backward(total)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        minutes = (time.monotonic() - started) / 60
        last = step + 1 == config.steps or (
            config.max_minutes is not None and minutes >= config.max_minutes
        )
        if (step + 1) % config.val_every == 0 or last:
            score = validate(net, val_blocks)
            entry = {
                "step": step + 1,
                "minutes": round(minutes, 2),
                "loss": float(total.detach()),
                "lr": opt.param_groups[0]["lr"],
                "terms": {k: round(float(v.detach()), 4) for k, v in losses.items()},
                **score,
            }
            history.append(entry)
            log.info("%s", json.dumps(entry))
            # Wald's score alone would prefer a checkpoint from before the native prior is
            # fully weighted (it costs a little Wald gain): only those after it compete.
            settled = not prior_on or ramp >= 1.0
            if (settled or last) and score["score"] > best:
                best = score["score"]
                save_checkpoint(config.out_dir / "best.pt", net, config, entry)
            save_checkpoint(config.out_dir / "last.pt", net, config, entry)
        if last:
            break
    summary = {"steps": step + 1, "best_score": best, "history": history}
    (config.out_dir / "history.json").write_text(json.dumps(summary, indent=1))
    return summary


def _resume(net: S2SR, config: TrainConfig) -> tuple[int, float]:
    """Load `config.resume` into `net` (same architecture): (the step to go on from, the
    native prior's weight those weights were trained with); (0, 0.0) without a checkpoint.

    The schedule goes on over `config.steps` in all; the optimiser's moments start afresh (a
    short warm-up), and crops are drawn anew, so a resumed run is not bit-identical to one
    that was never stopped. The prior never weighs less than it did for the weights resumed,
    so a longer `--steps` does not start its ramp again under a settled model.
    """
    if config.resume is None:
        return 0, 0.0
    ckpt = _read_checkpoint(config.resume)
    net.load_state_dict(ckpt["state"])
    step, was = int(ckpt["validation"]["step"]), ckpt["config"]
    if step >= config.steps:
        raise ValueError(f"{config.resume} is at step {step}, past --steps {config.steps}")
    config.resumed_from = f"step {step} of a run of {command_options(was)}" + (
        f", itself going on from {was['resumed_from']}" if was.get("resumed_from") else ""
    )
    return step, _ramp(step - 1, int(was["steps"]), float(was.get("prior_start", 0.0)))


def _shortest(blocks: list[BandStack]) -> int:
    """The longest even crop side that the biggest block allows (multiple of 16)."""
    return int(max(min(b.b10.shape[1:]) for b in blocks)) // 16 * 16


def validate(net: S2SR, blocks: list[BandStack]) -> dict[str, float]:
    """Mean PSNR gains over bicubic on the validation blocks, and their sum as `score`."""
    report = validation_report(TorchSR(net), blocks)["mean_over_blocks"]
    gains = {f"{k}_gain_db": v["gain_db"] for k, v in report.items()}
    return {**gains, "score": float(sum(gains.values()))}


def save_checkpoint(path: Path, net: S2SR, config: TrainConfig, entry: dict[str, Any]) -> None:
    """Weights (log normalisation included), config and the validation entry, in one file."""
    cfg = {
        k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
        for k, v in asdict(config).items()
    }
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save({"state": state, "config": cfg, "validation": entry}, path)


def _architecture(cfg: dict[str, Any]) -> S2SR:
    return S2SR(
        width=cfg["width"],
        depth=cfg["depth"],
        iterations=cfg["iterations"],
        fusion_width=cfg["fusion_width"],
        fusion_depth=cfg["fusion_depth"],
        consistency_mtf=cfg.get("consistency_mtf", 0.45),
    )


def load_checkpoint(path: Path) -> tuple[S2SR, dict[str, Any]]:
    """(network in eval mode, saved metadata) from `save_checkpoint`, or from a released ONNX
    file and its card (`checkpoint_from_onnx`)."""
    ckpt = _read_checkpoint(path)
    net = _architecture(ckpt["config"])
    net.load_state_dict(ckpt["state"])
    net.eval()
    return net, ckpt


def _read_checkpoint(path: Path) -> dict[str, Any]:
    if Path(path).suffix == ".onnx":
        return checkpoint_from_onnx(Path(path))
    ckpt: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return ckpt


def _log_normalisation(graph: Any, band_input: str) -> tuple[Any, Any]:
    """(mean, std) of log DN the graph applies to `band_input`: Clip -> Log -> Sub -> Div."""
    from onnx import AttributeProto, numpy_helper

    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    by_input: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            by_input.setdefault(name, []).append(node)
    chain, found = ["Clip", "Log", "Sub", "Div"], []
    value = band_input
    for op in chain:
        step = next((n for n in by_input.get(value, []) if n.op_type == op), None)
        if step is None:
            break
        if op in ("Sub", "Div"):
            found.append(consts[step.input[1]].reshape(-1))
        value = step.output[0]
    if len(found) == 2:
        return found[0], found[1]
    for node in graph.node:  # the If branches: the first that normalises this input
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                try:
                    return _log_normalisation(attr.g, band_input)
                except ValueError:
                    continue
    raise ValueError(f"no log normalisation of {band_input} in the graph")


def checkpoint_from_onnx(onnx_path: Path) -> dict[str, Any]:
    """A `save_checkpoint`-like record rebuilt from a released ONNX file and its card.

    The learned weights are the graph's initializers (every branch names them after the
    network's state dict, behind an `x{scale}_` prefix); the log normalisation, folded into
    constants at export, is read off the first Sub / Div after each input's Log; architecture,
    step and wall time come from the card's training record. So a shipped model can be
    fine-tuned (`--resume MODEL.onnx`) or released again without its original checkpoint.
    """
    import onnx
    from onnx import AttributeProto, numpy_helper

    from deepres.sr.card import ModelCard

    card = ModelCard.load(onnx_path.with_suffix(".json"))
    record = card.validation_metrics.get("training")
    if not record or "config" not in record:
        raise ValueError(f"{onnx_path}'s card has no training record to rebuild the network")
    graph = onnx.load(str(onnx_path)).graph
    weights: dict[str, torch.Tensor] = {}

    def collect(g: Any) -> None:
        for init in g.initializer:
            _prefix, _, key = init.name.partition(".")
            if key and key not in weights:  # the fusion net repeats in every branch
                weights[key] = torch.from_numpy(numpy_helper.to_array(init).copy())
        for node in g.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    collect(attr.g)

    collect(graph)
    mean10, std10 = _log_normalisation(graph, "b10")
    mean20, std20 = _log_normalisation(graph, "b20")
    net = _architecture(record["config"])
    weights["scale.mean"] = torch.from_numpy(np.concatenate([mean10, mean20])).view(1, -1, 1, 1)
    weights["scale.std"] = torch.from_numpy(np.concatenate([std10, std20])).view(1, -1, 1, 1)
    missing, unexpected = net.load_state_dict(weights, strict=False)
    # the nets share one LogScale (its other names) and fixed filters are made, not learned
    fixed = set(net.state_dict()) - {k for k, _ in net.named_parameters(remove_duplicate=False)}
    if unexpected or set(missing) - fixed:
        raise ValueError(
            f"{onnx_path} does not fit the card's architecture: missing "
            f"{sorted(set(missing) - fixed)}, unexpected {sorted(unexpected)}"
        )
    entry = {"step": record["steps"], "minutes": record["minutes"]}
    return {"state": net.state_dict(), "config": record["config"], "validation": entry}
