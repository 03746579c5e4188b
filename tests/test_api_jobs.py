"""Deep-resolution jobs end to end: real server, real worker, COGs downloaded and opened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from shapely.geometry import Polygon, box, mapping

from deepres.raster import validate_cog
from tests.harness import Receiver, Service, is_valid_signature

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CLEAR = box(-11.765, 24.734, -11.752, 24.747)
# A triangle over clear desert: pixels of its bounding box outside it must be nodata.
TRIANGLE = Polygon([(-11.78, 24.72), (-11.73, 24.72), (-11.78, 24.77), (-11.78, 24.72)])


def _job(svc: Service, token: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{svc.url}/deep-resolution", json={"client_token": token, **body}, timeout=30
    )


def _status(svc: Service, job_id: str, token: str) -> httpx.Response:
    return httpx.get(f"{svc.url}/deep-resolution/status/{job_id}", headers={"client_token": token})


def _done(data: dict[str, Any]) -> bool:
    return bool(data["dates"]) and "status" not in data


def test_one_date_job_gives_a_clipped_utm_cog_announced_by_a_signed_webhook(
    service: Service, receiver: Receiver, tmp_path: Path, shared_data: Path
) -> None:
    token = service.create_client("farmer")
    r = _job(
        service,
        token,
        aoi={"type": "Feature", "properties": {}, "geometry": mapping(TRIANGLE)},
        cloud_cover=20,
        dates=["2020-02-19T00:00:00"],
        callback_url=receiver.url("/job"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["message"] == "Job queued"
    job_id = r.json()["data"]["job_id"]

    data = service.wait_status(job_id, token, _done)
    (entry,) = data["dates"]
    assert entry["date"] == "2020-02-19T00:00:00.000Z" and entry["status"] == "PROCESSED"
    assert f"/{job_id}/29RKH/2020-02-19_MS.tif" in entry["link"]

    (hook,) = receiver.wait_for(1, "/job")
    payload = hook.json
    assert is_valid_signature(hook.headers["X-Digifarm-Signature"], payload, token)
    assert payload["statusCode"] == 200
    assert {k: payload["data"][k] for k in ("filename", "job_id", "status", "version")} == {
        "filename": "2020-02-19_MS.tif",
        "job_id": job_id,
        "status": "success",
        "version": "v1.0",
    }
    assert hook.headers["webhook-id"].startswith("msg_")

    out = tmp_path / "result.tif"
    got = httpx.get(payload["data"]["link"], timeout=30)
    assert got.status_code == 200
    out.write_bytes(got.content)
    assert validate_cog(out) == []
    source = shared_data / "scenes/S2A_29RKH_20200219_L2A/B04.tif"
    with rasterio.open(out) as ds, rasterio.open(source) as src:
        assert ds.crs.to_epsg() == 32629
        assert ds.res[0] == pytest.approx(src.res[0] / 4)  # finer than its input
        assert ds.count == 10 and ds.dtypes[0] == "uint16" and ds.nodata == 0
        assert ds.descriptions[:4] == ("B02", "B03", "B04", "B08")
        assert ds.tags()["DEEPRES_MODEL"] == "deepres-s2sr"  # the trained default
        red = ds.read(3)
        # Clipped to the AOI: the triangle's far corner (north-east of the hypotenuse) is empty.
        to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
        inside = ds.index(*to_utm.transform(-11.77, 24.73))
        outside = ds.index(*to_utm.transform(-11.735, 24.765))
        assert red[inside] > 0
        assert red[outside] == 0
        assert 0.3 < (red > 0).mean() < 0.7  # about half the bounding box is the triangle
        assert np.median(red[red > 0]) > 1000  # desert reflectance, not noise


def test_another_client_cannot_see_or_cancel_the_job(service: Service) -> None:
    owner = service.create_client("owner")
    other = service.create_client("intruder")
    job_id = _job(service, owner, bbox=_bbox(CLEAR), cloud_cover=20, dates=["2020-02-19"]).json()[
        "data"
    ]["job_id"]
    r = _status(service, job_id, other)
    assert r.status_code == 404 and r.json()["error"] == "NOT-FOUND"
    r = httpx.post(
        f"{service.url}/deep-resolution/cancel/{job_id}", headers={"client_token": other}
    )
    assert r.status_code == 404
    r = httpx.post(
        f"{service.url}/tasking/check-status", json={"pipelineId": job_id, "client_token": other}
    )
    assert r.status_code == 404
    listed = httpx.get(
        f"{service.url}/deep-resolution/jobs", headers={"client_token": other}
    ).json()
    assert listed == {"results": [], "cursor": None}
    assert _status(service, job_id, owner).status_code == 200


def test_future_end_date_is_active_until_cancelled_and_cancel_sticks(service: Service) -> None:
    token = service.create_client("watcher")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = _job(service, token, bbox=_bbox(CLEAR), cloud_cover=20, end_date=future, interval=5)
    job_id = r.json()["data"]["job_id"]
    data = service.wait_status(job_id, token, lambda d: d.get("status") == "ACTIVE")
    assert data["dates"] == []  # nothing acquired between today and today yet
    r = httpx.get(f"{service.url}/deep-resolution/cancel/{job_id}", headers={"client_token": token})
    assert r.status_code == 200
    assert r.json()["data"] == {"job_id": job_id, "status": "CANCELLED"}
    import time

    time.sleep(1.5)  # several scheduler ticks
    assert _status(service, job_id, token).json()["data"]["status"] == "CANCELLED"


def test_range_job_and_job_as_pipeline(service: Service) -> None:
    token = service.create_client("ranger")
    r = _job(
        service,
        token,
        bbox=_bbox(CLEAR),
        cloud_cover=20,
        start_date="2020-02-01T00:00:00",
        end_date="2020-03-01T00:00:00",
        scale=2,
    )
    job_id = r.json()["data"]["job_id"]
    data = service.wait_status(job_id, token, _done)
    assert [(d["date"], d["status"]) for d in data["dates"]] == [
        ("2020-02-19T00:00:00.000Z", "PROCESSED")
    ]
    auth = {"client_token": token}
    r = httpx.post(f"{service.url}/tasking/check-status", json={"pipelineId": job_id, **auth})
    assert r.json() == {"pipelineId": job_id, "status": "RESOLVED"}
    r = httpx.post(
        f"{service.url}/deep-resolution/available_dates/retrieve",
        json={"pipelineId": job_id, **auth},
    )
    assert r.status_code == 200 and r.json()["data"]["job_id"] == job_id


def test_date_without_a_scene_fails_with_a_reason_and_an_error_webhook(
    service: Service, receiver: Receiver
) -> None:
    token = service.create_client("unlucky")
    r = _job(
        service,
        token,
        bbox=_bbox(CLEAR),
        cloud_cover=20,
        dates=["2020-02-20"],
        callback_url=receiver.url("/fail"),
    )
    job_id = r.json()["data"]["job_id"]
    data = service.wait_status(job_id, token, _done)
    (entry,) = data["dates"]
    assert entry["status"] == "FAILED" and "no Sentinel-2" in entry["reason"]
    assert "mgrs" not in entry and "link" not in entry  # no empty or null keys for what is not
    (hook,) = receiver.wait_for(1, "/fail")
    assert is_valid_signature(hook.headers["X-Digifarm-Signature"], hook.json, token)
    inner = hook.json["data"]["data"]
    assert hook.json["statusCode"] == 400
    assert inner["job_id"] == job_id and inner["error"].startswith("Bad Request")
    assert "mgrs" not in inner  # no scene, so no tile: absent rather than ""
    # The job has finished: cancelling it is a conflict, and it stays as it was.
    cancel = httpx.post(
        f"{service.url}/deep-resolution/cancel/{job_id}", json={"client_token": token}
    )
    assert cancel.status_code == 409 and "finished" in cancel.json()["data"]["message"]
    again = service.wait_status(job_id, token, _done)
    assert "status" not in again and again["dates"][0]["status"] == "FAILED"


def test_cancel_answers_the_specs_body_without_null_keys(service: Service) -> None:
    token = service.create_client("canceller")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = _job(service, token, bbox=_bbox(CLEAR), cloud_cover=20, end_date=future)
    job_id = r.json()["data"]["job_id"]
    answer = httpx.get(
        f"{service.url}/deep-resolution/cancel/{job_id}", headers={"client_token": token}
    ).json()
    assert answer["data"] == {"job_id": job_id, "status": "CANCELLED"}
    assert set(answer) == {"statusCode", "data", "version", "timestamp"}


def test_jobs_list_pages_with_a_cursor(service: Service) -> None:
    token = service.create_client("pager")
    ids = [
        _job(service, token, bbox=_bbox(CLEAR), cloud_cover=20, dates=["2020-02-20"]).json()[
            "data"
        ]["job_id"]
        for _ in range(3)
    ]
    headers = {"client_token": token}
    first = httpx.get(f"{service.url}/deep-resolution/jobs?limit=2", headers=headers).json()
    assert len(first["results"]) == 2 and first["cursor"]
    second = httpx.get(
        f"{service.url}/deep-resolution/jobs",
        params={"limit": 2, "cursor": first["cursor"]},
        headers=headers,
    ).json()
    assert len(second["results"]) == 1 and second["cursor"] is None
    seen = [j["job_id"] for j in first["results"] + second["results"]]
    assert sorted(seen) == sorted(ids)


def test_area_guard_answers_the_spec_sentence(service: Service) -> None:
    token = service.create_client("big")
    spec_bbox = {
        "x_min": 0.0,
        "y_min": 0.0,
        "x_max": 0.15603603603603605,
        "y_max": 0.15603603603603605,
    }
    r = _job(
        service,
        token,
        bbox=spec_bbox,
        cloud_cover=70,
        data_cover=70,
        start_date="2023-10-01T00:00:00",
        end_date="2024-01-01T00:00:00",
        callback_url="https://webhook.site/e9062ce5-f2a5-4f63-8f03-10696be609c9",
    )
    assert r.status_code == 400
    detail = r.json()["data"]["detail"]
    assert detail.startswith("AOI must be between 3 and 25,000 hectares. Given area: 29969.")
    assert detail.endswith(" hectares.")
    tiny = {"x_min": 0.0, "y_min": 0.0, "x_max": 0.001, "y_max": 0.001}
    r = _job(service, token, bbox=tiny, cloud_cover=70, dates=["2020-02-19"])
    assert r.status_code == 400 and "Given area: 1.2" in r.json()["data"]["detail"]


def _bbox(geom: Any) -> dict[str, float]:
    return dict(zip(("x_min", "y_min", "x_max", "y_max"), geom.bounds, strict=True))
