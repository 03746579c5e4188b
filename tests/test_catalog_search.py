"""`open_catalog(...).search` over static STAC files, and a STAC API that cannot be reached."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pystac
import pytest
from shapely.geometry import Point, box

from deepres.catalog.index import write_index
from deepres.catalog.search import open_catalog
from deepres.errors import CatalogUnavailable

pytestmark = pytest.mark.realdata

RKH = "scenes/S2A_29RKH_20200219_L2A"
BIGEARTHNET = "scenes/bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
SEARCH_RESPONSE = "stac/earthsearch_v1_search_response.json"
COLORADO = Point(-105.1019, 40.1672)  # the point of the recorded Earth Search request
SAHARA_AOI = box(-11.70, 24.80, -11.68, 24.82)  # inside tile 29RKH
IRELAND_AOI = box(-6.895, 52.305, -6.890, 52.310)  # inside the BigEarthNet patch


@pytest.fixture(scope="module")
def local_index(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("index") / "catalog.json"
    write_index([shared_data / RKH, shared_data / BIGEARTHNET], out)
    return out


def test_indexed_scenes_are_found_by_aoi(local_index: Path, shared_data: Path) -> None:
    catalog = open_catalog(str(local_index))

    (sahara,) = catalog.search(SAHARA_AOI, None, None)
    assert sahara.id == "S2A_29RKH_20200219_0_L2A"
    assert sahara.assets["SCL"] == str((shared_data / RKH / "SCL.tif").resolve())
    (ireland,) = catalog.search(IRELAND_AOI, dt.date(2017, 6, 1), dt.date(2017, 6, 30))
    assert ireland.id == "bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
    assert catalog.search(box(10, 10, 11, 11), None, None) == []


def test_file_url_and_date_bounds(local_index: Path) -> None:
    catalog = open_catalog(local_index.as_uri())

    # A date-only end stands for the whole day; the scene was taken at 11:34 UTC.
    assert len(catalog.search(SAHARA_AOI, dt.date(2020, 2, 19), dt.date(2020, 2, 19))) == 1
    assert catalog.search(SAHARA_AOI, None, dt.datetime(2020, 2, 19, 11, 0)) == []
    assert catalog.search(SAHARA_AOI, dt.datetime(2020, 2, 19, 12, 0, tzinfo=dt.UTC), None) == []
    both = catalog.search(box(-12, 24, -6, 53), dt.date(2017, 1, 1), dt.date(2020, 12, 31))
    assert [scene.date for scene in both] == [dt.date(2017, 6, 17), dt.date(2020, 2, 19)]


def test_search_response_file_keeps_only_the_sentinel2_collection(shared_data: Path) -> None:
    catalog = open_catalog(str(shared_data / SEARCH_RESPONSE))

    (scene,) = catalog.search(COLORADO, dt.date(2023, 10, 8), dt.date(2023, 10, 8))
    assert scene.id == "S2A_13TDE_20231008_0_L2A"  # the landsat-c2-l2 feature is left out
    assert catalog.search(COLORADO, dt.date(2023, 10, 9), None) == []


def test_single_item_file(shared_data: Path) -> None:
    catalog = open_catalog(
        str(shared_data / "stac/earthsearch_v0_item_S2A_29RKH_20200219_0_L2A.json")
    )
    (scene,) = catalog.search(SAHARA_AOI, None, None)
    assert scene.mgrs == "29RKH"


def _item(shared_data: Path, item_id: str, when: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (shared_data / RKH / "S2A_29RKH_20200219_0_L2A.json").read_text()
    )
    item = copy.deepcopy(data)
    item["id"] = item_id
    item["properties"]["datetime"] = when
    item["links"] = []
    for asset in item["assets"].values():
        asset["href"] = f"./{item_id}/{Path(asset['href']).name}"
    return item


def test_static_catalog_is_walked_and_sorted_by_datetime(shared_data: Path, tmp_path: Path) -> None:
    root = pystac.Catalog(id="local", description="two scenes")
    for item_id, when in [("later", "2020-03-01T10:00:00Z"), ("earlier", "2020-02-01T10:00:00Z")]:
        root.add_item(pystac.Item.from_dict(_item(shared_data, item_id, when)))
    root.normalize_hrefs(str(tmp_path / "cat"))
    root.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)

    scenes = open_catalog(str(tmp_path / "cat" / "catalog.json")).search(SAHARA_AOI, None, None)

    assert [scene.id for scene in scenes] == ["earlier", "later"]
    # Relative asset hrefs resolve against each item's own file.
    assert scenes[0].assets["SCL"] == str(tmp_path / "cat" / "earlier" / "earlier" / "SCL.tif")


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]", '{"type": "Catalog"}'])
def test_missing_or_broken_static_catalog(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "catalog.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CatalogUnavailable, match="deepres catalog index") as raised:
        open_catalog(str(path))
    assert str(path) in raised.value.message


def test_unreachable_stac_api_says_so_plainly() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    catalog = open_catalog("http://127.0.0.1:9/")
    with pytest.raises(CatalogUnavailable) as raised:
        catalog.search(SAHARA_AOI, dt.date(2020, 2, 1), dt.date(2020, 2, 28))
    assert "http://127.0.0.1:9/" in raised.value.message
    assert "deepres catalog index" in raised.value.message


class _StacApi(BaseHTTPRequestHandler):
    """A two-route STAC API on loopback: the landing page, and `/search` answering `body`."""

    url: ClassVar[str] = ""
    status: ClassVar[int] = 200
    body: ClassVar[dict[str, Any]] = {}
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        base = self.url
        self._send(
            {
                "type": "Catalog",
                "id": "loopback",
                "description": "test STAC API",
                "stac_version": "1.0.0",
                "conformsTo": [
                    "https://api.stacspec.org/v1.0.0/core",
                    "https://api.stacspec.org/v1.0.0/item-search",
                ],
                "links": [
                    {"rel": "self", "href": base},
                    {"rel": "root", "href": base},
                    {
                        "rel": "search",
                        "href": f"{base}search",
                        "method": "POST",
                        "type": "application/geo+json",
                    },
                ],
            }
        )

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        sent = json.loads(self.rfile.read(length))
        type(self).requests.append(sent)
        features = [f for f in self.body["features"] if f["collection"] in sent["collections"]]
        self._send({**self.body, "features": features}, self.status)

    def _send(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stac_api(shared_data: Path) -> Iterator[type[_StacApi]]:
    response = json.loads((shared_data / SEARCH_RESPONSE).read_text())
    response["links"] = []  # one page: drop the recorded `next` token

    class Api(_StacApi):
        body = response
        requests: ClassVar[list[dict[str, Any]]] = []

    handler = Api
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.url = f"http://127.0.0.1:{server.server_port}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield handler
    server.shutdown()
    server.server_close()


def test_stac_api_search_sends_collection_aoi_and_time(stac_api: type[_StacApi]) -> None:
    catalog = open_catalog(stac_api.url)

    (scene,) = catalog.search(COLORADO, dt.date(2023, 10, 8), dt.date(2023, 10, 8))

    assert scene.id == "S2A_13TDE_20231008_0_L2A" and scene.mgrs == "13TDE"
    (sent,) = stac_api.requests
    assert sent["collections"] == ["sentinel-2-l2a"]
    assert sent["intersects"] == {"type": "Point", "coordinates": [-105.1019, 40.1672]}
    assert sent["datetime"] == "2023-10-08T00:00:00Z/2023-10-08T23:59:59.999999Z"


def test_stac_api_error_status_is_catalog_unavailable(stac_api: type[_StacApi]) -> None:
    stac_api.status = 503
    with pytest.raises(CatalogUnavailable, match=r"HTTP 503"):
        open_catalog(stac_api.url).search(COLORADO, None, None)
