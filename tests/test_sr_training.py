"""A few real training steps on a small crop, ONNX export, and registration of the result.

This is the CI-sized version of `deepres sr train`; the shipped weights come from the same code
with more steps (see the model card).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepres.errors import InvalidInput, ModelNotFound
from deepres.sr import get_model, list_models, register_model
from deepres.sr.card import ModelCard

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from deepres.sr.network import set_correction_steps  # noqa: E402
from deepres.sr.release import release  # noqa: E402  (needs torch)
from deepres.sr.training import (  # noqa: E402
    TorchSR,
    TrainConfig,
    checkpoint_from_onnx,
    load_checkpoint,
    train,
)

PATCH = "bigearthnet_S2A_MSIL2A_20170617T113321_36_85"


def tiny(data: Path, out: Path, **options: Any) -> TrainConfig:
    """A CI-sized run on one small patch: narrow nets, small crops, a few steps."""
    size = {"batch": 2, "crop": 32, "width": 8, "depth": 3, "fusion_width": 8, "fusion_depth": 3}
    return TrainConfig(data / "sr-train", out, files=[PATCH], **(size | options))


@pytest.fixture(scope="module")
def exported(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train")
    config = tiny(shared_data, out, steps=3, val_every=3)
    summary = train(config)
    assert summary["steps"] == 3
    assert (out / "best.pt").is_file()
    release(
        out / "best.pt",
        out / "tiny-test.onnx",
        name="tiny-test",
        version="0.0.1",
        data_dir=shared_data / "sr-train",
        threads=1,
    )
    return out / "tiny-test.onnx"


@pytest.mark.realdata
@pytest.mark.slow
def test_training_exports_a_model_that_matches_torch(exported: Path, shared_data: Path) -> None:
    card = ModelCard.load(exported.with_suffix(".json"))
    assert card.scales == [1, 2, 4]
    assert card.parameter_count > 0
    assert set(card.validation_metrics["mean_over_blocks"]) == {"fusion", "x2", "x4"}
    net, _ = load_checkpoint(exported.parent / "best.pt")
    set_correction_steps(net, card.degradation["correction_steps"])
    from deepres.sr.onnx_model import OnnxSRModel

    onnx_model = OnnxSRModel(exported, card, threads=1)
    z = np.load(shared_data / "sr-train" / f"{PATCH}.npz")
    b10 = np.stack([z[b] for b in ("B02", "B03", "B04", "B08")])[:, :64, :64]
    b20 = np.stack([z[b] for b in ("B05", "B06", "B07", "B8A", "B11", "B12")])[:, :32, :32]
    for scale in (1, 2, 4):
        ours = onnx_model.upscale(b10, b20, scale)
        ref = TorchSR(net).upscale(b10, b20, scale)
        assert ours.shape == (10, 64 * scale, 64 * scale)
        assert np.abs(ours - ref).max() < 0.05  # DN; float32 rounding only


@pytest.mark.realdata
@pytest.mark.slow
def test_register_the_exported_model(exported: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    entry = register_model(exported, exported.with_suffix(".json"), registry)
    assert entry.onnx_path == registry / "tiny-test.onnx"
    assert "tiny-test" in [e.name for e in list_models(registry)]
    assert "tiny-test" not in [e.name for e in list_models()]
    model = get_model("tiny-test", registry_dir=registry, threads=1)
    b10, b20 = np.full((4, 16, 16), 800, np.float32), np.full((6, 8, 8), 1500, np.float32)
    out = model.upscale(b10, b20, 4)
    assert out.shape == (10, 64, 64)
    np.testing.assert_allclose(out[:4].mean(), 800, rtol=0.02)
    with pytest.raises(InvalidInput, match="already registered"):
        register_model(exported, exported.with_suffix(".json"), registry)
    with pytest.raises(ModelNotFound, match="tiny-test"):
        get_model("tiny-test")  # not in the package registry


@pytest.mark.realdata
@pytest.mark.slow
def test_register_refuses_a_card_that_does_not_match(exported: Path, tmp_path: Path) -> None:
    card = json.loads(exported.with_suffix(".json").read_text())
    card["onnx_sha256"] = "0" * 64
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(card))
    with pytest.raises(InvalidInput, match="SHA-256"):
        register_model(exported, bad, tmp_path / "registry")
    assert not (tmp_path / "registry").exists()


@pytest.mark.realdata
@pytest.mark.slow
def test_release_measures_a_checkpoint_again_on_the_scenes_given(
    exported: Path, shared_data: Path, tmp_path: Path
) -> None:
    """`sr release` turns a checkpoint into a model whose card reports each scene asked for."""
    from typer.testing import CliRunner

    from deepres.cli.sr import sr_app

    scene = shared_data / "native" / "bigearthnet_S2A_MSIL2A_20170613T101031_87_48"
    out = tmp_path / "again.onnx"
    args = ["release", str(exported.parent / "best.pt"), "--out", str(out), "--name", "again"]
    args += ["--data", str(shared_data / "sr-train"), "--check-scene", str(scene)]
    result = CliRunner().invoke(sr_app, args)
    assert result.exit_code == 0, result.output
    card = ModelCard.load(out.with_suffix(".json"))
    assert card.name == "again" and out.is_file()
    report = card.validation_metrics
    assert set(report["cross_scene"]) == set(report["native"]) == {scene.name}
    assert set(report["native"][scene.name]) == {"crop_10m_px", "x2", "x4"}
    assert f"--check-scene {scene}" in report["training"]["reproduce"]


@pytest.mark.realdata
@pytest.mark.slow
def test_best_checkpoint_is_one_trained_with_the_native_prior(
    shared_data: Path, tmp_path: Path
) -> None:
    """Wald's score would pick an early checkpoint, before the prior that removes the grid."""
    # prior from step 1, in full from step 2 (validated as step 3)
    config = tiny(shared_data, tmp_path, steps=4, val_every=1, prior_start=0.25)
    summary = train(config)
    assert [h["step"] for h in summary["history"]] == [1, 2, 3, 4]
    _, best = load_checkpoint(tmp_path / "best.pt")
    assert best["validation"]["step"] >= 3


