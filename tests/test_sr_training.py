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
    assert last["config"]["resumed_from"] == "step 2 of a run of --steps 2 --batch 2"
    with pytest.raises(ValueError, match="past --steps"):
        train(config(tmp_path / "third", 2, tmp_path / "second" / "last.pt"))


@pytest.mark.realdata
@pytest.mark.slow
def test_a_longer_resumed_run_keeps_the_prior_of_the_weights_it_goes_on_from(
    shared_data: Path, tmp_path: Path
) -> None:
    """More --steps move the prior's ramp later; a settled model must not train without it."""
    train(tiny(shared_data, tmp_path / "first", steps=4, val_every=4, prior_start=0.25))
    # on its own, this schedule would keep the prior off until step 6 and weak until 12
    again = tiny(shared_data, tmp_path / "second", steps=12, val_every=1, prior_start=0.5)
    again.resume = tmp_path / "first" / "last.pt"
    history = train(again)["history"]
    assert "grid2" in history[0]["terms"] and "hf4" in history[0]["terms"]  # step 5: prior on
    _, ckpt = load_checkpoint(tmp_path / "second" / "best.pt")  # settled: it may compete
    assert ckpt["config"]["resumed_from"] == "step 4 of a run of --steps 4 --batch 2"
    lineage = tiny(shared_data, tmp_path / "third", steps=13, val_every=1)
    lineage.resume = tmp_path / "second" / "last.pt"
    train(lineage)
    _, ckpt = load_checkpoint(tmp_path / "third" / "last.pt")
    assert ckpt["config"]["resumed_from"] == (
        "step 12 of a run of --steps 12 --batch 2, "
        "itself going on from step 4 of a run of --steps 4 --batch 2"
    )


@pytest.mark.realdata
@pytest.mark.slow
def test_a_time_schedule_ends_its_cosine_at_the_wall_time_given(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --time-schedule a run cut by --minutes has annealed; by steps it would not have."""
    import itertools

    from deepres.sr import training

    clock = itertools.count(0.0, 0.5)  # every reading of the clock: half a second later
    monkeypatch.setattr(training.time, "monotonic", lambda: next(clock))
    config = tiny(shared_data, tmp_path, steps=100_000, val_every=100_000, max_minutes=0.2)
    config.time_schedule = True
    last = train(config)["history"][-1]
    assert 10 < last["step"] < 100
    by_steps = training._lr_at(last["step"] - 1, config.steps, config.lr)  # same warm-up
    assert last["lr"] < 0.1 * by_steps


def test_a_card_writes_back_the_options_that_made_its_weights() -> None:
    from deepres.sr.training import command_options

    config = TrainConfig(Path("d"), Path("o"), steps=10_000, batch=64, lr=1e-3, device="cuda")
    config.max_minutes, config.time_schedule = 7.0, True
    options = command_options(json.loads(json.dumps(config.__dict__, default=str)))
    expected = "--steps 10000 --minutes 7 --time-schedule --batch 64 --lr 0.001 --device cuda"
    assert options == expected
    assert command_options({"steps": 9000}) == "--steps 9000"  # an older card's config


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


def test_band_jitter_varies_band_ratios_from_crop_to_crop_alike_at_both_resolutions() -> None:
    from deepres.sr.dataset import BandStack
    from deepres.sr.training import CropSampler

    rng = np.random.default_rng(3)
    b10 = np.full((4, 16, 16), 1000.0, np.float32)
    b20 = np.full((6, 8, 8), 2000.0, np.float32)
    stack = BandStack("flat", b10, b20, "L2A", "")
    plain = CropSampler([stack], 8, rng).batch(4)
    assert float(plain[0].min()) == float(plain[0].max()) == 1000.0
    a, b = CropSampler([stack], 8, rng, jitter=0.2).batch(64)
    g10, g20 = a.numpy() / 1000.0, b.numpy() / 2000.0
    # one gain per band and crop: the same at every pixel of that band ...
    assert np.allclose(g10, g10[:, :, :1, :1]) and np.allclose(g20, g20[:, :, :1, :1])
    gains = np.concatenate([g10[:, :, 0, 0], g20[:, :, 0, 0]], axis=1)
    # ... drawn apart for every band (the ratio between two bands changes from crop to crop)
    assert 0.1 < float(np.log(gains).std()) < 0.3
    assert float(np.log(gains[:, 0] / gains[:, 4]).std()) > 0.1
