"""`find_available_dates`: per-AOI cloud filtering, same-day dedupe and the spec's payload."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from shapely.geometry import box, mapping

from deepres.catalog.available import AvailableDate, find_available_dates, search_dates
from deepres.catalog.index import build_index
from deepres.catalog.items import scene_from_item
from deepres.catalog.search import open_catalog
from deepres.errors import SceneReadError

pytestmark = pytest.mark.realdata

RKH = "scenes/S2A_29RKH_20200219_L2A"
BIGEARTHNET = "scenes/bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
RKH_ID = "S2A_29RKH_20200219_0_L2A"
# Spots of the 29RKH SCL: all cloud (classes 8, 9, 10) / all bare soil (class 5).
CLOUDY_AOI = box(-10.981, 25.181, -10.969, 25.191)
CLEAR_AOI = box(-11.765, 24.734, -11.752, 24.747)
FEB_2020 = (dt.date(2020, 2, 1), dt.date(2020, 2, 29))


@pytest.fixture(scope="module")
def rkh_item(shared_data: Path) -> dict[str, Any]:
    """The 29RKH item as `deepres catalog index` writes it: real properties, local hrefs."""
    (item,) = build_index([shared_data / RKH])["features"]
    data: dict[str, Any] = item
    return data


def _catalog(tmp_path: Path, *items: dict[str, Any]) -> Any:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(items)}))
    return open_catalog(str(path))


def _variant(item: dict[str, Any], item_id: str, **properties: Any) -> dict[str, Any]:
    other = copy.deepcopy(item)
    other["id"] = item_id
    other["properties"].update(properties)
    return other


def test_clear_aoi_is_listed_and_cloudy_aoi_is_not(
    tmp_path: Path, rkh_item: dict[str, Any]
) -> None:
    catalog = _catalog(tmp_path, rkh_item)

    (clear,) = find_available_dates(catalog, CLEAR_AOI, *FEB_2020, max_cloud_cover=20)
    assert clear.to_payload() == {
        "cloud_cover": 0.0,
        "data_source": RKH_ID,
        "date": "2020-02-19T00:00:00.000Z",
        "mgrs": "29RKH",
    }
    assert (clear.date, clear.mgrs, clear.item_id) == (dt.date(2020, 2, 19), "29RKH", RKH_ID)
    assert clear.scene.assets["SCL"].endswith("SCL.tif")

    # The tile is 4 % cloud overall, yet this AOI sits under a cloud: not available at 20 %.
    assert find_available_dates(catalog, CLOUDY_AOI, *FEB_2020, max_cloud_cover=20) == []
    (cloudy,) = find_available_dates(catalog, CLOUDY_AOI, *FEB_2020, max_cloud_cover=100)
    assert cloudy.cloud_cover == 100.0


def test_no_date_outside_the_time_range_or_the_footprint(
    tmp_path: Path, rkh_item: dict[str, Any]
) -> None:
    # The item claims a footprint reaching far east of the raster: the search keeps it and the
    # SCL read finds no pixel under the AOI.
    wide = _variant(rkh_item, "wide")
    wide["geometry"] = mapping(box(-12.5, 24.0, 0.0, 26.0))
    wide["bbox"] = [-12.5, 24.0, 0.0, 26.0]
    catalog = _catalog(tmp_path, wide)
    beyond_raster = box(-5.01, 25.0, -5.0, 25.01)

    assert len(catalog.search(beyond_raster, *FEB_2020)) == 1
    assert find_available_dates(catalog, beyond_raster, *FEB_2020, max_cloud_cover=100) == []
    march = (dt.date(2020, 3, 1), dt.date(2020, 3, 31))
    assert find_available_dates(catalog, CLEAR_AOI, *march, max_cloud_cover=100) == []


def test_same_day_same_tile_keeps_the_clearest_item(
    tmp_path: Path, rkh_item: dict[str, Any]
) -> None:
    # A second item over the same date and tile whose SCL has the cloud removed, and a third
    # that points at the very same files under another id (a tie).
    with rasterio.open(rkh_item["assets"]["scl"]["href"]) as src:
        scl, profile = src.read(1), src.profile
    scl[np.isin(scl, (3, 8, 9, 10))] = 5
    clearer_scl = tmp_path / "SCL_clearer.tif"
    with rasterio.open(clearer_scl, "w", **profile) as dst:
        dst.write(scl, 1)
    clearer = _variant(rkh_item, "S2A_29RKH_20200219_1_L2A")
    clearer["assets"]["scl"]["href"] = str(clearer_scl)
    twin = _variant(rkh_item, "S2B_29RKH_20200219_0_L2A")
    catalog = _catalog(tmp_path, twin, rkh_item, clearer)

    (best,) = find_available_dates(catalog, CLOUDY_AOI, *FEB_2020, max_cloud_cover=100)
    assert (best.item_id, best.cloud_cover) == ("S2A_29RKH_20200219_1_L2A", 0.0)

    (tied,) = find_available_dates(
        _catalog(tmp_path, twin, rkh_item), CLOUDY_AOI, *FEB_2020, max_cloud_cover=100
    )
    assert tied.item_id == RKH_ID  # equal cloud and pixels: the smaller id, whatever the order


def test_other_tiles_on_the_same_day_are_separate_entries(
    tmp_path: Path, rkh_item: dict[str, Any]
) -> None:
    neighbour = _variant(rkh_item, "S2A_29RKJ_20200219_0_L2A", **{"grid:code": "MGRS-29RKJ"})
    later = _variant(rkh_item, "S2A_29RKH_20200224_0_L2A", datetime="2020-02-24T11:34:25Z")
    catalog = _catalog(tmp_path, later, neighbour, rkh_item)

    found = find_available_dates(catalog, CLEAR_AOI, *FEB_2020, max_cloud_cover=10, max_workers=2)

    assert [(d.date.isoformat(), d.mgrs, d.item_id) for d in found] == [
        ("2020-02-19", "29RKH", RKH_ID),
        ("2020-02-19", "29RKJ", "S2A_29RKJ_20200219_0_L2A"),
        ("2020-02-24", "29RKH", "S2A_29RKH_20200224_0_L2A"),
    ]
    assert [d.to_payload()["date"] for d in found] == [
        "2020-02-19T00:00:00.000Z",
        "2020-02-19T00:00:00.000Z",
        "2020-02-24T00:00:00.000Z",
    ]


def test_only_fully_clouded_tiles_are_skipped_unread(
    tmp_path: Path, rkh_item: dict[str, Any]
) -> None:
    # Its SCL does not exist: any attempt to read it raises SceneReadError.
    overcast = _variant(rkh_item, "S2A_29RKH_20200224_0_L2A", datetime="2020-02-24T11:34:25Z")
    overcast["assets"]["scl"]["href"] = str(tmp_path / "missing" / "SCL.tif")
    overcast["properties"]["eo:cloud_cover"] = 100.0
    catalog = _catalog(tmp_path, rkh_item, overcast)

    (only,) = find_available_dates(catalog, CLEAR_AOI, *FEB_2020, max_cloud_cover=99)
    assert only.item_id == RKH_ID
    # At max 100 even a fully clouded tile qualifies, so it has to be read.
    with pytest.raises(SceneReadError, match="S2A_29RKH_20200224_0_L2A"):
        find_available_dates(catalog, CLEAR_AOI, *FEB_2020, max_cloud_cover=100)
    # A tile at 99.9 % may still be clear over the AOI: it is read, not skipped.
    overcast["properties"]["eo:cloud_cover"] = 99.9
    with pytest.raises(SceneReadError):
        find_available_dates(_catalog(tmp_path, overcast), CLEAR_AOI, *FEB_2020, 10)


def test_scenes_without_scl_count_as_cloudy_and_say_why(shared_data: Path, tmp_path: Path) -> None:
    """No scene classification layer: cloud unknown, so 100 %, offered only when that is asked."""
    (item,) = build_index([shared_data / BIGEARTHNET])["features"]
    ireland = box(-6.895, 52.305, -6.890, 52.310)
    catalog = _catalog(tmp_path, item)

    assert len(catalog.search(ireland, None, None)) == 1
    (entry,) = find_available_dates(catalog, ireland, None, None, max_cloud_cover=100)
    assert entry.to_payload() == {
        "cloud_cover": 100.0,
        "cloud_cover_known": False,
        "data_source": item["id"],
        "date": "2017-06-17T00:00:00.000Z",
        "mgrs": scene_from_item(item).mgrs,
    }
    search = search_dates(catalog, ireland, None, None, max_cloud_cover=99)
    assert search.available == []
    (skipped,) = search.skipped
    assert skipped.item_id == item["id"] and "no scene classification layer" in skipped.reason


def test_payload_keeps_fractional_cloud_cover(rkh_item: dict[str, Any]) -> None:
    scene = scene_from_item(rkh_item)
    entry = AvailableDate(dt.date(2023, 10, 2), 0.11560557173211615, scene, "32VPN", "S2A_x")
    assert entry.to_payload() == {
        "cloud_cover": 0.11560557173211615,
        "data_source": "S2A_x",
        "date": "2023-10-02T00:00:00.000Z",
        "mgrs": "32VPN",
    }
