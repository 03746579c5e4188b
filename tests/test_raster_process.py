"""process_scene on real Sentinel-2 L2A scenes: grid, clipping, values, tiling, offset, edges."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.windows import Window

from deepres.bands import OUTPUT_BANDS
from deepres.catalog.scene import Scene
from deepres.errors import InvalidInput, SceneReadError
from deepres.raster import ProductInfo, process_scene, read_window_bands, validate_cog
from deepres.sr import get_model

pytestmark = pytest.mark.realdata

BIGEARTHNET = "scenes/bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
RKH = "scenes/S2A_29RKH_20200219_L2A"
# BigEarthNet patch: 120 x 120 px at 10 m from (643200, 5798040), EPSG:32629.
LEFT, TOP = 643200.0, 5798040.0
# An irregular quadrilateral well inside the patch (UTM 29N metres).
AOI_UTM = shapely.Polygon(
    [(643413.7, 5797811.3), (644031.1, 5797583.9), (644186.2, 5797041.7), (643522.9, 5796957.4)]
)


def to_wgs84(geom: Any, epsg: int = 32629) -> Any:
    transformer = Transformer.from_crs(epsg, 4326, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geom, project)


def make_scene(folder: Path, *, baseline: str | None = None, applied: bool | None = None) -> Scene:
    return Scene(
        id=folder.name,
        datetime=dt.datetime(2017, 6, 17, 11, 33, 21, tzinfo=dt.UTC),
        mgrs="29UPU",
        epsg=32629,
        assets={band: str(folder / f"{band}.tif") for band in OUTPUT_BANDS},
        processing_baseline=baseline,
        boa_offset_applied=applied,
    )


def read_product(info: ProductInfo) -> tuple[np.ndarray, Any]:
    with rasterio.open(info.path) as ds:
        return ds.read(), ds.transform


def inside_mask(geom: Any, shape: tuple[int, int], transform: Any) -> np.ndarray:
    mask: np.ndarray = geometry_mask([geom], out_shape=shape, transform=transform, invert=True)
    return mask


@pytest.fixture(scope="module")
def ben_dir(shared_data: Path) -> Path:
    return shared_data / BIGEARTHNET


@pytest.fixture(scope="module")
def product(ben_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ProductInfo:
    out = tmp_path_factory.mktemp("ben") / "2017-06-17_MS.tif"
    info = process_scene(
        make_scene(ben_dir),
        to_wgs84(AOI_UTM),
        get_model("bicubic"),
        4,
        out,
        tags={"DEEPRES_JOB": "job-1"},
    )
    assert info is not None
    return info


def test_product_is_a_cog_on_the_scene_grid(product: ProductInfo) -> None:
    assert validate_cog(product.path) == []
    with rasterio.open(product.path) as ds:
        assert ds.crs.to_epsg() == 32629
        assert ds.res == (2.5, 2.5)
        assert ds.count == 10 and ds.dtypes == ("uint16",) * 10
        assert ds.nodata == 0
        assert ds.descriptions == OUTPUT_BANDS
        assert ds.scales == (0.0001,) * 10 and ds.offsets == (0.0,) * 10  # as STAC says
        assert ds.tags()["DEEPRES_MODEL"] == "bicubic"
        assert ds.tags()["DEEPRES_JOB"] == "job-1"
        # the window is snapped outward to 20 m pixel edges of the scene grid
        assert (ds.transform.c - LEFT) % 20 == 0 and (TOP - ds.transform.f) % 20 == 0
        assert ds.bounds.left <= AOI_UTM.bounds[0] and ds.bounds.right >= AOI_UTM.bounds[2]
        assert (ds.width, ds.height) == (product.width, product.height)
    assert product.epsg == 32629 and product.resolution == 2.5


def test_pixels_are_clipped_to_the_aoi(product: ProductInfo) -> None:
    data, transform = read_product(product)
    inside = inside_mask(AOI_UTM, data.shape[1:], transform)
    assert inside.any() and (~inside).any()
    assert (data[:, ~inside] == 0).all()
    assert (data[:, inside] > 0).all()


def test_values_match_the_input_over_the_aoi(product: ProductInfo, ben_dir: Path) -> None:
    data, transform = read_product(product)
    inside = inside_mask(AOI_UTM, data.shape[1:], transform)
    for index in (OUTPUT_BANDS.index("B04"), OUTPUT_BANDS.index("B11")):
        with rasterio.open(ben_dir / f"{OUTPUT_BANDS[index]}.tif") as src:
            source = src.read(1).astype(np.float64)
            source_inside = inside_mask(AOI_UTM, source.shape, src.transform)
        expected = source[source_inside].mean()
        assert abs(data[index][inside].mean() - expected) / expected < 0.02


def test_whole_scene_and_progress(ben_dir: Path, tmp_path: Path) -> None:
    """No AOI: the whole scene, unclipped; progress counts every tile once, in order."""
    seen: list[tuple[int, int]] = []
    info = process_scene(
        make_scene(ben_dir),
        None,
        get_model("bicubic"),
        2,
        tmp_path / "all.tif",
        tile_px=32,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert info is not None and (info.width, info.height) == (240, 240)
    assert info.bounds == (LEFT, TOP - 1200, LEFT + 1200, TOP)
    data, _ = read_product(info)
    assert (data > 0).all()
    assert seen == [(i, 16) for i in range(1, 17)]


def test_tiles_join_without_seams(ben_dir: Path, tmp_path: Path) -> None:
    model, aoi = get_model("bicubic"), to_wgs84(AOI_UTM)
    whole = process_scene(make_scene(ben_dir), aoi, model, 4, tmp_path / "one.tif", tile_px=512)
    tiled = process_scene(
        make_scene(ben_dir), aoi, model, 4, tmp_path / "many.tif", tile_px=16, halo_px=8
    )
    assert whole is not None and tiled is not None
    a, _ = read_product(whole)
    b, _ = read_product(tiled)
    assert a.shape == b.shape
    assert np.abs(a.astype(np.int32) - b.astype(np.int32)).max() <= 1


class _Windowed:
    """Bicubic, posing as a model that cuts its input into its own windows of `tile` px."""

    name, version, scales = "windowed", "1", (1, 2, 4)
    tile, margin = 48, 8

    def __init__(self) -> None:
        self.inner = get_model("bicubic")
        self.sides: list[tuple[int, int]] = []

    def upscale(self, b10: np.ndarray, b20: np.ndarray, scale: int) -> np.ndarray:
        self.sides.append(b10.shape[1:])
        return self.inner.upscale(b10, b20, scale)


def test_each_tile_is_one_window_of_the_model(ben_dir: Path, tmp_path: Path) -> None:
    """A tile and its halo fit the model's own window, so no pixel is run twice over inside."""
    model = _Windowed()
    info = process_scene(make_scene(ben_dir), None, model, 2, tmp_path / "w.tif", tile_px=512)
    plain = process_scene(make_scene(ben_dir), None, get_model("bicubic"), 2, tmp_path / "p.tif")
    assert info is not None and plain is not None
    assert len(model.sides) > 1 and max(max(side) for side in model.sides) <= model.tile
    a, _ = read_product(info)
    b, _ = read_product(plain)
    assert np.abs(a.astype(np.int32) - b.astype(np.int32)).max() <= 1


