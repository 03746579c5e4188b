"""The sr-train band stacks, and the spatial split into training and validation blocks.

Split (fixed, no randomness): in every file the right-most quarter of the columns, rounded
down to a multiple of 8 pixels (so that x4 Wald degradation of the 20 m bands is exact), is
the validation block; an 8-pixel gap separates it from the training block on its left.
Rows are cropped to a multiple of 8. Fully cloudy dates (`cloud_fraction == 1`) are left out
of both, because their bands were acquired through different cloud parallax.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepres.catalog.scene import BANDS_10M, BANDS_20M
from deepres.sr.base import FloatArray

GAP_PX = 8
ALIGN_PX = 8


@dataclass(frozen=True)
class BandStack:
    """The 10 m and 20 m bands of one sample as (4, H, W) and (6, H/2, W/2) DN arrays."""

    name: str
    b10: FloatArray
    b20: FloatArray
    level: str
    licence: str

    def columns(self, start: int, stop: int) -> BandStack:
        """The block between 10 m columns `start` and `stop` (both even)."""
        return BandStack(
            self.name,
            self.b10[:, :, start:stop],
            self.b20[:, :, start // 2 : stop // 2],
            self.level,
            self.licence,
        )


def load_stack(path: Path) -> BandStack | None:
    """The bands of one .npz file, or None when the date is fully cloudy."""
    with np.load(path) as z:
        if "cloud_fraction" in z.files and float(z["cloud_fraction"]) >= 1.0:
            return None
        b10 = np.stack([z[b] for b in BANDS_10M]).astype(np.float32)
        b20 = np.stack([z[b] for b in BANDS_20M]).astype(np.float32)
        level, licence = str(z["level"]), str(z["licence"])
    rows = b10.shape[1] // ALIGN_PX * ALIGN_PX
    return BandStack(path.stem, b10[:, :rows], b20[:, : rows // 2], level, licence)


def split(stack: BandStack) -> tuple[BandStack, BandStack]:
    """(training block, validation block) of one stack, as the module docstring describes."""
    width = stack.b10.shape[2]
    val = max(ALIGN_PX, width // 4 // ALIGN_PX * ALIGN_PX)
    start = (width - val) // 2 * 2
    return stack.columns(0, start - GAP_PX), stack.columns(start, start + val)


def load_split(data_dir: Path) -> tuple[list[BandStack], list[BandStack]]:
    """Training and validation blocks of every usable .npz file in `data_dir`, sorted by name."""
    train, val = [], []
    for path in sorted(data_dir.glob("*.npz")):
        stack = load_stack(path)
        if stack is not None:
            t, v = split(stack)
            train.append(t)
            val.append(v)
    if not train:
        raise FileNotFoundError(f"no usable .npz band stacks in {data_dir}")
    return train, val
