"""Quicklooks: true-colour RGBA PNGs of a result and of its input, on one pixel grid."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from shapely.geometry import Polygon, mapping

from deepres.catalog.index import build_index
from deepres.catalog.items import scene_from_item
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.raster import process_scene
from deepres.raster.quicklook import (
    LARGEST_SIDE,
    QuicklookGrid,
    encode_png,
    input_quicklook,
    input_stretch,
    quicklook_grid,
    result_quicklook,
    stretch_rgba,
)
from deepres.sr import get_model
from tests.harness import Service

# A triangle over clear desert in 29RKH: pixels of its bounding box outside it must be nodata.
TRIANGLE = Polygon([(-11.78, 24.72), (-11.73, 24.72), (-11.78, 24.77), (-11.78, 24.72)])


def finished(data: dict[str, Any]) -> bool:
    """Every date of the job is PROCESSED or FAILED.

    (Not only `status` absent: the status answer reads the dates and the job's state in two
    statements, so on PostgreSQL a date may still read PROCESSING when `status` is gone.)
    """
    done = ("PROCESSED", "FAILED")
    return bool(data["dates"]) and all(d["status"] in done for d in data["dates"])


def decode(png: bytes) -> npt.NDArray[Any]:
    """(bands, H, W) pixels of a PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as mem, mem.open() as ds:
            assert ds.driver == "PNG"
            return ds.read()


def pixel(grid: QuicklookGrid, lon: float, lat: float) -> tuple[int, int]:
    """(row, col) of a lon/lat point on `grid`."""
    x, y = Transformer.from_crs(4326, grid.epsg, always_xy=True).transform(lon, lat)
    col, row = ~grid.transform @ (x, y)
    return int(row), int(col)


def test_the_grid_shrinks_by_a_whole_factor_to_fit_the_longest_side() -> None:
    bounds = (0.0, 0.0, 7500.0, 3750.0)
    big = quicklook_grid(32629, bounds, 3000, 1500)
    assert (big.width, big.height) == (1000, 500)
    small = quicklook_grid(32629, bounds, 64, 40)
    assert (small.width, small.height) == (64, 40)
    odd = quicklook_grid(32629, bounds, 1025, 10)
    assert (odd.width, odd.height) == (513, 5)
    assert odd.transform.c == 0.0 and odd.transform.f == 3750.0
    assert odd.transform.a * odd.width == pytest.approx(7500.0)
    with pytest.raises(InvalidInput):
        quicklook_grid(32629, bounds, 0, 10)


def test_stretch_uses_valid_pixels_only_and_makes_nodata_transparent() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.uniform(100, 200, (3, 50, 50)).astype(np.float32)
    valid = np.ones((50, 50), bool)
    valid[:, :10] = False
    rgb[:, :, :10] = 60000  # huge values under nodata must not flatten the stretch
    rgba = stretch_rgba(rgb, valid)
    assert rgba.dtype == np.uint8 and rgba.shape == (4, 50, 50)
    assert (rgba[:, :, :10] == 0).all()
    assert (rgba[3, :, 10:] == 255).all()
    inside = rgba[:3, :, 10:]
    assert inside.min() == 1 and inside.max() == 255
    assert 0.01 < (inside == 255).mean() < 0.04  # about 2 % above the 98th percentile
    assert (stretch_rgba(rgb, np.zeros((50, 50), bool)) == 0).all()


def test_png_round_trip() -> None:
    rgba = np.zeros((4, 7, 9), np.uint8)
    rgba[:, 2:5, 3:8] = [[[10]], [[20]], [[30]], [[255]]]
    assert (decode(encode_png(rgba)) == rgba).all()


@pytest.fixture(scope="module")
def rkh(shared_data: Path) -> Scene:
    index = build_index([shared_data / "scenes" / "S2A_29RKH_20200219_L2A"])
    (feature,) = index["features"]
    return scene_from_item(feature)


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory, rkh: Scene) -> Iterator[Any]:
    out = tmp_path_factory.mktemp("ql") / "2020-02-19_MS.tif"
    info = process_scene(rkh, TRIANGLE, get_model("bicubic"), 4, out)
    assert info is not None
    yield info


