"""Shared fixtures: where the real Sentinel-2 samples live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path) -> Iterator[Service]:
    """`deepres serve` (API, worker, scheduler) on the embedded default, on loopback."""
    svc = Service(tmp_path_factory.mktemp("home"), {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    svc.start("serve")
    yield svc
    svc.stop()