def test_large_product_has_overviews(ben_dir: Path, tmp_path: Path) -> None:
    whole_scene = shapely.box(LEFT, TOP - 1200, LEFT + 1200, TOP)
    info = process_scene(
        make_scene(ben_dir),
        to_wgs84(whole_scene),
        get_model("bicubic"),
        8,
        tmp_path / "x8.tif",
        tile_px=64,
    )
    assert info is not None
    assert (info.width, info.height, info.resolution) == (960, 960, 1.25)
    assert validate_cog(info.path) == []
    with rasterio.open(info.path) as ds:
        assert ds.overviews(1) == [2]
        assert ds.block_shapes[0] == (512, 512)
        assert (ds.read(1, out_shape=(480, 480)) > 0).all()  # average overview keeps the data


def test_l2a_offset_is_removed_once(ben_dir: Path, tmp_path: Path) -> None:
    model, aoi = get_model("bicubic"), to_wgs84(AOI_UTM)
    applied = make_scene(ben_dir, baseline="05.00", applied=True)
    raw = make_scene(ben_dir, baseline="05.00", applied=False)
    a = process_scene(applied, aoi, model, 2, tmp_path / "applied.tif")
    b = process_scene(raw, aoi, model, 2, tmp_path / "raw.tif")
    assert a is not None and b is not None
    with rasterio.open(a.path) as da, rasterio.open(b.path) as db:
        assert db.tags()["DEEPRES_OFFSET_REMOVED_DN"] == "1000"
        nir_a = da.read(OUTPUT_BANDS.index("B08") + 1).astype(np.int32)
        nir_b = db.read(OUTPUT_BANDS.index("B08") + 1).astype(np.int32)
    bright = nir_a > 1000  # B08 is above 1100 DN everywhere in this patch: no clamping at 0
    assert bright.sum() > 1000
    assert np.abs(nir_a[bright] - nir_b[bright] - 1000).max() <= 1


