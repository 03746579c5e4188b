"""Shared fixtures: where the real Sentinel-2 samples live."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import answers, scaleout_env
from tests.harness import Receiver, Service

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPRES_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout; tests that need it skip loudly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real Sentinel-2 samples not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def scenes_catalog(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A static STAC item collection over the real scenes in `../shared/data/scenes`."""
    from deepres.catalog.index import write_index

    out = tmp_path_factory.mktemp("catalog") / "catalog.json"
    write_index([shared_data / "scenes"], out)
    return out


@pytest.fixture(scope="module")
def two_date_catalog(scenes_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real catalog plus a second acquisition of 29RKH five days later (same pixels)."""
    collection = json.loads(scenes_catalog.read_text())
    (rkh,) = [f for f in collection["features"] if f["id"] == "S2A_29RKH_20200219_0_L2A"]
    later = json.loads(json.dumps(rkh))
    later["id"] = "S2A_29RKH_20200224_0_L2A"
    later["properties"]["datetime"] = "2020-02-24T11:34:25Z"
    collection["features"].append(later)
    out = tmp_path_factory.mktemp("cat2") / "catalog.json"
    out.write_text(json.dumps(collection))
    return out


@pytest.fixture(scope="module")
def receiver(backend_env: dict[str, str]) -> Iterator[Receiver]:
    """A webhook receiver of each configuration's own (so runs never see each other's hooks)."""
    r = Receiver()
    yield r
    r.close()


CONFIGURATIONS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("scaleout", id="scaleout", marks=pytest.mark.services),
]


@pytest.fixture(scope="module")
def backend_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings for one configuration: the embedded default, or PostgreSQL + Redis + S3."""
    if request.param == "embedded":
        yield {}
        return
    if not (answers(5432) and answers(6379)):
        pytest.skip("PostgreSQL or Redis does not answer on 127.0.0.1 (make services)")
    with scaleout_env() as env:
        yield env


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path, backend_env: dict[str, str]
) -> Iterator[Service]:
    """`deepres serve` (API, worker, scheduler) on loopback, in each configuration."""
    svc = Service(
        tmp_path_factory.mktemp("home"),
        {"DEEPRES_CATALOG_URL": str(scenes_catalog), **backend_env},
    )
    svc.start("serve")
    yield svc
    svc.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_env" in metafunc.fixturenames:
        metafunc.parametrize("backend_env", CONFIGURATIONS, indirect=True, scope="module")
