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

from deepres.sr.card import ModelCard, Normalisation, TrainingData, sha256_of
from deepres.sr.degrade import gaussian_sigma
from deepres.sr.network import S2SR, AtScale, parameter_count, set_correction_steps

OPSET = 17


def receptive_radius(net: S2SR, side: int = 192) -> int:
    """How many 10 m input pixels each output pixel depends on, measured with an impulse.

    A copy of `net` with random weights (so no dead ReLU hides a path) is run on noisy
    reflectance with and without one changed input pixel; the widest change over all scales,
    rounded up to even, is the context tiled inference must keep.
    """
    probe = copy.deepcopy(net).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
        b10 = 1500 + 300 * torch.randn(1, 4, side, side, generator=gen)
        b20 = 1500 + 300 * torch.randn(1, 6, side // 2, side // 2, generator=gen)
        radius = 0.0
        for scale in S2SR.SCALES:
            base = probe(b10, b20, scale)
            a, b = b10.clone(), b20.clone()
            a[..., side // 2, side // 2] += 500
            b[..., side // 4, side // 4] += 500
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
        (torch.full((1, 4, 64, 64), 1000.0), torch.full((1, 6, 32, 32), 1000.0)),
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
    """One ONNX model: inputs b10, b20 (reflectance DN) and scale (1, 2 or 4), output `sr` (DN)."""
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
    onnx_path: Path,
    *,
    name: str,
    version: str,
    correction_steps: int = 1,
    training_data: TrainingData | None = None,
    validation_metrics: dict[str, Any] | None = None,
    **card_fields: Any,
) -> ModelCard:
    """Write `onnx_path` and the card beside it (`.json`); returns the card.

    The graph takes and gives DN (it normalises internally, in log space), so the card's
    normalisation is the identity. It runs the low-frequency correction `correction_steps` times.
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
        normalisation=Normalisation(),
        level=["L2A", "L1C"],
        context_px=context_px,
        degradation={
            "kind": "gaussian-mtf",
            "mtf_at_nyquist": net.consistency_mtf,
            "correction_steps": correction_steps,
            "sigma_fine_px": {
                str(f): round(gaussian_sigma(f, net.consistency_mtf), 4) for f in (2, 4, 8)
            },
        },
        training_data=training_data or TrainingData(),
        validation_metrics=validation_metrics or {},
        onnx_sha256=sha256_of(onnx_path),
        parameter_count=parameter_count(net),
        **card_fields,
    )
    card.save(onnx_path.with_suffix(".json"))
    return card