@pytest.mark.realdata
@pytest.mark.slow
def test_a_run_goes_on_from_its_checkpoint(shared_data: Path, tmp_path: Path) -> None:
    def config(out: Path, steps: int, resume: Path | None = None) -> TrainConfig:
        return tiny(shared_data, out, steps=steps, val_every=1, resume=resume)

    train(config(tmp_path / "first", 2))
    summary = train(config(tmp_path / "second", 4, tmp_path / "first" / "last.pt"))
    assert [h["step"] for h in summary["history"]] == [3, 4]  # on from step 2, not again
    _, last = load_checkpoint(tmp_path / "second" / "last.pt")
    assert last["config"]["resumed_from"] == "step 2 of a run of --steps 2"
    with pytest.raises(ValueError, match="past --steps"):
        train(config(tmp_path / "third", 2, tmp_path / "second" / "last.pt"))


@pytest.mark.realdata
def test_refigure_measures_a_released_card_again_from_its_onnx(
    exported: Path, shared_data: Path, tmp_path: Path
) -> None:
    """`sr refigure` replaces stale figures and keeps what only the checkpoint could tell."""
    from typer.testing import CliRunner

    from deepres.cli.sr import sr_app

    onnx = tmp_path / "tiny-test.onnx"
    shutil.copy(exported, onnx)
    stale = ModelCard.load(exported.with_suffix(".json"))
    kept = {"steps": 3, "minutes": 0.1}
    stale = stale.model_copy(
        update={"validation_metrics": {"per_block": {"stale": {}}, "training": kept}}
    )
    stale.save(onnx.with_suffix(".json"))
    data = tmp_path / "data"
    data.mkdir()
    (data / f"{PATCH}.npz").symlink_to(shared_data / "sr-train" / f"{PATCH}.npz")
    scene = shared_data / "native" / "bigearthnet_S2A_MSIL2A_20170613T101031_87_48"
    args = ["refigure", str(onnx), "--data", str(data), "--check-scene", str(scene)]
    result = CliRunner().invoke(sr_app, args)
    assert result.exit_code == 0, result.output
    report = ModelCard.load(onnx.with_suffix(".json")).validation_metrics
    assert set(report["per_block"]) == {PATCH}
    assert set(report["cross_scene"]) == set(report["native"]) == {scene.name}
    assert report["training"] == kept
    assert json.loads(result.stdout)["validation"] == report["mean_over_blocks"]


@pytest.mark.realdata
def test_a_released_onnx_file_gives_its_checkpoint_back(exported: Path, tmp_path: Path) -> None:
    """The shipped model can be fine-tuned or released again though its .pt is gone."""
    original = torch.load(exported.parent / "best.pt", map_location="cpu", weights_only=True)
    rebuilt = checkpoint_from_onnx(exported)
    assert set(rebuilt["state"]) == set(original["state"])
    for key, value in original["state"].items():
        assert torch.allclose(rebuilt["state"][key], value, atol=1e-7), key
    assert rebuilt["validation"]["step"] == 3
    bare = tmp_path / "bare.onnx"  # a card without its training record cannot be rebuilt
    shutil.copy(exported, bare)
    card = ModelCard.load(exported.with_suffix(".json"))
    card.model_copy(update={"validation_metrics": {}}).save(bare.with_suffix(".json"))
    with pytest.raises(ValueError, match="no training record"):
        checkpoint_from_onnx(bare)


def test_the_shipped_network_is_rebuilt_from_its_onnx_file() -> None:
    from deepres.sr import DEFAULT_MODEL
    from deepres.sr.registry import find_model
    from tests.scenes import natural_field

    shipped = get_model(DEFAULT_MODEL, threads=1)
    net, ckpt = load_checkpoint(find_model(DEFAULT_MODEL).onnx_path)
    assert ckpt["validation"]["step"] == shipped.card.validation_metrics["training"]["steps"]
    b10 = np.stack([natural_field(64, seed) for seed in range(4)])
    b20 = np.stack([natural_field(32, seed) for seed in range(4, 10)])
    for scale in (1, 4):
        diff = shipped.upscale(b10, b20, scale) - TorchSR(net).upscale(b10, b20, scale)
        assert np.abs(diff).max() < 0.1  # DN


@pytest.mark.realdata
def test_training_goes_on_from_a_released_onnx_file(
    exported: Path, shared_data: Path, tmp_path: Path
) -> None:
    summary = train(tiny(shared_data, tmp_path, steps=4, val_every=1, resume=exported))
    assert [h["step"] for h in summary["history"]] == [4]
    _, ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["config"]["resumed_from"].startswith("step 3 of a run of --steps 3")