@pytest.mark.realdata
def test_input_and_result_quicklooks_align_pixel_for_pixel(rkh: Scene, product: Any) -> None:
    grid = quicklook_grid(product.epsg, product.bounds, product.width, product.height)
    result = decode(result_quicklook(product.path, grid))
    source = decode(input_quicklook(rkh, grid, TRIANGLE))
    assert result.shape == source.shape == (4, product.height, product.width)
    # The triangle's bounding box: its north-east half lies outside the AOI, transparent.
    inside, outside = pixel(grid, -11.77, 24.73), pixel(grid, -11.74, 24.76)
    assert result[(3, *outside)] == 0 and source[(3, *outside)] == 0
    assert result[(3, *inside)] == 255 and source[(3, *inside)] == 255
    both = (result[3] == 255) & (source[3] == 255)
    either = (result[3] == 255) | (source[3] == 255)
    assert both.sum() / either.sum() > 0.97
    # Same place, same scene: the super-resolved red band follows the input's closely.
    corr = np.corrcoef(result[0][both].astype(float), source[0][both].astype(float))[0, 1]
    shifted = np.corrcoef(
        result[0][:, 4:][both[:, 4:] & both[:, :-4]].astype(float),
        source[0][:, :-4][both[:, 4:] & both[:, :-4]].astype(float),
    )[0, 1]
    assert corr > 0.8 and corr > shifted + 0.1


@pytest.mark.realdata
def test_a_result_is_shown_on_its_inputs_stretch(rkh: Scene, product: Any, tmp_path: Path) -> None:
    """A product 1.5 times too bright looks brighter than its input, not the same."""
    grid = quicklook_grid(product.epsg, product.bounds, product.width, product.height)
    brighter = tmp_path / "brighter.tif"
    with rasterio.open(product.path) as src:
        profile, data = src.profile, src.read()
    with rasterio.open(brighter, "w", **profile) as dst:
        dst.write(np.where(data > 0, np.minimum(data * 1.5, 65535), 0).astype(data.dtype))
    limits = input_stretch(rkh, grid, TRIANGLE)
    source = decode(input_quicklook(rkh, grid, TRIANGLE))
    shared = decode(result_quicklook(brighter, grid, limits))
    own = decode(result_quicklook(brighter, grid))
    inside = (source[3] == 255) & (shared[3] == 255)
    gap_shared = shared[:3][:, inside].mean() - source[:3][:, inside].mean()
    gap_own = own[:3][:, inside].mean() - source[:3][:, inside].mean()
    assert gap_shared > 40 and abs(gap_own) < 10  # its own stretch would hide the fault


@pytest.mark.realdata
def test_a_decimated_quicklook_keeps_the_footprint(rkh: Scene, product: Any) -> None:
    grid = quicklook_grid(product.epsg, product.bounds, product.width, product.height, 64)
    assert max(grid.width, grid.height) <= 64
    result = decode(result_quicklook(product.path, grid))
    source = decode(input_quicklook(rkh, grid, TRIANGLE))
    assert result.shape == source.shape == (4, grid.height, grid.width)
    assert 0.3 < (result[3] == 255).mean() < 0.7  # a triangle fills half its bounding box
    assert abs((result[3] == 255).mean() - (source[3] == 255).mean()) < 0.05


def test_an_unreadable_product_is_a_read_error(tmp_path: Path) -> None:
    grid = quicklook_grid(32629, (0.0, 0.0, 100.0, 100.0), 4, 4)
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(SceneReadError):
        result_quicklook(tmp_path / "broken.tif", grid)


@pytest.fixture(scope="module")
def triangle_job(service: Service) -> tuple[str, str]:
    """(token, job_id) of a finished job over TRIANGLE with one processed and one failed date."""
    token = service.create_client("quicklook")
    job_id = service.submit(
        token,
        bbox=None,
        aoi={"type": "Feature", "properties": {}, "geometry": mapping(TRIANGLE)},
        dates=["2020-02-19", "2020-02-20"],
    )
    data = service.wait_status(job_id, token, finished)
    assert sorted(d["status"] for d in data["dates"]) == ["FAILED", "PROCESSED"], data
    return token, job_id


