"""Co-registration of the 20 m bands: a planted sub-pixel displacement is found and undone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from deepres.sr import Bicubic, get_model
from deepres.sr.base import FloatArray
from deepres.sr.degrade import degrade
from deepres.sr.metrics import quality
from deepres.sr.registration import (
    CoRegistered,
    co_registered,
    estimate_offset,
    shift,
    shift_bands,
)
from deepres.sr.scene_dir import read_scene_dir
from tests.scenes import displaced_20m, fourier_shift, natural_field

ALIGNED_SCENE = "native/T18SVG_20160112_L1C"  # its 20 m grid sits within 0.04 px


def displaced_pair(side: int, dy: float, dx: float, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Ten bands of one natural field whose 20 m content sits (dy, dx) 20 m pixels off."""
    fine = natural_field(side, seed)
    coarse = displaced_20m(fine, dy, dx)
    return np.stack([fine] * 4), np.stack([coarse] * 6)


@pytest.fixture(scope="module")
def fusing_model() -> Any:
    model = get_model(None, threads=1)
    assert "fusion" in model.card.tasks
    return model


def test_shift_moves_a_smooth_band_by_a_fraction_of_a_pixel() -> None:
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    wave = lambda yy, xx: 1000 + 300 * np.sin(0.4 * yy) * np.cos(0.3 * xx)  # noqa: E731
    moved = shift(wave(y, x)[None], 0.3, -0.45)[0]
    assert np.abs(moved - wave(y - 0.3, x + 0.45))[6:-6, 6:-6].max() < 3.0  # 1 % of the wave


def test_shift_keeps_water_beside_bright_land_positive() -> None:
    edge = np.where(np.arange(40) < 20, 5.0, 3000.0).astype(np.float32)[None, None].repeat(8, 1)
    moved = shift(edge, 0.0, 0.4)
    assert moved.min() > 0  # plain Lanczos-3 rings about 250 DN below zero here
    assert moved[0, 0, 10] == pytest.approx(5.0) and moved[0, 0, 30] == pytest.approx(3000.0)


def test_nodata_neither_darkens_its_neighbours_nor_spreads() -> None:
    band = np.full((1, 20, 20), 2000.0, np.float32)
    band[:, :, :6] = 0
    moved = shift_bands(band, 0.0, -0.3)  # moves towards the no-data side
    assert moved[0, :, :5].max() == 0
    assert np.abs(moved[0, :, 6:] - 2000).max() < 1.0


@pytest.mark.parametrize(("dy", "dx"), [(0.3, -0.2), (-0.5, 0.45), (0.12, 0.0)])
def test_a_planted_displacement_is_measured(dy: float, dx: float) -> None:
    offset = estimate_offset(*displaced_pair(512, dy, dx))
    assert offset is not None
    assert offset.dy == pytest.approx(dy, abs=0.03) and offset.dx == pytest.approx(dx, abs=0.03)
    assert offset.significant


def test_a_displacement_that_is_not_one_shift_is_left_alone() -> None:
    # parallax-like: the right half moved, the left not (clouds over part of the scene)
    b10, b20 = displaced_pair(512, 0.0, 0.0)
    _, moved = displaced_pair(512, 0.6, 0.0)
    b20[:, :, 128:] = moved[:, :, 128:]
    assert estimate_offset(b10, b20) is None


def test_too_little_valid_data_gives_no_estimate() -> None:
    b10, b20 = displaced_pair(256, 0.3, 0.3)
    valid = np.zeros(b20.shape[1:], bool)
    valid[:, :30] = True
    assert estimate_offset(b10, b20, valid) is None
    assert estimate_offset(b10, b20, ~valid) is not None


def test_only_a_fusing_model_on_a_displaced_input_is_wrapped(fusing_model: Any) -> None:
    aligned, displaced = displaced_pair(256, 0.0, 0.0), displaced_pair(256, 0.3, -0.25)
    assert co_registered(fusing_model, *aligned) is fusing_model
    bicubic = Bicubic()
    assert co_registered(bicubic, *displaced) is bicubic
    wrapped = co_registered(fusing_model, *displaced)
    assert isinstance(wrapped, CoRegistered)
    assert (wrapped.name, wrapped.scales) == (fusing_model.name, fusing_model.scales)


@pytest.mark.realdata
def test_co_registration_wins_back_the_fusion_gain(fusing_model: Any, shared_data: Path) -> None:
    """A real, aligned scene with its 20 m bands moved 0.4 / 0.3 px, under Wald's protocol."""
    bands = read_scene_dir(shared_data / ALIGNED_SCENE)
    b10 = bands.b10[:, 256:768, 256:768]
    b20 = fourier_shift(bands.b20[:, 128:384, 128:384], 0.4, 0.3)
    in10, in20 = degrade(b10, 2), degrade(b20, 2)

    def psnr(model: Any) -> float:
        return float(np.mean(quality(model.upscale(in10, in20, 1)[4:], b20, 2)["psnr"]))

    wrapped = co_registered(fusing_model, in10, in20)
    assert isinstance(wrapped, CoRegistered)
    assert psnr(wrapped) > psnr(fusing_model) + 1.0
    out = wrapped.upscale(in10, in20, 1)
    assert out.min() >= 0


def _write_displaced_scene(make: Any, dy: float, dx: float) -> Any:
    """A synthetic scene folder whose B08 and B8A show one field, B8A (dy, dx) px off."""
    scene = make(side_px=256)
    fine = natural_field(256, seed=4)
    for band, data in (("B08", fine), ("B8A", displaced_20m(fine, dy, dx))):
        path = scene.folder / f"{band}.tif"
        with rasterio.open(path) as src:
            profile = src.profile
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.rint(data).astype(np.uint16), 1)
    return scene


def test_the_service_co_registers_once_per_product(
    synthetic_scene: Any, fusing_model: Any, tmp_path: Path
) -> None:
    from deepres.raster.process import process_scene

    scene = _write_displaced_scene(synthetic_scene, 0.35, -0.2)
    tags, pixels = [], []
    for tile_px in (64, 256):  # many tiles, one tile: the tiles share the offset and join
        out = tmp_path / f"tiles-{tile_px}.tif"
        info = process_scene(scene.scene, None, fusing_model, 2, out, tile_px=tile_px)
        assert info is not None and info.shift_20m_px is not None
        with rasterio.open(out) as ds:
            tags.append(ds.tags()["DEEPRES_20M_SHIFT_PX"])
            pixels.append(ds.read().astype(np.int32))
        assert tags[-1] == "{:.3f} {:.3f}".format(*info.shift_20m_px)
    assert tags[0] == tags[1]
    dy, dx = (float(v) for v in tags[0].split())
    assert dy == pytest.approx(-0.35, abs=0.03) and dx == pytest.approx(0.2, abs=0.03)
    assert np.abs(pixels[0] - pixels[1]).max() <= 1

    aligned = synthetic_scene(side_px=256)  # B8A unrelated to B08
    out = tmp_path / "aligned.tif"
    info = process_scene(aligned.scene, None, fusing_model, 2, out)
    assert info is not None and info.shift_20m_px is None
    with rasterio.open(out) as ds:
        assert "DEEPRES_20M_SHIFT_PX" not in ds.tags()
