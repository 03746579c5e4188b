"""Earth Search items (v1 and v0 layouts) become the same `Scene` records."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pystac
import pytest

from deepres.catalog.items import scene_from_item
from deepres.catalog.mgrs import mgrs_in_name, mgrs_of_utm_point, normalise_mgrs
from deepres.errors import InvalidInput

pytestmark = pytest.mark.realdata

V1_13TDE = "stac/earthsearch_v1_item_S2A_13TDE_20231008_0_L2A.json"
V1_21MZV = "stac/earthsearch_v1_item_S2B_21MZV_20231110_0_L2A.json"
V0_29RKH = "stac/earthsearch_v0_item_S2A_29RKH_20200219_0_L2A.json"
V1_29RKH = "scenes/S2A_29RKH_20200219_L2A/S2A_29RKH_20200219_0_L2A.json"
BANDS = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12", "SCL"}


def _load(shared_data: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_data / name).read_text())
    return data


def test_v1_item_maps_asset_keys_to_band_ids(shared_data: Path) -> None:
    scene = scene_from_item(pystac.Item.from_file(str(shared_data / V1_13TDE)))

    assert scene.id == "S2A_13TDE_20231008_0_L2A"
    assert scene.mgrs == "13TDE"
    assert scene.epsg == 32613
    assert scene.datetime == dt.datetime(2023, 10, 8, 18, 2, 55, 276000, tzinfo=dt.UTC)
    assert set(scene.assets) == BANDS
    assert scene.assets["B02"].endswith("/B02.tif")
    assert scene.assets["B8A"].endswith("/B8A.tif")
    assert scene.assets["SCL"].endswith("/SCL.tif")
    assert not any(href.endswith(".jp2") for href in scene.assets.values())
    assert scene.eo_cloud_cover == pytest.approx(0.000299)
    assert scene.processing_baseline == "05.09"
    assert scene.boa_offset_applied is True


@pytest.mark.parametrize("name", [V1_13TDE, V1_21MZV])
def test_baseline_0509_items_flagged_applied_need_no_offset(shared_data: Path, name: str) -> None:
    item = _load(shared_data, name)
    assert scene_from_item(item).offset_dn == 0

    flagged_false = copy.deepcopy(item)
    flagged_false["properties"]["earthsearch:boa_offset_applied"] = False
    assert scene_from_item(flagged_false).offset_dn == 1000

    unflagged = copy.deepcopy(item)
    del unflagged["properties"]["earthsearch:boa_offset_applied"]
    assert scene_from_item(unflagged).offset_dn == 1000


def test_southern_hemisphere_sliver(shared_data: Path) -> None:
    scene = scene_from_item(_load(shared_data, V1_21MZV))
    assert (scene.mgrs, scene.epsg) == ("21MZV", 32721)
    assert scene.bbox is not None and scene.bbox[3] < 0


def test_v0_item_gives_the_same_scene_as_its_v1_twin(shared_data: Path) -> None:
    v0 = scene_from_item(pystac.Item.from_file(str(shared_data / V0_29RKH)))
    v1 = scene_from_item(pystac.Item.from_file(str(shared_data / V1_29RKH)))

    # v0 has sentinel:latitude_band and grid_square but no utm_zone: the zone comes from EPSG.
    assert v0.mgrs == v1.mgrs == "29RKH"
    assert v0.epsg == v1.epsg == 32629
    assert v0.date == v1.date == dt.date(2020, 2, 19)
    assert set(v0.assets) == set(v1.assets) == BANDS
    assert v0.assets["B02"].endswith("S2A_29RKH_20200219_0_L2A/B02.tif")
    # v0 carries no s2:processing_baseline; its product id says N0214.
    assert v0.processing_baseline == v1.processing_baseline == "02.14"
    assert v0.boa_offset_applied is None and v1.boa_offset_applied is False
    assert v0.offset_dn == v1.offset_dn == 0
    assert (v0.eo_cloud_cover, v1.eo_cloud_cover) == (1.8, 4.051854)


def test_mgrs_fallbacks_and_proj_code(shared_data: Path) -> None:
    item = _load(shared_data, V1_13TDE)
    props = item["properties"]
    del props["grid:code"]
    assert scene_from_item(item).mgrs == "13TDE"  # from mgrs:utm_zone/latitude_band/grid_square

    for key in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square", "proj:epsg"):
        del props[key]
    props["proj:code"] = "EPSG:32613"
    scene = scene_from_item(item)
    assert scene.mgrs == "13TDE"  # from the id
    assert scene.epsg == 32613


def test_relative_hrefs_resolve_against_the_item_file(shared_data: Path, tmp_path: Path) -> None:
    item = _load(shared_data, V1_29RKH)
    item["links"] = []
    item["assets"]["scl"]["href"] = "./bands/SCL.tif"
    item["assets"]["blue"]["href"] = "bands/B02.tif"
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))

    from_file = scene_from_item(pystac.Item.from_file(str(path)))
    assert from_file.assets["SCL"] == str(tmp_path / "bands" / "SCL.tif")

    from_dict = scene_from_item(item, base_href=str(path))
    assert from_dict.assets["B02"] == str(tmp_path / "bands" / "B02.tif")

    item["links"] = [{"rel": "self", "href": "https://example.com/items/x/item.json"}]
    from_url = scene_from_item(item)
    assert from_url.assets["SCL"] == "https://example.com/items/x/bands/SCL.tif"


def test_item_without_datetime_is_refused(shared_data: Path) -> None:
    item = _load(shared_data, V1_13TDE)
    item["properties"]["datetime"] = None
    with pytest.raises(InvalidInput, match="datetime"):
        scene_from_item(item)


def test_mgrs_codes() -> None:
    assert normalise_mgrs("MGRS-13TDE") == "13TDE"
    assert normalise_mgrs("MGRS-5VNK") == "05VNK"
    assert normalise_mgrs("T32TNR") == "32TNR"
    assert normalise_mgrs("nonsense") is None
    assert mgrs_in_name("S2A_MSIL2A_20200219T112111_N0214_R037_T29RKH_20200219T123947") == "29RKH"
    assert mgrs_in_name("bigearthnet_S2A_MSIL2A_20170617T113321_36_85") is None
    # Tile centres fall in the tile's own 100 km square.
    assert mgrs_of_utm_point(32629, 254880, 2745120) == "29RKH"
    assert mgrs_of_utm_point(32613, 454860, 4445100) == "13TDE"
