"""Super-resolution models behind one registry: the bicubic baseline and ONNX networks."""

from __future__ import annotations

from collections.abc import Sequence
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
    "SRModel",
    "get_model",
    "list_models",
    "register_model",
]

#: The model deepres serves when none is named: our own network, trained on sr-train.
DEFAULT_MODEL = "deepres-s2sr"


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
