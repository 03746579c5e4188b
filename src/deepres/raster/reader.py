"""Windowed reads of the ten super-resolved bands of one scene, on its own 10 m / 20 m grids."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.windows import Window

from deepres.bands import BANDS_10M, BANDS_20M
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.types import BBox

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

# Grids agree when their origins and pixel sizes match to a micrometre.
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SceneGrid:
    """The scene's fine ("10 m") and coarse ("20 m") pixel grids, read from the rasters themselves.

    The sizes are whatever the files say (the downsampled fixtures use 100 m / 200 m); only the
    ratio is fixed: the coarse grid has the fine grid's origin and exactly twice its pixel size.
    """

    crs: CRS
    transform_10m: Affine
    width_10m: int
    height_10m: int
    transform_20m: Affine
    width_20m: int
    height_20m: int

    @property
    def pixel_size(self) -> float:
        """Pixel width of the fine grid, in CRS units (metres for UTM)."""
        return float(self.transform_10m.a)

    @property
    def bounds(self) -> BBox:
        """(left, bottom, right, top) of the area both grids cover."""
        t10, t20 = self.transform_10m, self.transform_20m
        right = min(t10.c + t10.a * self.width_10m, t20.c + t20.a * self.width_20m)
        bottom = max(t10.f + t10.e * self.height_10m, t20.f + t20.e * self.height_20m)
        return (t10.c, bottom, right, t10.f)


@dataclass(frozen=True)
class BandWindow:
    """Reflectance DN (offset removed) and validity of the ten bands over one 10 m window."""

    b10: FloatArray  # (4, H, W) B02 B03 B04 B08
    b20: FloatArray  # (6, H/2, W/2) B05 B06 B07 B8A B11 B12
    valid_10m: BoolArray  # (H, W): every fine band holds data
    valid_20m: BoolArray  # (H/2, W/2): every coarse band holds data

    def crop(self, row: int, col: int, height: int, width: int) -> BandWindow:
        """The part of this window at fine-grid (row, col) of size (height, width), all even."""
        if any(v % 2 for v in (row, col, height, width)):
            raise InvalidInput("A band window crop needs even offsets and sizes.")
        fine = (slice(row, row + height), slice(col, col + width))
        coarse = (slice(row // 2, (row + height) // 2), slice(col // 2, (col + width) // 2))
        return BandWindow(
            b10=self.b10[:, fine[0], fine[1]],
            b20=self.b20[:, coarse[0], coarse[1]],
            valid_10m=self.valid_10m[fine],
            valid_20m=self.valid_20m[coarse],
        )

    def valid_at(self, scale: int) -> BoolArray:
        """(H*scale, W*scale) mask of output pixels whose fine and coarse inputs both hold data."""
        fine = np.repeat(np.repeat(self.valid_10m, scale, axis=0), scale, axis=1)
        coarse = np.repeat(np.repeat(self.valid_20m, 2 * scale, axis=0), 2 * scale, axis=1)
        return fine & coarse


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _TOLERANCE * max(1.0, abs(a), abs(b))


def _check_north_up(band: str, t: Affine) -> None:
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise SceneReadError(f"Band {band} is not on a north-up grid (transform {tuple(t)[:6]}).")


def _grid_of(datasets: dict[str, Any], scene_id: str) -> SceneGrid:
    """The scene's grids after checking that every band sits on the grid of its resolution."""
    fine, coarse = datasets[BANDS_10M[0]], datasets[BANDS_20M[0]]
    for names, ref in ((BANDS_10M, fine), (BANDS_20M, coarse)):
        _check_north_up(names[0], ref.transform)
        for name in names[1:]:
            ds = datasets[name]
            if ds.crs != ref.crs or ds.shape != ref.shape or ds.transform != ref.transform:
                raise SceneReadError(
                    f"Scene {scene_id}: band {name} is not on the grid of band {names[0]}."
                )
    t10, t20 = fine.transform, coarse.transform
    aligned = (
        fine.crs == coarse.crs
        and _same(t20.a, 2 * t10.a)
        and _same(t20.e, 2 * t10.e)
        and _same(t20.c, t10.c)
        and _same(t20.f, t10.f)
    )
    if not aligned or fine.crs is None:
        raise SceneReadError(
            f"Scene {scene_id}: the 20 m bands must share the 10 m bands' CRS and origin with "
            f"exactly twice their pixel size (got {t10.a} and {t20.a})."
        )
    return SceneGrid(fine.crs, t10, fine.width, fine.height, t20, coarse.width, coarse.height)