def _quicklook(svc: Service, token: str, job_id: str, date: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{svc.url}/deep-resolution/jobs/{job_id}/quicklook/{date}.png",
        params=params,
        headers={"client_token": token},
        timeout=60,
    )


@pytest.mark.realdata
@pytest.mark.slow
def test_the_api_serves_aligned_quicklooks_of_a_processed_date(
    service: Service, triangle_job: tuple[str, str]
) -> None:
    token, job_id = triangle_job
    result = _quicklook(service, token, job_id, "2020-02-19")  # kind=result by default
    source = _quicklook(service, token, job_id, "2020-02-19", kind="input", mgrs="29RKH")
    for r in (result, source):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert r.headers["cache-control"].startswith("private")
    a, b = decode(result.content), decode(source.content)
    assert a.shape == b.shape and a.shape[0] == 4
    assert a[3, 2, -3] == 0 and b[3, 2, -3] == 0  # outside the triangle: transparent
    assert (a[3] == 255).mean() > 0.3 and (b[3] == 255).mean() > 0.3
    assert ((a[3] == 255) == (b[3] == 255)).mean() > 0.97


@pytest.mark.realdata
@pytest.mark.slow
def test_quicklook_errors_say_what_is_wrong(
    service: Service, triangle_job: tuple[str, str]
) -> None:
    token, job_id = triangle_job
    failed = _quicklook(service, token, job_id, "2020-02-20")
    assert failed.status_code == 409 and "FAILED" in failed.json()["data"]["message"]
    missing = _quicklook(service, token, job_id, "2020-03-01")
    assert missing.status_code == 404 and "2020-03-01" in missing.json()["data"]["message"]
    other_tile = _quicklook(service, token, job_id, "2020-02-19", mgrs="30RUN")
    assert other_tile.status_code == 404
    bad_kind = _quicklook(service, token, job_id, "2020-02-19", kind="ndvi")
    assert bad_kind.status_code == 400 and bad_kind.json()["error"] == "INVALID-INPUT"
    bad_date = _quicklook(service, token, job_id, "2020-02-31")
    assert bad_date.status_code == 400


def test_a_larger_max_side_keeps_a_big_product_one_for_one() -> None:
    bounds = (0.0, 0.0, 7500.0, 3750.0)
    full = quicklook_grid(32629, bounds, 3000, 1500, LARGEST_SIDE)
    assert (full.width, full.height) == (3000, 1500)
    over = quicklook_grid(32629, bounds, 6000, 3000, LARGEST_SIDE)
    assert (over.width, over.height) == (3000, 1500)  # halved: the next whole factor


@pytest.mark.realdata
@pytest.mark.slow
def test_max_side_sets_the_quicklook_size_within_bounds(
    service: Service, triangle_job: tuple[str, str]
) -> None:
    token, job_id = triangle_job
    default = decode(_quicklook(service, token, job_id, "2020-02-19").content)
    full = decode(_quicklook(service, token, job_id, "2020-02-19", max_side="4096").content)
    assert full.shape == default.shape  # under 1024 px already: the product's own pixels
    height, width = full.shape[1:]
    small = [
        decode(_quicklook(service, token, job_id, "2020-02-19", kind=kind, max_side="32").content)
        for kind in ("result", "input")
    ]
    factor = -(-max(width, height) // 32)
    assert small[0].shape == small[1].shape == (4, -(-height // factor), -(-width // factor))
    assert max(small[0].shape[1:]) <= 32 < max(width, height)
    for bad in ("15", "4097", "big"):
        r = _quicklook(service, token, job_id, "2020-02-19", max_side=bad)
        assert r.status_code == 400 and r.json()["error"] == "INVALID-INPUT", r.text
        assert "max_side" in r.json()["data"]["message"]