def test_aoi_half_outside_the_scene_is_clipped_to_it(ben_dir: Path, tmp_path: Path) -> None:
    aoi = shapely.Polygon(
        [(642731.3, 5797702.9), (643611.8, 5797751.4), (643489.6, 5797127.2), (642857.4, 5797033.3)]
    )
    info = process_scene(
        make_scene(ben_dir), to_wgs84(aoi), get_model("bicubic"), 4, tmp_path / "p.tif"
    )
    assert info is not None
    assert info.bounds[0] == LEFT  # the product starts at the scene's western edge
    data, transform = read_product(info)
    inside = inside_mask(aoi, data.shape[1:], transform)
    assert (data[:, inside] > 0).all()
    assert (data[:, ~inside] == 0).all()
    assert validate_cog(info.path) == []


def test_aoi_outside_the_scene_gives_none(ben_dir: Path, tmp_path: Path) -> None:
    far = shapely.box(LEFT - 5000, TOP - 1000, LEFT - 4000, TOP)
    out = tmp_path / "none.tif"
    assert process_scene(make_scene(ben_dir), to_wgs84(far), get_model("bicubic"), 4, out) is None
    assert not out.exists()


def test_nodata_pixels_stay_nodata(ben_dir: Path, tmp_path: Path) -> None:
    """Bands whose western half is 0 (nodata, as at a swath edge): no data is invented there."""
    folder = tmp_path / "half"
    folder.mkdir()
    for band in OUTPUT_BANDS:
        with rasterio.open(ben_dir / f"{band}.tif") as src:
            profile, data = src.profile, src.read(1)
        data[:, : data.shape[1] // 2] = 0
        with rasterio.open(folder / f"{band}.tif", "w", **profile) as dst:
            dst.write(data, 1)
    scene, model = make_scene(folder), get_model("bicubic")
    west = shapely.box(LEFT + 100, TOP - 900, LEFT + 500, TOP - 100)
    assert process_scene(scene, to_wgs84(west), model, 2, tmp_path / "west.tif") is None
    info = process_scene(scene, to_wgs84(AOI_UTM), model, 2, tmp_path / "both.tif")
    assert info is not None
    data, transform = read_product(info)
    inside = inside_mask(AOI_UTM, data.shape[1:], transform)
    xs = transform.c + transform.a * (np.arange(data.shape[2]) + 0.5)
    east = np.broadcast_to(xs > LEFT + 600, inside.shape)
    assert (data[:, ~east] == 0).all()
    assert (data[:, inside & east] > 0).all()


def test_downsampled_29rkh_corner(shared_data: Path, tmp_path: Path) -> None:
    """The x10-downsampled tile (100 m / 200 m pixels): the grid comes from the files."""
    folder = shared_data / RKH
    scene = Scene(
        id="S2A_29RKH_20200219_0_L2A",
        datetime=dt.datetime(2020, 2, 19, 11, 34, 25, tzinfo=dt.UTC),
        mgrs="29RKH",
        epsg=32629,
        assets={band: str(folder / f"{band}.tif") for band in OUTPUT_BANDS},
        processing_baseline="02.14",
        boa_offset_applied=False,
    )
    corner = shapely.box(199980 + 1234, 2800020 - 6543, 199980 + 7321, 2800020 - 987)
    info = process_scene(scene, to_wgs84(corner), get_model("bicubic"), 4, tmp_path / "rkh.tif")
    assert info is not None
    assert info.resolution == 25.0 and info.epsg == 32629
    assert validate_cog(info.path) == []
    data, transform = read_product(info)
    inside = inside_mask(corner, data.shape[1:], transform)
    assert (data[:, inside] > 0).all() and (data[:, ~inside] == 0).all()
    with rasterio.open(folder / "B02.tif") as src:
        source = src.read(1, window=Window(0, 0, 100, 100)).astype(np.float64)
        source_inside = inside_mask(corner, source.shape, src.transform)
    expected = source[source_inside].mean()
    assert abs(data[0][inside].mean() - expected) / expected < 0.02


def test_read_window_bands_past_the_edge(ben_dir: Path) -> None:
    bands = read_window_bands(make_scene(ben_dir, baseline="04.00"), Window(100, -4, 40, 20))
    assert bands.b10.shape == (4, 20, 40) and bands.b20.shape == (6, 10, 20)
    assert bands.valid_10m[4:, :20].all()
    assert not bands.valid_10m[:4].any() and not bands.valid_10m[:, 20:].any()
    with rasterio.open(ben_dir / "B02.tif") as src:
        raw = src.read(1, window=Window(100, 0, 20, 16)).astype(np.float32)
    assert np.array_equal(bands.b10[0, 4:, :20], np.maximum(raw - 1000, 0))
    with pytest.raises(InvalidInput):
        read_window_bands(make_scene(ben_dir), Window(1, 0, 4, 4))


def test_bad_arguments_are_refused(synthetic_scene: Any, tmp_path: Path) -> None:
    made = synthetic_scene(side_px=64, left=LEFT, top=TOP)
    scene, aoi = made.scene, to_wgs84(AOI_UTM)
    with pytest.raises(InvalidInput):
        process_scene(scene, aoi, get_model("bicubic"), 3, tmp_path / "a.tif")
    with pytest.raises(InvalidInput):
        process_scene(scene, aoi, get_model("bicubic"), 4, tmp_path / "b.tif", tile_px=33)


def test_misaligned_20m_grid_is_refused(synthetic_scene: Any, tmp_path: Path) -> None:
    """A scene whose 20 m band is not on twice the 10 m grid is refused, not misread."""
    made = synthetic_scene(side_px=128, left=LEFT, top=TOP)
    with rasterio.open(made.folder / "B02.tif") as src:
        profile, data = src.profile, src.read(1)
    with rasterio.open(made.folder / "B05.tif", "w", **profile) as dst:  # 10 m pixels as "20 m"
        dst.write(data, 1)
    with pytest.raises(SceneReadError):
        process_scene(made.scene, to_wgs84(AOI_UTM), get_model("bicubic"), 4, tmp_path / "c.tif")


@pytest.mark.parametrize("epsg, top", [(32721, 9_000_000.0), (32760, 1_200_000.0)])
def test_southern_hemisphere_scenes_keep_their_grid(
    synthetic_scene: Any, tmp_path: Path, epsg: int, top: float
) -> None:
    """UTM south (false northing 10,000 km), near the antimeridian too: no flip, no shift."""
    made = synthetic_scene(side_px=96, epsg=epsg, left=500000.0, top=top, nodata_left_px=16)
    info = process_scene(made.scene, None, get_model("bicubic"), 2, tmp_path / "s.tif")
    assert info is not None and info.epsg == epsg
    assert info.bounds == (500000.0, top - 960.0, 500960.0, top)
    data, _ = read_product(info)
    assert (data[:, :, : 16 * 2] == 0).all()  # the nodata columns stay nodata
    assert (data[:, :, 16 * 2 + 8 :] > 0).all()
