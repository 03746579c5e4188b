"""Results as STAC: a job is a Collection, each produced COG an Item that readers can load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pystac
import pytest
import rasterio
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from shapely.geometry import box, shape

from deepres import stac
from deepres.bands import OUTPUT_BANDS
from deepres.jobs.models import Job, JobDate
from tests.harness import Service

CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19


def finished(data: dict[str, Any]) -> bool:
    """Every date of the job is PROCESSED or FAILED.

    (Not only `status` absent: the status answer reads the dates and the job's state in two
    statements, so on PostgreSQL a date may still read PROCESSING when `status` is gone.)
    """
    done = ("PROCESSED", "FAILED")
    return bool(data["dates"]) and all(d["status"] in done for d in data["dates"])


def _get(svc: Service, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{svc.url}{path}", headers={"client_token": token}, timeout=30)


@pytest.fixture(scope="module")
def done_job(service: Service) -> tuple[str, str]:
    """(token, job_id) of a one-date job that has finished."""
    token = service.create_client("stac")
    job_id = service.submit(token)
    data = service.wait_status(job_id, token, finished)
    assert [d["status"] for d in data["dates"]] == ["PROCESSED"], data
    return token, job_id


@pytest.mark.realdata
@pytest.mark.slow
def test_collection_describes_the_job_and_links_its_items(
    service: Service, done_job: tuple[str, str]
) -> None:
    token, job_id = done_job
    r = _get(service, f"/deep-resolution/jobs/{job_id}/stac", token)
    assert r.status_code == 200, r.text
    body = r.json()
    collection = pystac.Collection.from_dict(body)
    assert collection.id == job_id and body["type"] == "Collection"
    base = f"{service.url}/deep-resolution/jobs/{job_id}/stac"
    links = {(link["rel"], link["href"]) for link in body["links"]}
    item_id = f"{job_id}-29RKH-2020-02-19"
    assert {
        ("self", base),
        ("items", f"{base}/items"),
        ("item", f"{base}/items/{item_id}"),
    } <= links
    (bbox,) = body["extent"]["spatial"]["bbox"]
    assert box(*bbox).contains(CLEAR)  # the product covers the AOI, snapped outwards
    ((start, end),) = body["extent"]["temporal"]["interval"]
    assert start.startswith("2020-02-19T") and end == start
    assert body["summaries"]["deepres:mgrs"] == ["29RKH"]


@pytest.mark.realdata
@pytest.mark.slow
def test_item_describes_the_cog_its_signed_link_downloads(
    service: Service, done_job: tuple[str, str], tmp_path: Path
) -> None:
    token, job_id = done_job
    r = _get(service, f"/deep-resolution/jobs/{job_id}/stac/items", token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    (feature,) = r.json()["features"]
    item = pystac.ItemCollection.from_dict(r.json()).items[0]
    props = feature["properties"]
    assert feature["id"] == f"{job_id}-29RKH-2020-02-19" and feature["collection"] == job_id
    assert item.datetime is not None and item.datetime.date() == dt.date(2020, 2, 19)
    assert props["proj:code"] == "EPSG:32629" and props["proj:epsg"] == 32629
    assert ProjectionExtension.ext(item).epsg == 32629
    assert props["deepres:source_item"] == "S2A_29RKH_20200219_0_L2A"
    assert props["deepres:scale"] == 4 and props["deepres:model"] and props["eo:cloud_cover"] == 0
    assert shape(feature["geometry"]).contains(CLEAR.buffer(-1e-4))

    asset = feature["assets"]["data"]
    assert asset["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert asset["roles"] == ["data"]
    assert [b["name"] for b in asset["eo:bands"]] == list(OUTPUT_BANDS)
    assert asset["eo:bands"][2]["common_name"] == "red"
    raster = RasterExtension.ext(item.assets["data"]).bands
    assert raster is not None and len(raster) == 10
    assert {(b.data_type, b.nodata, b.scale, b.offset) for b in raster} == {("uint16", 0, 1e-4, 0)}
    assert raster[0].spatial_resolution == props["gsd"]

    got = httpx.get(asset["href"], timeout=30)  # signed: no token needed
    assert got.status_code == 200
    cog = tmp_path / "result.tif"
    cog.write_bytes(got.content)
    with rasterio.open(cog) as ds:
        assert ds.crs.to_epsg() == props["proj:epsg"]
        assert [ds.height, ds.width] == props["proj:shape"]
        assert list(ds.transform)[:6] == pytest.approx(props["proj:transform"])
        assert list(ds.bounds) == pytest.approx(props["proj:bbox"])
        assert ds.res == (props["gsd"], props["gsd"])
        assert ds.count == 10 and set(ds.dtypes) == {"uint16"} and ds.nodata == 0
        assert list(ds.descriptions) == list(OUTPUT_BANDS)


@pytest.mark.realdata
@pytest.mark.slow
def test_odc_stac_loads_the_items_pixel_for_pixel(
    service: Service, done_job: tuple[str, str], tmp_path: Path
) -> None:
    odc_stac = pytest.importorskip("odc.stac")
    token, job_id = done_job
    items = pystac.ItemCollection.from_dict(
        _get(service, f"/deep-resolution/jobs/{job_id}/stac/items", token).json()
    )
    loaded = odc_stac.load(items, bands=["B04", "B8A"])
    href = items.items[0].assets["data"].href
    cog = tmp_path / "result.tif"
    cog.write_bytes(httpx.get(href, timeout=30).content)
    with rasterio.open(cog) as ds:
        assert loaded.odc.geobox.crs.epsg == ds.crs.to_epsg()
        assert loaded["B04"].shape == (1, ds.height, ds.width)
        np.testing.assert_array_equal(loaded["B04"].values[0], ds.read(3))
        np.testing.assert_array_equal(loaded["B8A"].values[0], ds.read(8))
    assert int(loaded["B04"].values.max()) > 0


@pytest.mark.realdata
@pytest.mark.slow
def test_one_item_endpoint_and_unknown_items(service: Service, done_job: tuple[str, str]) -> None:
    token, job_id = done_job
    item_id = f"{job_id}-29RKH-2020-02-19"
    r = _get(service, f"/deep-resolution/jobs/{job_id}/stac/items/{item_id}", token)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == item_id and r.json()["properties"]["proj:epsg"] == 32629
    self_link = [link["href"] for link in r.json()["links"] if link["rel"] == "self"]
    assert self_link == [f"{service.url}/deep-resolution/jobs/{job_id}/stac/items/{item_id}"]
    r = _get(service, f"/deep-resolution/jobs/{job_id}/stac/items/{job_id}-29RKH-2020-02-20", token)
    assert r.status_code == 404 and r.json()["error"] == "NOT-FOUND"


@pytest.mark.realdata
@pytest.mark.slow
def test_other_clients_get_404_and_strangers_401(
    service: Service, done_job: tuple[str, str]
) -> None:
    _, job_id = done_job
    other = service.create_client("other")
    paths = [
        f"/deep-resolution/jobs/{job_id}/stac",
        f"/deep-resolution/jobs/{job_id}/stac/items",
        f"/deep-resolution/jobs/{job_id}/stac/items/{job_id}-29RKH-2020-02-19",
        f"/deep-resolution/jobs/{job_id}/quicklook/2020-02-19.png",
    ]
    for path in paths:
        r = _get(service, path, other)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["statusCode"] == 404 and job_id in r.json()["data"]["message"]
        assert httpx.get(f"{service.url}{path}").status_code == 401
    no_read = service.create_client("dates-only", permissions="deep-resolution.available-dates")
    r = _get(service, paths[0], no_read)
    assert r.status_code == 403 and "deep-resolution.jobs.read" in r.json()["data"]["message"]


def _row(state: str = "PROCESSED", **product: Any) -> JobDate:
    return JobDate(
        id=1,
        job_id="j1",
        date=dt.date(2020, 2, 19),
        mgrs="29RKH",
        item_id="S2A_29RKH_20200219_0_L2A",
        scene={"datetime": "2020-02-19T11:34:25+00:00"},
        cloud_cover=1.5,
        state=state,
        storage_key="j1/29RKH/2020-02-19_MS.tif",
        product={
            "epsg": 32629,
            "bounds": [220000.0, 2738000.0, 222000.0, 2739500.0],
            "width": 80,
            "height": 60,
            "resolution": 25.0,
            "model": "bicubic",
            "model_version": "1",
            "scale": 4,
            "scene_id": "S2A_29RKH_20200219_0_L2A",
            **product,
        },
    )


def _job() -> Job:
    return Job(
        id="j1",
        aoi={
            "type": "Polygon",
            "coordinates": [[[-11.8, 24.7], [-11.7, 24.7], [-11.7, 24.8], [-11.8, 24.7]]],
        },
        area_hectares=550.0,
        model="bicubic",
        scale=4,
        start_date=dt.date(2020, 2, 1),
        end_date=None,
        created_at=dt.datetime(2024, 5, 1),
    )


def test_items_are_made_only_for_stored_products_and_round_trip_through_pystac() -> None:
    rows = [_row(), _row("PENDING"), _row("FAILED")]
    rows[1].id, rows[1].date = 2, dt.date(2020, 2, 24)
    links = stac.StacLinks("https://dr.example/deep-resolution/jobs/j1/stac")
    collection = stac.job_item_collection(rows, lambda key: f"https://files/{key}", links=links)
    (feature,) = collection["features"]
    item = pystac.Item.from_dict(feature)
    assert item.to_dict(transform_hrefs=False)["properties"]["proj:shape"] == [60, 80]
    assert feature["properties"]["proj:transform"] == [25.0, 0.0, 220000.0, 0.0, -25.0, 2739500.0]
    assert item.assets["data"].href == "https://files/j1/29RKH/2020-02-19_MS.tif"
    lon_min, lat_min, lon_max, lat_max = feature["bbox"]
    assert -11.8 < lon_min < lon_max < -11.7 and 24.7 < lat_min < lat_max < 24.8
    assert item.get_self_href() == f"{links.items}/j1-29RKH-2020-02-19"


def test_an_item_says_when_its_20m_bands_were_co_registered() -> None:
    moved = stac.product_item(_row(shift_20m_px=[-0.29, -0.21]), "https://files/x.tif")
    assert moved.properties["deepres:shift_20m_px"] == [-0.29, -0.21]
    for product in ({}, {"shift_20m_px": None}):  # aligned, and products from before the field
        plain = stac.product_item(_row(**product), "https://files/x.tif")
        assert "deepres:shift_20m_px" not in plain.properties


def test_a_collection_without_products_spans_the_aoi_from_the_start_date() -> None:
    body = stac.job_collection(_job(), [_row("PENDING")], lambda key: key)
    assert body["extent"]["spatial"]["bbox"] == [[-11.8, 24.7, -11.7, 24.8]]
    assert body["extent"]["temporal"]["interval"] == [["2020-02-01T00:00:00Z", None]]
    assert body["links"] == [] and "summaries" not in body
    assert pystac.Collection.from_dict(body).id == "j1"


def test_large_footprints_are_densified_and_counter_clockwise() -> None:
    geometry = stac.footprint_wgs84(32629, (200000.0, 2700000.0, 300000.0, 2800000.0))
    ring = geometry["coordinates"][0]
    assert len(ring) > 20  # 100 km edges, a vertex every 10 km at most
    assert shape(geometry).exterior.is_ccw
