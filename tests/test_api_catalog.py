"""`GET /deep-resolution/catalog`: the catalog's extent and latest scenes, for a first look.

A static catalog (the real sample scenes) is read whole; a STAC API (a loopback server answering
real recorded Earth Search items) is asked for its collection and a newest-first search; an
unreachable catalog is a 503 in the error envelope.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.auth import permissions as perm
from tests.harness import free_port
from tests.inprocess import migrated_runtime, new_client

V1_ITEMS = (
    "earthsearch_v1_item_S2A_13TDE_20231008_0_L2A.json",
    "earthsearch_v1_item_S2B_21MZV_20231110_0_L2A.json",
)


def _api(home: Path, catalog_url: str) -> tuple[TestClient, dict[str, str]]:
    """The app over a fresh database with `catalog_url`, and a client's auth headers."""
    runtime = migrated_runtime(home, catalog_url=catalog_url)
    _, token = new_client(runtime, "catalog")
    return TestClient(create_app(runtime.settings, runtime)), {"client_token": token}


@pytest.mark.realdata
def test_a_static_catalog_answers_its_extent_and_newest_scenes(
    tmp_path: Path, scenes_catalog: Path
) -> None:
    http, auth = _api(tmp_path, str(scenes_catalog))
    r = http.get("/deep-resolution/catalog", headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, max-age=60"
    body = r.json()
    features = json.loads(scenes_catalog.read_text())["features"]
    boxes = [f["bbox"] for f in features]
    assert body["kind"] == "static" and body["scene_count"] == len(features) == 3
    assert body["extent"]["bbox"] == pytest.approx(
        [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
    )
    assert body["extent"]["start"] == "2017-02-16T10:21:01Z"
    assert body["extent"]["end"] == "2020-02-19T11:34:25.405000Z"
    recent = body["recent"]
    assert [s["date"] for s in recent] == ["2020-02-19", "2017-06-17", "2017-02-16"]
    assert [s["mgrs"] for s in recent] == ["29RKH", "29UPT", "33UUU"]
    rkh = recent[0]
    assert rkh["id"] == "S2A_29RKH_20200219_0_L2A"
    assert rkh["cloud_cover"] == pytest.approx(4.051854)
    assert rkh["geometry"]["type"] == "Polygon"
    west, south, east, north = rkh["bbox"]
    assert west < -11.765 < -11.752 < east and south < 24.734 < 24.747 < north  # the test AOI
    assert recent[1]["cloud_cover"] is None  # the patch's item says nothing about cloud

    one = http.get("/deep-resolution/catalog", params={"limit": 1}, headers=auth).json()
    assert [s["id"] for s in one["recent"]] == [rkh["id"]] and one["scene_count"] == 3


def test_the_catalog_needs_a_client_allowed_to_search(tmp_path: Path) -> None:
    runtime = migrated_runtime(tmp_path, catalog_url=str(tmp_path / "none.json"))
    _, reader = new_client(runtime, "reader", permissions=[perm.JOBS_READ])
    http = TestClient(create_app(runtime.settings, runtime))
    anonymous = http.get("/deep-resolution/catalog")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "UNAUTHORIZED"
    wrong = http.get("/deep-resolution/catalog", headers={"client_token": "nope"})
    assert wrong.status_code == 401
    refused = http.get("/deep-resolution/catalog", headers={"client_token": reader})
    assert refused.status_code == 403 and perm.AVAILABLE_DATES in refused.text


@pytest.mark.parametrize("limit", ["0", "51", "many"])
def test_a_bad_limit_is_a_400_in_the_envelope(tmp_path: Path, limit: str) -> None:
    http, auth = _api(tmp_path, str(tmp_path / "none.json"))
    r = http.get("/deep-resolution/catalog", params={"limit": limit}, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "INVALID-INPUT"
    assert "limit" in r.json()["data"]["message"]


@pytest.mark.parametrize("where", ["api", "file"])
def test_an_unreachable_catalog_is_a_503_that_says_which(tmp_path: Path, where: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1" if where == "api" else str(tmp_path / "gone.json")
    http, auth = _api(tmp_path, url)
    r = http.get("/deep-resolution/catalog", headers=auth)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["statusCode"] == 503 and body["error"] == "CATALOG-UNAVAILABLE"
    assert url in body["data"]["message"] and "DEEPRES_CATALOG_URL" in body["data"]["message"]


class FakeStacApi:
    """A STAC API on loopback: a landing page, one collection, and /search over real items."""

    def __init__(self, items: list[dict[str, Any]], *, sort: bool = True) -> None:
        self.searches: list[dict[str, Any]] = []
        api = self
        conforms = [
            "https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/collections",
            "https://api.stacspec.org/v1.0.0/item-search",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        ] + (["https://api.stacspec.org/v1.0.0/item-search#sort"] if sort else [])

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                root = api.url
                if self.path.rstrip("/") in ("", "/v1"):
                    self.answer(
                        {
                            "type": "Catalog",
                            "id": "fake",
                            "stac_version": "1.0.0",
                            "description": "loopback STAC API",
                            "conformsTo": conforms,
                            "links": [
                                {"rel": "self", "href": root},
                                {"rel": "root", "href": root},
                                {"rel": "data", "href": f"{root}/collections"},
                                {"rel": "search", "href": f"{root}/search", "method": "POST"},
                            ],
                        }
                    )
                elif self.path == "/v1/collections/sentinel-2-l2a":
                    self.answer(
                        {
                            "type": "Collection",
                            "id": "sentinel-2-l2a",
                            "stac_version": "1.0.0",
                            "description": "Sentinel-2 L2A",
                            "license": "proprietary",
                            "extent": {
                                "spatial": {"bbox": [[-180, -90, 180, 90]]},
                                "temporal": {"interval": [["2015-06-27T10:25:31.456000Z", None]]},
                            },
                            "links": [],
                        }
                    )
                else:
                    self.answer({"code": "NotFound"}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                api.searches.append(body)
                self.answer({"type": "FeatureCollection", "features": items, "links": []})

            def answer(self, data: dict[str, Any], status: int = 200) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def recorded_items(shared_data: Path) -> list[dict[str, Any]]:
    """Two real Earth Search v1 items, oldest first (the API's order is not trusted)."""
    return [json.loads((shared_data / "stac" / name).read_text()) for name in V1_ITEMS]


@pytest.fixture
def stac_api(recorded_items: list[dict[str, Any]]) -> Iterator[FakeStacApi]:
    api = FakeStacApi(recorded_items)
    yield api
    api.close()


@pytest.mark.realdata
def test_a_stac_api_answers_its_collection_extent_and_a_small_newest_first_search(
    tmp_path: Path, stac_api: FakeStacApi
) -> None:
    http, auth = _api(tmp_path, stac_api.url)
    r = http.get("/deep-resolution/catalog", params={"limit": 5}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "stac-api" and body["collection"] == "sentinel-2-l2a"
    assert body["scene_count"] is None
    assert body["extent"] == {
        "bbox": [-180.0, -90.0, 180.0, 90.0],
        "start": "2015-06-27T10:25:31.456000Z",
        "end": None,
    }
    assert [(s["mgrs"], s["date"]) for s in body["recent"]] == [
        ("21MZV", "2023-11-10"),
        ("13TDE", "2023-10-08"),
    ]
    assert body["recent"][0]["cloud_cover"] == pytest.approx(29.25, abs=0.01)
    (search,) = stac_api.searches
    assert search["collections"] == ["sentinel-2-l2a"] and search["limit"] == 5
    assert search["sortby"] == [{"field": "properties.datetime", "direction": "desc"}]


@pytest.mark.realdata
def test_a_stac_api_without_sorting_is_not_asked_to_sort(
    tmp_path: Path, recorded_items: list[dict[str, Any]]
) -> None:
    api = FakeStacApi(recorded_items, sort=False)
    try:
        http, auth = _api(tmp_path, api.url)
        r = http.get("/deep-resolution/catalog", headers=auth)
    finally:
        api.close()
    assert r.status_code == 200, r.text
    assert [s["date"] for s in r.json()["recent"]] == ["2023-11-10", "2023-10-08"]
    (search,) = api.searches
    assert "sortby" not in search


def test_a_stac_api_without_the_collection_is_a_503(tmp_path: Path) -> None:
    api = FakeStacApi([])
    try:
        runtime = migrated_runtime(tmp_path, catalog_url=api.url, catalog_collection="nope")
        _, token = new_client(runtime)
        http = TestClient(create_app(runtime.settings, runtime))
        r = http.get("/deep-resolution/catalog", headers={"client_token": token})
    finally:
        api.close()
    assert r.status_code == 503 and r.json()["error"] == "CATALOG-UNAVAILABLE"
    assert "no collection 'nope'" in r.json()["data"]["message"]
