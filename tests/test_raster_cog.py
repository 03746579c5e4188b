"""validate_cog: COGs written by write_cog pass, ordinary GeoTIFFs are told why they do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling

from deepres.raster import validate_cog, write_cog

SIZE = 1200


def write_tif(path: Path, **options: object) -> Path:
    rows = np.arange(SIZE, dtype=np.uint16)[:, None]
    data = np.broadcast_to(rows + np.arange(SIZE, dtype=np.uint16)[None, :], (2, SIZE, SIZE))
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 2,
        "dtype": "uint16",
        "crs": "EPSG:32629",
        "transform": Affine(10, 0, 600000, 0, -10, 5800000),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **(profile | options)) as dst:
        dst.write(data)
    return path


def test_write_cog_output_is_valid(tmp_path: Path) -> None:
    source = write_tif(tmp_path / "plain.tif")
    write_cog(source, tmp_path / "cog.tif")
    assert validate_cog(tmp_path / "cog.tif") == []
    with rasterio.open(tmp_path / "cog.tif") as ds:
        assert ds.overviews(1) == [2, 4]
        assert ds.compression is not None and ds.compression.name == "deflate"


def test_striped_tiff_is_not_a_cog(tmp_path: Path) -> None:
    problems = validate_cog(write_tif(tmp_path / "striped.tif"))
    assert any("not tiled" in p for p in problems)
    assert any("internal overviews" in p for p in problems)
    assert any("LAYOUT" in p for p in problems)


def test_overviews_added_afterwards_break_the_layout(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "late.tif", tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([2, 4], Resampling.average)
    problems = validate_cog(path)
    assert any("should be after the one of the overview" in p for p in problems)


def test_external_overviews_are_flagged(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "ext.tif", tiled=True, blockxsize=256, blockysize=256)
    with rasterio.Env(TIFF_USE_OVR=True), rasterio.open(path, "r+") as ds:
        ds.build_overviews([2], Resampling.average)  # into ext.tif.ovr beside the file
    assert (tmp_path / "ext.tif.ovr").exists()
    assert any(".ovr" in p for p in validate_cog(path))


@pytest.mark.parametrize("content", [b"", b"not a tiff at all"])
def test_non_rasters_are_reported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.tif"
    path.write_bytes(content)
    assert validate_cog(path) != []
