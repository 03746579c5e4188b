"""Extent decomposition on a scene's grid: the AOI's snapped window, cut into square tiles.

This is the mechanics document's "naive" decomposition done in the scene's UTM CRS: the smallest
pixel-aligned rectangle around the AOI, cut into squares, keeping the squares that touch the AOI.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import shapely
from affine import Affine
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from deepres.raster.reader import SceneGrid
from deepres.types import BBox

# Coordinates within a millionth of a pixel of an edge count as on it (float noise in bounds).
_SNAP = 1e-6


def _floor(v: float) -> int:
    return math.floor(v + _SNAP)


def _ceil(v: float) -> int:
    return math.ceil(v - _SNAP)


def snapped_window(grid: SceneGrid, aoi: BaseGeometry) -> Window | None:
    """Fine-grid window around `aoi` (scene CRS), its edges on coarse-grid pixel edges.

    Snapping outward to the 20 m grid makes the 10 m window exactly twice the 20 m one. The
    window is clipped to the scene; None when the AOI does not overlap the scene.
    """
    footprint = shapely.box(*grid.bounds)
    inside = shapely.intersection(aoi, footprint)
    if inside.is_empty or inside.area <= 0:
        return None
    minx, miny, maxx, maxy = inside.bounds
    inverse = ~grid.transform_20m
    c0, r0 = inverse @ (minx, maxy)
    c1, r1 = inverse @ (maxx, miny)
    col0, row0 = max(_floor(c0), 0), max(_floor(r0), 0)
    col1, row1 = min(_ceil(c1), grid.width_20m), min(_ceil(r1), grid.height_20m)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(2 * col0, 2 * row0, 2 * (col1 - col0), 2 * (row1 - row0))


@dataclass(frozen=True)
class Tile:
    """One square of the decomposition, in fine-grid pixels of the scene."""

    core: Window  # the part of the product this tile fills (the square clipped to the window)
    read: Window  # the square plus its halo on every side: what the model sees

    def core_offset(self, window: Window) -> tuple[int, int]:
        """(row, col) of the core inside the product `window`, in fine-grid pixels."""
        return int(self.core.row_off - window.row_off), int(self.core.col_off - window.col_off)


def decompose(
    window: Window, grid: SceneGrid, aoi: BaseGeometry, *, tile_px: int, halo_px: int
) -> Iterator[Tile]:
    """Square tiles of `tile_px` covering `window` row by row, skipping those off the AOI.

    A window smaller than one tile gets one square as big as its longer side, so a small AOI
    does not pay for a full tile. Squares keep their full size past the window's edge (the
    model always sees the same shape); only their core is clipped.
    """
    col, row = int(window.col_off), int(window.row_off)
    width, height = int(window.width), int(window.height)
    side = min(tile_px, max(width, height))
    for r in range(row, row + height, side):
        for c in range(col, col + width, side):
            core = Window(c, r, min(side, col + width - c), min(side, row + height - r))
            box = shapely.box(*window_bounds(core, grid.transform_10m))
            if not aoi.intersects(box):
                continue
            yield Tile(
                core, Window(c - halo_px, r - halo_px, side + 2 * halo_px, side + 2 * halo_px)
            )


def window_transform(window: Window, transform: Affine) -> Affine:
    """The affine transform of `window`'s own pixel grid on a grid with `transform`."""
    return transform @ Affine.translation(window.col_off, window.row_off)


def window_bounds(window: Window, transform: Affine) -> BBox:
    """(left, bottom, right, top) of `window` on a north-up grid with `transform`."""
    t = window_transform(window, transform)
    return (t.c, t.f + t.e * window.height, t.c + t.a * window.width, t.f)
