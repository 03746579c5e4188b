"""`ModelCard`: the JSON record that ships beside every ONNX super-resolution model."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deepres.bands import BANDS_10M, BANDS_20M, OUTPUT_BANDS

Task = Literal["fusion", "spatial"]
Level = Literal["L1C", "L2A"]


def _l2a() -> list[Level]:
    return ["L2A"]


class Normalisation(BaseModel):
    """Per-band affine map the runtime applies: `model_in = (DN - offset) / scale`.

    The model's output is mapped back with `DN = model_out * scale + offset`, band by band in
    `bands_out` order (inputs use the same values for the same band ids).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["affine"] = "affine"
    offset: dict[str, float] = Field(default_factory=dict)
    scale: dict[str, float] = Field(default_factory=dict)

    def arrays(self, bands: tuple[str, ...]) -> tuple[list[float], list[float]]:
        """(offsets, scales) for `bands`; a band not listed keeps offset 0 and scale 1."""
        return (
            [self.offset.get(b, 0.0) for b in bands],
            [self.scale.get(b, 1.0) for b in bands],
        )


class TrainingData(BaseModel):
    """What the weights were trained on, and under which licence those data are."""

    files: list[str] = Field(default_factory=list)
    licence: str = ""
    attribution: str = "Contains modified Copernicus Sentinel data (2015-2023)"
    split: str = ""


class ModelCard(BaseModel):
    """Everything a user needs to trust and run one ONNX model.

    ONNX contract: inputs `b10` (N, 4, H, W) and `b20` (N, 6, H/2, W/2) float32 in the normalised
    space described by `normalisation`, plus an int64 scalar input `scale` when `scales` holds
    more than one value; one output (N, 10, H*scale, W*scale) in `bands_out` order.
    `context_px` is how many 10 m input pixels one output pixel depends on in each direction
    (every path through the network); `effective_context_px`, measured on the trained weights
    (`sr.tiling.influence_radius`), is the distance beyond which nothing moves an output pixel by
    more than 0.05 DN. Tiled inference keeps the second as its margin (the first where a card
    has none), so that tiles agree to float rounding.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    version: str
    description: str = ""
    tasks: list[Task]
    bands_in: list[str] = Field(default_factory=lambda: list(BANDS_10M + BANDS_20M))
    bands_out: list[str] = Field(default_factory=lambda: list(OUTPUT_BANDS))
    scales: list[int]
    normalisation: Normalisation = Field(default_factory=Normalisation)
    level: list[Level] = Field(default_factory=_l2a)
    context_px: int = Field(default=32, ge=0)
    effective_context_px: int | None = Field(default=None, ge=0)
    degradation: dict[str, Any] = Field(default_factory=dict)
    training_data: TrainingData = Field(default_factory=TrainingData)
    validation_metrics: dict[str, Any] = Field(default_factory=dict)
    onnx_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    licence: str = "Apache-2.0"
    parameter_count: int = Field(ge=0)
    design: str = ""
    limitations: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_bands(self) -> ModelCard:
        if tuple(self.bands_out) != OUTPUT_BANDS:
            raise ValueError(f"bands_out must be {list(OUTPUT_BANDS)} in that order")
        if tuple(self.bands_in) != BANDS_10M + BANDS_20M:
            raise ValueError(f"bands_in must be {list(BANDS_10M + BANDS_20M)} in that order")
        if not self.scales or any(s < 1 for s in self.scales):
            raise ValueError("scales must list positive integers")
        return self

    def margin_px(self) -> int:
        """The margin (even, 10 m px) tiled inference keeps: the effective context if measured,
        else the structural one."""
        margin = self.context_px if self.effective_context_px is None else self.effective_context_px
        return margin + margin % 2

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        """The card stored as JSON at `path`."""
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        """Write the card as indented JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at `path`."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
