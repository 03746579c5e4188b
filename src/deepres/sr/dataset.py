"""Training material (sr-train band stacks, native scene folders) and its split.

Split (fixed, no randomness): in every file the right-most quarter of the columns, rounded
down to a multiple of 8 pixels (so that x4 Wald degradation of the 20 m bands is exact), is
the validation block; an 8-pixel gap separates it from the training block on its left.
Rows are cropped to a multiple of 8. Fully cloudy dates (`cloud_fraction == 1`) are left out
of both, because their bands were acquired through different cloud parallax.

Native scene folders (`B02.tif` ... `B12.tif`) join the same split, except the scenes kept
unseen (`UNSEEN_SCENES`, reported apart) and those whose licence would follow the weights
(`SHARE_ALIKE_MARKERS`: Major-TOM is CC-BY-SA).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepres.bands import BANDS_10M, BANDS_20M
from deepres.sr.base import FloatArray

GAP_PX = 8
ALIGN_PX = 8
#: Native scenes never trained on: a dense city (whose 20 m grid sits half a 10 m pixel off),
#: a partly cloudy date, boreal snow and a second BigEarthNet patch.
UNSEEN_SCENES: tuple[str, ...] = (
    "T39RVJ_20200708_L1C",
    "T43RCP_20200823_L1C_ssl4eo",
    "bigearthnet_S2B_MSIL2A_20180204T94161_57_38",
    "bigearthnet_S2A_MSIL2A_20170613T101031_87_48",
)
#: Folder-name markers of data under a share-alike licence: never trained on.
SHARE_ALIKE_MARKERS: tuple[str, ...] = ("majortom",)


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


def load_scene(scene_dir: Path, licence: str = "") -> BandStack:
    """The bands of one native scene folder, rows cropped to a multiple of `ALIGN_PX`."""
    from deepres.sr.scene_dir import read_scene_dir

    bands = read_scene_dir(scene_dir)
    rows = bands.b10.shape[1] // ALIGN_PX * ALIGN_PX
    level = "L2A" if "L2A" in scene_dir.name else "L1C"
    return BandStack(scene_dir.name, bands.b10[:, :rows], bands.b20[:, : rows // 2], level, licence)


def scene_folders(native_dir: Path) -> list[Path]:
    """Every scene folder (it holds `B02.tif`) directly under `native_dir`, sorted."""
    return [d for d in sorted(native_dir.iterdir()) if d.is_dir() and (d / "B02.tif").is_file()]


def trainable_scenes(native_dir: Path) -> list[Path]:
    """Scene folders under `native_dir` that may be trained on (not unseen, not share-alike)."""
    return [
        d
        for d in scene_folders(native_dir)
        if d.name not in UNSEEN_SCENES and not any(m in d.name.lower() for m in SHARE_ALIKE_MARKERS)
    ]


def split(stack: BandStack) -> tuple[BandStack, BandStack]:
    """(training block, validation block) of one stack, as the module docstring describes."""
    width = stack.b10.shape[2]
    val = max(ALIGN_PX, width // 4 // ALIGN_PX * ALIGN_PX)
    start = (width - val) // 2 * 2
    return stack.columns(0, start - GAP_PX), stack.columns(start, start + val)


def load_split(
    data_dir: Path, native_dir: Path | None = None
) -> tuple[list[BandStack], list[BandStack]]:
    """Training and validation blocks of every usable .npz file in `data_dir`, sorted by name,
    then of every trainable scene folder in `native_dir`."""
    stacks = [s for s in (load_stack(p) for p in sorted(data_dir.glob("*.npz"))) if s]
    if native_dir is not None:
        stacks += [load_scene(d) for d in trainable_scenes(native_dir)]
    train, val = [], []
    for stack in stacks:
        t, v = split(stack)
        train.append(t)
        val.append(v)
    if not train:
        raise FileNotFoundError(f"no usable .npz band stacks in {data_dir}")
    return train, val
