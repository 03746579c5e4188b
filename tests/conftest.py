"""Shared fixtures: where the real Sentinel-2 samples live."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends import answers, scaleout_env
from tests.harness import Receiver, Service, deepres_processes
from tests.scenes import SyntheticScene, write_scene

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPRES_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout; tests that need it skip loudly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real Sentinel-2 samples not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def synthetic_scene(tmp_path: Path) -> Callable[..., SyntheticScene]:
    """A factory of small synthetic scene folders (see `tests.scenes.write_scene`)."""
    made = 0

    def make(**options: Any) -> SyntheticScene:
        nonlocal made
        made += 1
        return write_scene(tmp_path / f"scene{made}", **options)

    return make


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


_BEFORE: dict[int, str] = {}
_LINGER_S = 30.0


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(deepres_processes())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a `deepres` process it started outlives it (then stop that process).

    Runs once, in the controlling process (xdist workers have `workerinput`), after every test.
    """
    if hasattr(session.config, "workerinput"):
        return
    deadline = time.monotonic() + _LINGER_S
    left = {p: c for p, c in deepres_processes().items() if p not in _BEFORE}
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = {p: c for p, c in deepres_processes().items() if p not in _BEFORE}
    if not left:
        return
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    listing = "\n".join(f"  {pid}: {cmd}" for pid, cmd in sorted(left.items()))
    print(f"\nThese deepres processes outlived the test run (now killed):\n{listing}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
