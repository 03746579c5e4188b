"""Wald's-protocol evaluation: the network beats bicubic on the held-out validation block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepres.sr import Bicubic, get_model
from deepres.sr.dataset import load_stack, split
from deepres.sr.evaluate import evaluate


def test_bicubic_against_itself_gains_nothing() -> None:
    rng = np.random.default_rng(0)
    b10 = (rng.random((4, 32, 32)) * 3000).astype(np.float32)
    b20 = (rng.random((6, 16, 16)) * 3000).astype(np.float32)
    report = evaluate(Bicubic(), b10, b20, 4)
    assert report["fusion"]["psnr_gain_db"] == 0
    assert report["x4"]["psnr_gain_db"] == 0
    assert {"psnr", "sre", "sam_deg", "ergas", "consistency"} <= set(report["x4"]["model"])


@pytest.mark.realdata
def test_network_beats_bicubic_on_the_validation_block(shared_data: Path) -> None:
    stack = load_stack(shared_data / "sr-train" / "dsen2_T33UUB_20170527_L1C.npz")
    assert stack is not None
    _, val = split(stack)
    assert val.b10.shape == (4, 600, 144)
    report = evaluate(get_model(None, threads=1), val.b10, val.b20, 4)
    assert report["fusion"]["psnr_gain_db"] > 5.0
    assert report["x4"]["psnr_gain_db"] > 0.7
    model_sam, bicubic_sam = report["x4"]["model"]["sam_deg"], report["x4"]["bicubic"]["sam_deg"]
    assert model_sam < bicubic_sam