def _read_padded(ds: Any, window: Window) -> tuple[npt.NDArray[Any], BoolArray]:
    """Band 1 over `window` (which may reach past the raster) and its data mask.

    Outside the raster the edge pixels are repeated rather than zero-filled, so that the
    interpolation next to a scene edge is not pulled towards black; those pixels stay invalid.
    """
    col, row, width, height = (
        int(v) for v in (window.col_off, window.row_off, window.width, window.height)
    )
    c0, r0 = max(col, 0), max(row, 0)
    c1, r1 = min(col + width, ds.width), min(row + height, ds.height)
    if c1 <= c0 or r1 <= r0:
        return np.zeros((height, width), ds.dtypes[0]), np.zeros((height, width), np.bool_)
    data = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
    nodata = 0 if ds.nodata is None else ds.nodata
    valid = data != nodata
    pad = ((r0 - row, row + height - r1), (c0 - col, col + width - c1))
    if any(p for pair in pad for p in pair):
        data = np.pad(data, pad, mode="edge")
        valid = np.pad(valid, pad, mode="constant", constant_values=False)
    return data, valid


def _to_reflectance(data: npt.NDArray[Any], offset_dn: int) -> FloatArray:
    out = data.astype(np.float32)
    if offset_dn:
        np.subtract(out, offset_dn, out=out)
        np.maximum(out, 0, out=out)  # nodata 0 stays 0; dark pixels clamp at 0
    return out


class SceneReader:
    """The ten band files of one scene, opened once, read window by window.

    Use as a context manager. `offset_dn` defaults to `scene.offset_dn`, the one place where the
    L2A reflectance offset is removed.
    """

    def __init__(self, scene: Scene, *, offset_dn: int | None = None) -> None:
        self.scene = scene
        self.offset_dn = scene.offset_dn if offset_dn is None else offset_dn
        self._datasets: dict[str, Any] = {}
        try:
            for band in BANDS_10M + BANDS_20M:
                href = scene.assets.get(band)
                if href is None:
                    raise SceneReadError(f"Scene {scene.id} has no {band} asset.")
                try:
                    self._datasets[band] = rasterio.open(href)
                except RasterioError as exc:
                    raise SceneReadError(
                        f"Scene {scene.id}: cannot open band {band} at {href}: {exc}"
                    ) from exc
            self.grid = _grid_of(self._datasets, scene.id)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> SceneReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every band file."""
        for ds in self._datasets.values():
            ds.close()
        self._datasets.clear()

    def read(self, window_10m: Window) -> BandWindow:
        """All ten bands over `window_10m` (fine-grid pixels, even offsets and sizes).

        The window may reach past the scene: those pixels come back invalid.
        """
        parts = (window_10m.col_off, window_10m.row_off, window_10m.width, window_10m.height)
        if any(int(v) != v or int(v) % 2 for v in parts):
            raise InvalidInput(f"A band window needs even integer offsets and sizes: {window_10m}.")
        col, row, width, height = (int(v) for v in parts)
        window_20m = Window(col // 2, row // 2, width // 2, height // 2)
        try:
            fine = [_read_padded(self._datasets[b], window_10m) for b in BANDS_10M]
            coarse = [_read_padded(self._datasets[b], window_20m) for b in BANDS_20M]
        except RasterioError as exc:
            raise SceneReadError(
                f"Scene {self.scene.id}: reading {window_10m} failed: {exc}"
            ) from exc
        return BandWindow(
            b10=np.stack([_to_reflectance(d, self.offset_dn) for d, _ in fine]),
            b20=np.stack([_to_reflectance(d, self.offset_dn) for d, _ in coarse]),
            valid_10m=np.logical_and.reduce([v for _, v in fine]),
            valid_20m=np.logical_and.reduce([v for _, v in coarse]),
        )


def read_window_bands(
    scene: Scene, window_10m: Window, *, offset_dn: int | None = None
) -> BandWindow:
    """The ten bands of `scene` over one fine-grid window; opens and closes the files itself."""
    with SceneReader(scene, offset_dn=offset_dn) as reader:
        return reader.read(window_10m)
