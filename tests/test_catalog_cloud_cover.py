"""`aoi_cloud_cover` counts cloud on the SCL inside the AOI, reading only the AOI's window."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from shapely.geometry import Point, box

from deepres.catalog.cloud_cover import MAX_FULL_RES_SIDE, aoi_cloud_cover
from deepres.catalog.scene import Scene
from deepres.errors import SceneReadError

pytestmark = pytest.mark.realdata

RKH_SCL = "scenes/S2A_29RKH_20200219_L2A/SCL.tif"
# Found by looking at the 29RKH SCL (549 x 549 px at 200 m, EPSG:32629): rows 61-69, cols
# 501-509 are all cloud (classes 8, 9, 10); rows 300-310, cols 100-110 all bare soil (class 5).
CLOUDY_AOI = box(-10.981, 25.181, -10.969, 25.191)
CLEAR_AOI = box(-11.765, 24.734, -11.752, 24.747)
OUTSIDE_AOI = box(5.0, 45.0, 5.01, 45.01)


def _scene(scl: Path | str) -> Scene:
    return Scene(
        id="S2A_29RKH_20200219_0_L2A",
        datetime=dt.datetime(2020, 2, 19, 11, 34, 25, tzinfo=dt.UTC),
        mgrs="29RKH",
        epsg=32629,
        assets={"SCL": str(scl)},
    )


def _bytes_read() -> int:
    """Bytes this process has read through read(2) and friends, from /proc/self/io."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.fixture(scope="module")
def scl_x4(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 29RKH SCL at 50 m (2196 x 2196 px, nearest), tiled 512, with overviews 2, 4, 8.

    Uncompressed, so the bytes a read costs follow the blocks it touches.
    """
    with rasterio.open(shared_data / RKH_SCL) as src:
        scl = src.read(1)
        profile = src.profile
    big = np.repeat(np.repeat(scl, 4, axis=0), 4, axis=1)
    profile.update(
        width=big.shape[1],
        height=big.shape[0],
        transform=profile["transform"] @ Affine.scale(1 / 4),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress=None,  # uncompressed: bytes read then follow the pixels read
    )
    path = tmp_path_factory.mktemp("scl") / "SCL.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(big, 1)
        dst.build_overviews([2, 4, 8], Resampling.nearest)
    return path


def test_cloudy_and_clear_aois_of_a_mostly_clear_scene(shared_data: Path) -> None:
    scene = _scene(shared_data / RKH_SCL)

    cloudy = aoi_cloud_cover(scene, CLOUDY_AOI)
    clear = aoi_cloud_cover(scene, CLEAR_AOI)

    assert cloudy is not None and clear is not None
    assert cloudy.percent == 100.0 and cloudy.cloudy_pixels == cloudy.valid_pixels == 36
    assert clear.percent == 0.0 and clear.cloudy_pixels == 0 and clear.valid_pixels == 48


def test_whole_tile_matches_the_item_cloud_cover(shared_data: Path) -> None:
    tile = box(-12.5, 24.0, -10.5, 25.6)
    cover = aoi_cloud_cover(_scene(shared_data / RKH_SCL), tile)

    assert cover is not None
    assert cover.window == (0, 0, 549, 549) and cover.decimation == 1
    assert cover.valid_pixels == 549 * 549
    # The item says 4.051854 % (medium + high + cirrus); shadow adds nothing here.
    assert cover.percent == pytest.approx(4.06, abs=0.02)


def test_aoi_outside_the_footprint_gives_none(shared_data: Path) -> None:
    assert aoi_cloud_cover(_scene(shared_data / RKH_SCL), OUTSIDE_AOI) is None


def test_aoi_smaller_than_a_pixel_still_counts(shared_data: Path) -> None:
    tiny = Point(-10.975, 25.186).buffer(0.0002)  # about 40 m across, SCL pixels are 200 m
    cover = aoi_cloud_cover(_scene(shared_data / RKH_SCL), tiny)
    assert cover is not None and cover.percent == 100.0 and cover.valid_pixels >= 1


def test_only_the_aoi_window_is_read(scl_x4: Path) -> None:
    scene = _scene(scl_x4)
    aoi_cloud_cover(scene, CLEAR_AOI)  # warm up: GDAL drivers, proj.db
    size = scl_x4.stat().st_size

    before = _bytes_read()
    cover = aoi_cloud_cover(scene, CLOUDY_AOI)
    windowed = _bytes_read() - before

    assert cover is not None and cover.percent == 100.0
    col, row, width, height = cover.window
    assert (col, row, width, height) == (2007, 249, 26, 23) and cover.decimation == 1

    before = _bytes_read()
    with rasterio.open(scl_x4) as src:
        src.read(1)
    whole = _bytes_read() - before

    print(f"windowed {windowed} B, whole {whole} B, file {size} B")
    assert whole >= 2196 * 2196
    assert windowed < whole / 10  # one 512 x 512 block of 25, plus the header


def test_wide_aois_are_read_from_an_overview(scl_x4: Path) -> None:
    cover = aoi_cloud_cover(_scene(scl_x4), box(-12.5, 24.0, -10.5, 25.6))

    assert cover is not None
    assert cover.window == (0, 0, 2196, 2196)
    assert 2196 / cover.decimation <= MAX_FULL_RES_SIDE < 2196 / (cover.decimation / 2)
    assert cover.decimation == 4
    assert cover.valid_pixels == 549 * 549  # the overview at /4 is the 200 m original
    assert cover.percent == pytest.approx(4.06, abs=0.02)


def test_unreadable_scl_raises_scene_read_error(tmp_path: Path) -> None:
    broken = tmp_path / "SCL.tif"
    broken.write_bytes(b"not a tiff")
    with pytest.raises(SceneReadError, match="Could not read the SCL"):
        aoi_cloud_cover(_scene(broken), CLEAR_AOI)
    with pytest.raises(SceneReadError, match="Could not read the SCL"):
        aoi_cloud_cover(_scene(tmp_path / "missing.tif"), CLEAR_AOI)
    no_scl = dataclasses.replace(_scene(broken), assets={})
    with pytest.raises(SceneReadError, match="no SCL asset"):
        aoi_cloud_cover(no_scl, CLEAR_AOI)
