"""The model registry: models shipped in the package plus those a user registered.

A model is an ONNX file and its card, stored side by side as `<name>.onnx` and `<name>.json`,
either in the package's `weights/` folder or in a user registry folder passed in explicitly.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from deepres.errors import InvalidInput, ModelNotFound
from deepres.sr.card import ModelCard, sha256_of

BUILTIN_DIR = Path(__file__).resolve().parent / "weights"
BASELINE = "bicubic"


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its card, where its ONNX file lies, and whether it ships with us."""

    card: ModelCard
    onnx_path: Path
    builtin: bool

    @property
    def name(self) -> str:
        return self.card.name


def _scan(folder: Path, builtin: bool) -> list[ModelEntry]:
    entries = []
    for card_path in sorted(folder.glob("*.json")):
        onnx_path = card_path.with_suffix(".onnx")
        if onnx_path.is_file():
            entries.append(ModelEntry(ModelCard.load(card_path), onnx_path, builtin))
    return entries


def list_models(registry_dir: Path | None = None) -> list[ModelEntry]:
    """Shipped models first, then those registered in `registry_dir` (when given)."""
    entries = _scan(BUILTIN_DIR, True) if BUILTIN_DIR.is_dir() else []
    if registry_dir is not None and registry_dir.is_dir():
        entries += _scan(registry_dir, False)
    return entries


def find_model(name: str, registry_dir: Path | None = None) -> ModelEntry:
    """The entry called `name`; `ModelNotFound` lists the known names otherwise."""
    entries = list_models(registry_dir)
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join([BASELINE, *(e.name for e in entries)])
    raise ModelNotFound(f"No super-resolution model named {name!r}. Known: {known}.")


def _check_runs(onnx_path: Path, card: ModelCard) -> None:
    """Raise `InvalidInput` unless the ONNX file honours the card's input/output contract."""
    from deepres.sr.onnx_model import OnnxSRModel

    try:
        model = OnnxSRModel(onnx_path, card, providers=["CPUExecutionProvider"], threads=1)
        names = {i.name for i in model.session.get_inputs()}
        if not {"b10", "b20"} <= names:
            raise InvalidInput(f"The ONNX model needs inputs b10 and b20, it has {sorted(names)}.")
        side = 16
        for scale in card.scales:
            out = model.upscale(
                np.zeros((4, side, side), np.float32),
                np.zeros((6, side // 2, side // 2), np.float32),
                scale,
            )
            if out.shape != (10, side * scale, side * scale):
                raise InvalidInput(
                    f"At scale {scale} the model answered {out.shape}, "
                    f"not {(10, side * scale, side * scale)}."
                )
    except InvalidInput:
        raise
    except Exception as exc:  # onnxruntime raises several unrelated types
        raise InvalidInput(f"ONNX Runtime cannot run {onnx_path.name}: {exc}") from exc


def register_model(
    onnx_path: Path, card_path: Path, registry_dir: Path, *, replace: bool = False
) -> ModelEntry:
    """Check an external ONNX model against its card and copy both into `registry_dir`.

    The card's `onnx_sha256` must match the file, the name must not shadow a shipped model,
    and the network must answer the card's scales with the right shapes. The registered card's
    `effective_context_px` (the halo tiles keep) is measured on the network.
    """
    from deepres.sr.onnx_model import with_effective_context

    try:
        card = ModelCard.load(card_path)
    except (OSError, ValidationError) as exc:
        raise InvalidInput(f"Cannot read the model card {card_path}: {exc}") from exc
    digest = sha256_of(onnx_path)
    if digest != card.onnx_sha256:
        raise InvalidInput(
            f"{onnx_path.name} has SHA-256 {digest}, the card says {card.onnx_sha256}."
        )
    if card.name == BASELINE or any(e.name == card.name for e in list_models()):
        raise InvalidInput(f"{card.name!r} is the name of a shipped model; choose another.")
    target = registry_dir / f"{card.name}.onnx"
    if target.exists() and not replace:
        raise InvalidInput(f"A model named {card.name!r} is already registered in {registry_dir}.")
    _check_runs(onnx_path, card)
    # Measured here, whatever the card says: a margin too small would put seams in products.
    card = with_effective_context(onnx_path, card)
    registry_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_path, target)
    card.save(target.with_suffix(".json"))
    return ModelEntry(card, target, builtin=False)
