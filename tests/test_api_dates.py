"""`available_dates` end to end: real server, real worker, real callback receiver."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from shapely.geometry import box, mapping

from deepres.aoi import geodesic_hectares
from tests.harness import Receiver, Service, is_valid_signature

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19
CLOUDY = box(-10.981, 25.181, -10.969, 25.191)  # fully cloudy there, though the tile is ~4 %
FEB_2020 = {"start_date": "2020-02-01T00:00:00", "end_date": "2020-03-01T00:00:00"}


def _post(svc: Service, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return httpx.post(f"{svc.url}{path}", json=body, timeout=30, **kw)


def test_callback_carries_area_and_clear_dates_signed_as_the_spec_verifies(
    service: Service, receiver: Receiver
) -> None:
    token = service.create_client("dates")
    aoi = {"type": "Feature", "properties": {}, "geometry": mapping(CLEAR)}
    body = {
        "client_token": token,
        "aoi": json.loads(json.dumps(aoi)),
        "cloud_cover": 20,
        "callback_url": receiver.url("/clear"),
        **FEB_2020,
    }
    r = _post(service, "/deep-resolution/available_dates", body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["statusCode"] == 200
    assert answer["data"]["message"] == (
        f"Fetching available dates, callback url will be called to {receiver.url('/clear')} "
        "when done"
    )
    assert answer["data"]["version"] == "v1.0"
    assert r.headers["deepres-api-version"] == "v1.0" and r.headers["deepres-request-id"]

    (hook,) = receiver.wait_for(1, "/clear")
    payload = hook.json
    assert is_valid_signature(hook.headers["X-Digifarm-Signature"], payload, token)
    assert not is_valid_signature(hook.headers["X-Digifarm-Signature"], payload, token + "x")
    assert payload["statusCode"] == 200 and payload["status"] == "SUCCESS"
    assert payload["data"]["area_hectares"] == pytest.approx(geodesic_hectares(CLEAR), rel=1e-9)
    assert payload["data"]["available_dates"] == [
        {
            "cloud_cover": 0.0,
            "data_source": "S2A_29RKH_20200219_0_L2A",
            "date": "2020-02-19T00:00:00.000Z",
            "mgrs": "29RKH",
        }
    ]
    assert hook.headers["webhook-id"].startswith("msg_")


def test_scene_clear_overall_but_cloudy_over_the_aoi_is_excluded(
    service: Service, receiver: Receiver
) -> None:
    token = service.create_client("cloudy")
    body = {
        "client_token": token,
        "bbox": dict(zip(("x_min", "y_min", "x_max", "y_max"), CLOUDY.bounds, strict=True)),
        "cloud_cover": 20,
        "callback_url": receiver.url("/cloudy"),
        **FEB_2020,
    }
    assert _post(service, "/deep-resolution/available_dates", body).status_code == 200
    (hook,) = receiver.wait_for(1, "/cloudy")
    assert hook.json["data"]["available_dates"] == []
    # ... and the answer says which scene was left out, and why.
    (skipped,) = hook.json["data"]["skipped"]
    assert skipped["date"] == "2020-02-19T00:00:00.000Z" and skipped["mgrs"] == "29RKH"
    assert "cloud over the AOI is 100.0%, above the requested 20%" in skipped["reason"]
    # The same AOI with a lax limit lists the date with its real (full) cloud cover.
    body["cloud_cover"], body["callback_url"] = 100, receiver.url("/cloudy-lax")
    assert _post(service, "/deep-resolution/available_dates", body).status_code == 200
    (hook,) = receiver.wait_for(1, "/cloudy-lax")
    (entry,) = hook.json["data"]["available_dates"]
    assert entry["cloud_cover"] == 100.0


def test_pipeline_initiate_check_status_retrieve(service: Service) -> None:
    token = service.create_client("poller")
    headers = {"Authorization": "Bearer " + _jwt(service, token)}
    body = {"bbox": _bbox(CLEAR), "cloud_cover": 20, **FEB_2020}
    r = _post(service, "/deep-resolution/available_dates/initiate", body, headers=headers)
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["status"] == "NEW" and started["nextTry"] > 0
    pid = started["pipelineId"]
    status = _wait_resolved(service, pid, headers)
    assert status == {"pipelineId": pid, "status": "RESOLVED"}
    r = _post(
        service, "/deep-resolution/available_dates/retrieve", {"pipelineId": pid}, headers=headers
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["date"] for d in data["available_dates"]] == ["2020-02-19T00:00:00.000Z"]
    assert data["area_hectares"] == pytest.approx(geodesic_hectares(CLEAR), rel=1e-9)
    # Another client can neither see nor retrieve it.
    other = {"client_token": service.create_client("other")}
    r = _post(service, "/tasking/check-status", {"pipelineId": pid, **other})
    assert r.status_code == 404 and r.json()["statusCode"] == 404
    r = _post(service, "/deep-resolution/available_dates/retrieve", {"pipelineId": pid, **other})
    assert r.status_code == 404


def _bbox(geom: Any) -> dict[str, float]:
    return dict(zip(("x_min", "y_min", "x_max", "y_max"), geom.bounds, strict=True))


def _jwt(svc: Service, token: str) -> str:
    r = _post(svc, "/auth/token", {"client_token": token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 36000
    assert body["id_token"] == body["access_token"]
    return str(body["access_token"])


def _wait_resolved(svc: Service, pid: str, headers: dict[str, str]) -> dict[str, Any]:
    import time

    for _ in range(200):
        r = _post(svc, "/tasking/check-status", {"pipelineId": pid}, headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("NEW", "PROCESSING"):
            return dict(r.json())
        time.sleep(0.2)
    raise AssertionError("pipeline never resolved")


def test_bad_tokens_get_401_in_the_envelope(service: Service) -> None:
    body = {"bbox": _bbox(CLEAR), "cloud_cover": 20, "callback_url": "http://127.0.0.1:9/x"}
    for extra, headers in [
        ({"client_token": "dr_not-a-real-token"}, {}),
        ({}, {}),
        ({}, {"Authorization": "Bearer not.a.jwt"}),
    ]:
        r = _post(service, "/deep-resolution/available_dates", {**body, **extra}, headers=headers)
        assert r.status_code == 401
        assert r.json()["data"]["message"] == "Unauthorized. Invalid client token." or (
            "bearer" in r.json()["data"]["message"].lower()
        )
        assert r.json()["statusCode"] == 401 and r.json()["error"] == "UNAUTHORIZED"
    r = httpx.get(f"{service.url}/deep-resolution/status/abc", headers={"client_token": "nope"})
    assert r.status_code == 401


def test_a_client_without_the_permission_gets_403(service: Service) -> None:
    token = service.create_client("tasking-only", permissions="tasking")
    body = {
        "client_token": token,
        "bbox": _bbox(CLEAR),
        "cloud_cover": 20,
        "callback_url": "http://127.0.0.1:9/x",
    }
    r = _post(service, "/deep-resolution/available_dates", body)
    assert r.status_code == 403
    assert "deep-resolution.available-dates" in r.json()["data"]["message"]


@pytest.mark.parametrize(
    ("aoi", "words"),
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, 0.01], [0.01, 0.01], [0.01, 0]]]},
            "closed",
        ),
        ({"type": "Point", "coordinates": [0, 0]}, "point"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[179.9, 0], [-179.9, 0], [-179.9, 0.1], [179.9, 0]]],
            },
            "antimeridian",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 95], [0, 96], [1, 96], [0, 95]]]}, "latitude"),
        ({"type": "FeatureCollection", "features": []}, "feature"),
    ],
)
def test_bad_geometry_gets_a_clear_400(service: Service, aoi: dict[str, Any], words: str) -> None:
    token = service.create_client("geo")
    body = {
        "client_token": token,
        "aoi": aoi,
        "cloud_cover": 20,
        "callback_url": "http://127.0.0.1:9/x",
    }
    r = _post(service, "/deep-resolution/available_dates", body)
    assert r.status_code == 400, r.text
    message = r.json()["data"]["message"]
    assert words in message.lower(), message
    assert r.json()["error"] in ("INVALID-AOI", "INVALID-INPUT")


def test_malformed_requests_get_400_and_unknown_routes_404_in_the_envelope(
    service: Service,
) -> None:
    token = service.create_client("malformed")
    r = httpx.post(
        f"{service.url}/deep-resolution/available_dates",
        content=b"{not json",
        headers={"content-type": "application/json", "client_token": token},
    )
    assert r.status_code == 400 and r.json()["statusCode"] == 400
    r = _post(
        service, "/deep-resolution/available_dates", {"client_token": token, "bbox": _bbox(CLEAR)}
    )
    assert r.status_code == 400 and "cloud_cover" in r.json()["data"]["message"]
    r = httpx.get(f"{service.url}/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "NOT-FOUND"
    r = httpx.delete(f"{service.url}/deep-resolution/available_dates")
    assert r.status_code == 405 and r.json()["statusCode"] == 405
    assert r.headers["deepres-request-id"]


def test_openapi_lists_every_endpoint(service: Service) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    for path in (
        "/deep-resolution/available_dates",
        "/deep-resolution/available_dates/initiate",
        "/deep-resolution/available_dates/retrieve",
        "/tasking/check-status",
        "/deep-resolution",
        "/deep-resolution/status/{job_id}",
        "/deep-resolution/cancel/{job_id}",
        "/deep-resolution/jobs",
        "/auth/token",
    ):
        assert path in spec["paths"], path
