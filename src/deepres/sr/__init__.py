"""Super-resolution models behind one registry: the bicubic baseline and ONNX networks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepres.errors import InvalidInput
from deepres.sr.base import SRModel
from deepres.sr.bicubic import Bicubic
from deepres.sr.card import ModelCard
from deepres.sr.registry import ModelEntry, find_model, list_models, register_model

__all__ = [
    "DEFAULT_MODEL",
    "Bicubic",
    "ModelCard",
    "ModelEntry",
    "ModelInfo",
    "SRModel",
    "describe_model",
    "describe_models",
    "get_model",
    "list_models",
    "register_model",
]

#: The model deepres serves when none is named: our own network, trained on sr-train.
DEFAULT_MODEL = "deepres-s2sr"


@dataclass(frozen=True)
class ModelInfo:
    """What a caller may ask of a model, read from its card: no network is loaded."""

    name: str
    version: str
    scales: tuple[int, ...]
    baseline: bool = False
    description: str = ""


def _bicubic_info() -> ModelInfo:
    b = Bicubic()
    return ModelInfo(b.name, b.version, b.scales, True, "bicubic interpolation (baseline)")


def describe_models(registry_dir: Path | None = None) -> list[ModelInfo]:
    """Every model a job may name: the shipped network(s), user models, then the baseline."""
    infos = [
        ModelInfo(e.name, e.card.version, tuple(e.card.scales), False, e.card.description)
        for e in list_models(registry_dir)
    ]
    return [*infos, _bicubic_info()]


def describe_model(name: str | None, registry_dir: Path | None = None) -> ModelInfo:
    """The card facts of model `name` (`DEFAULT_MODEL` when None); `ModelNotFound` otherwise."""
    name = name or DEFAULT_MODEL
    if name == Bicubic.name:
        return _bicubic_info()
    entry = find_model(name, registry_dir)
    return ModelInfo(entry.name, entry.card.version, tuple(entry.card.scales), False)


def get_model(
    name: str | None = None,
    *,
    registry_dir: Path | None = None,
    providers: Sequence[str] | None = None,
    threads: int = 0,
) -> SRModel:
    """The registered model called `name` (`DEFAULT_MODEL` when None; `bicubic` is the baseline).

    ONNX models run on `providers` (CUDA when available, else CPU) with `threads` intra-op
    threads (0: ONNX Runtime decides). Unknown names raise `deepres.errors.ModelNotFound`.
    """
    name = name or DEFAULT_MODEL
    if name == "bicubic":
        return Bicubic()
    entry = find_model(name, registry_dir)
    from deepres.sr.card import sha256_of
    from deepres.sr.onnx_model import OnnxSRModel

    if sha256_of(entry.onnx_path) != entry.card.onnx_sha256:
        raise InvalidInput(f"{entry.onnx_path} does not match the SHA-256 in its model card.")
    return OnnxSRModel(entry.onnx_path, entry.card, providers=providers, threads=threads)
