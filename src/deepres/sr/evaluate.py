"""Wald's-protocol evaluation of any `SRModel` against the bicubic baseline.

The inputs are degraded by the scale (Gaussian MTF blur, decimation), super-resolved back and
compared with the originals: fusion on the 20 m bands (DSen2's protocol: both resolutions
degraded x2), spatial xN on the 10 m bands (both degraded xN). For spatial xN the 20 m bands
have no truth at 10 m; they are scored after degrading the answer x2 back to 20 m. A fusing model
runs as the service runs it: co-registered where the degraded input's 20 m grid is displaced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepres.sr.base import FloatArray, SRModel
from deepres.sr.bicubic import Bicubic
from deepres.sr.degrade import degrade
from deepres.sr.metrics import quality, spectral_consistency
from deepres.sr.registration import co_registered


def crop_for(b10: FloatArray, b20: FloatArray, scale: int) -> tuple[FloatArray, FloatArray]:
    """The top-left part of a window whose sides allow Wald degradation by `max(2, scale)`."""
    step = 2 * max(2, scale)
    h, w = b10.shape[1] // step * step, b10.shape[2] // step * step
    if h == 0 or w == 0:
        raise ValueError(f"a {b10.shape[1:]} window is too small for scale {scale}")
    return b10[:, :h, :w], b20[:, : h // 2, : w // 2]


def _score(pred: FloatArray, truth: FloatArray, scale: int) -> dict[str, Any]:
    return {
        k: (round(v, 4) if isinstance(v, float) else v)
        for k, v in quality(pred, truth, scale).items()
    }


def fusion_task(model: SRModel, b10: FloatArray, b20: FloatArray) -> dict[str, Any]:
    """Fusion of the 20 m bands (Wald x2): quality for `model` and bicubic, and the PSNR gain."""
    b10, b20 = crop_for(b10, b20, 2)
    in10, in20 = degrade(b10, 2), degrade(b20, 2)
    report: dict[str, Any] = {"bands": "B05 B06 B07 B8A B11 B12"}
    for key, m in (("model", co_registered(model, in10, in20)), ("bicubic", Bicubic())):
        out = m.upscale(in10, in20, 1)
        report[key] = _score(out[4:], b20, 2)
        report[key]["consistency"] = spectral_consistency(out, in10, in20, 1)
    report["psnr_gain_db"] = round(report["model"]["psnr"] - report["bicubic"]["psnr"], 3)
    return report


def spatial_task(model: SRModel, b10: FloatArray, b20: FloatArray, scale: int) -> dict[str, Any]:
    """Spatial xN (Wald xN): 10 m bands scored directly, 20 m bands after degrading x2."""
    b10, b20 = crop_for(b10, b20, scale)
    in10, in20 = degrade(b10, scale), degrade(b20, scale)
    report: dict[str, Any] = {"bands": "B02 B03 B04 B08", "scale": scale}
    for key, m in (("model", co_registered(model, in10, in20)), ("bicubic", Bicubic())):
        out = m.upscale(in10, in20, scale)
        report[key] = _score(out[:4], b10, scale)
        report[key]["psnr_20m_bands_at_20m"] = round(
            float(np.mean(quality(degrade(out[4:], 2), b20, scale)["psnr"])), 4
        )
        report[key]["consistency"] = spectral_consistency(out, in10, in20, scale)
    report["psnr_gain_db"] = round(report["model"]["psnr"] - report["bicubic"]["psnr"], 3)
    return report


def evaluate(model: SRModel, b10: FloatArray, b20: FloatArray, scale: int) -> dict[str, Any]:
    """Fusion and (for scale > 1) spatial x`scale` reports for one window of a scene."""
    report: dict[str, Any] = {"model": model.name, "fusion": fusion_task(model, b10, b20)}
    if scale > 1:
        report[f"x{scale}"] = spatial_task(model, b10, b20, scale)
    return report


def validation_report(
    model: SRModel, stacks: list[Any], scales: tuple[int, ...] = (2, 4)
) -> dict[str, Any]:
    """Per-block and mean (each block weighs the same) PSNR of `model` and bicubic.

    `stacks` are `dataset.BandStack` validation blocks. Each task reports the model's mean
    PSNR, bicubic's, the gain in dB, and the model's spectral consistency PSNR.
    """
    per_block: dict[str, dict[str, Any]] = {}
    for stack in stacks:
        row: dict[str, Any] = {}
        tasks = [("fusion", fusion_task(model, stack.b10, stack.b20))]
        tasks += [(f"x{s}", spatial_task(model, stack.b10, stack.b20, s)) for s in scales]
        for key, rep in tasks:
            row[key] = {
                "model_psnr": rep["model"]["psnr"],
                "bicubic_psnr": rep["bicubic"]["psnr"],
                "gain_db": rep["psnr_gain_db"],
                "model_sam_deg": rep["model"]["sam_deg"],
                "bicubic_sam_deg": rep["bicubic"]["sam_deg"],
                "model_consistency_psnr": round(rep["model"]["consistency"]["psnr"], 2),
                "bicubic_consistency_psnr": round(rep["bicubic"]["consistency"]["psnr"], 2),
            }
        per_block[stack.name] = row
    mean: dict[str, dict[str, float]] = {}
    for key in next(iter(per_block.values())):
        fields = per_block[next(iter(per_block))][key]
        mean[key] = {
            f: round(float(np.mean([r[key][f] for r in per_block.values()])), 3) for f in fields
        }
    return {"mean_over_blocks": mean, "per_block": per_block}
