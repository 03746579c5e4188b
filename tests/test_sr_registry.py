"""The registry: the shipped default model, the baseline, user models and their checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deepres.errors import InvalidInput, ModelNotFound
from deepres.sr import DEFAULT_MODEL, Bicubic, SRModel, get_model, list_models, register_model
from deepres.sr.card import ModelCard, sha256_of
from deepres.sr.registry import BUILTIN_DIR


def test_shipped_model_has_a_valid_card_and_matching_weights() -> None:
    entry = next(e for e in list_models() if e.name == DEFAULT_MODEL)
    assert entry.builtin
    assert entry.onnx_path == BUILTIN_DIR / f"{DEFAULT_MODEL}.onnx"
    card = entry.card
    assert sha256_of(entry.onnx_path) == card.onnx_sha256
    assert card.scales == [1, 2, 4]
    assert card.tasks == ["fusion", "spatial"]
    assert 10_000 < card.parameter_count < 1_000_000
    gains = {k: v["gain_db"] for k, v in card.validation_metrics["mean_over_blocks"].items()}
    assert gains["fusion"] >= 6.0 and gains["x2"] >= 2.0 and gains["x4"] >= 0.7


def test_get_model_defaults_to_the_network_and_keeps_the_baseline() -> None:
    model = get_model(None, threads=1)
    assert isinstance(model, SRModel)
    assert model.name == DEFAULT_MODEL
    assert model.scales == (1, 2, 4)
    assert isinstance(get_model("bicubic"), Bicubic)


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ModelNotFound, match=f"bicubic, {DEFAULT_MODEL}"):
        get_model("no-such-model")


def _copy_as(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """The shipped model's ONNX file with a card renamed to `name`."""
    onnx_path = tmp_path / "upload.onnx"
    shutil.copyfile(BUILTIN_DIR / f"{DEFAULT_MODEL}.onnx", onnx_path)
    card = json.loads((BUILTIN_DIR / f"{DEFAULT_MODEL}.json").read_text())
    card["name"] = name
    card_path = tmp_path / "upload.json"
    card_path.write_text(json.dumps(card))
    return onnx_path, card_path


def test_register_a_user_model(tmp_path: Path) -> None:
    registry = tmp_path / "models"
    onnx_path, card_path = _copy_as(tmp_path, "my-model")
    claimed = json.loads(card_path.read_text())
    claimed["effective_context_px"] = 2  # a margin far too small: tiles would show seams
    card_path.write_text(json.dumps(claimed))
    entry = register_model(onnx_path, card_path, registry)
    assert (registry / "my-model.onnx").is_file()
    registered = ModelCard.load(registry / "my-model.json")
    assert registered.name == "my-model"
    # The halo is measured on the network, not taken from the card: the shipped model's own.
    shipped = ModelCard.load(BUILTIN_DIR / f"{DEFAULT_MODEL}.json")
    assert registered.effective_context_px == shipped.effective_context_px > 2
    assert [e.name for e in list_models(registry) if not e.builtin] == ["my-model"]
    assert get_model("my-model", registry_dir=registry, threads=1).name == entry.name


def test_register_refuses_to_shadow_a_shipped_model(tmp_path: Path) -> None:
    onnx_path, card_path = _copy_as(tmp_path, DEFAULT_MODEL)
    with pytest.raises(InvalidInput, match="shipped model"):
        register_model(onnx_path, card_path, tmp_path / "models")


def test_register_refuses_a_tampered_file(tmp_path: Path) -> None:
    onnx_path, card_path = _copy_as(tmp_path, "tampered")
    with onnx_path.open("ab") as f:
        f.write(b"\0")
    with pytest.raises(InvalidInput, match="SHA-256"):
        register_model(onnx_path, card_path, tmp_path / "models")
    assert not (tmp_path / "models").exists()
