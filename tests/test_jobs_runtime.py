"""The job machinery in-process: idempotent tasks, lease recovery, the scheduler lock, cancel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box
from sqlalchemy import func, select

from deepres.auth.clients import Principal, create_client, principal_for_token
from deepres.bands import OUTPUT_BANDS
from deepres.catalog.index import write_index
from deepres.jobs import planning, processing, scheduler, service
from deepres.jobs.dispatch import TASK_DELIVER, TASK_PLAN_JOB, TASK_PROCESS_DATE
from deepres.jobs.models import DateState, Delivery, Job, JobDate, JobState
from deepres.jobs.runtime import Runtime
from tests.inprocess import migrated_runtime, recorder

pytestmark = pytest.mark.realdata

CLEAR = box(-11.765, 24.734, -11.752, 24.747)


@pytest.fixture
def rt(tmp_path: Path, scenes_catalog: Path) -> Runtime:
    return migrated_runtime(
        tmp_path, catalog_url=str(scenes_catalog), webhook_allow_private=True, task_lease_seconds=60
    )


def _principal(rt: Runtime) -> Principal:
    with rt.db.session() as s:
        _, token = create_client(s, rt.keys, "tester")
    with rt.db.engine.connect() as conn:
        principal = principal_for_token(conn, rt.keys, token)
    assert principal is not None
    return principal


def _wire(model: Any) -> dict[str, Any]:
    """An answer as the client receives it (JSON, None-valued keys left out)."""
    return dict(model.model_dump(mode="json"))


def _job(rt: Runtime, principal: Principal, **body: object) -> str:
    payload = {"bbox": dict(zip(("x_min", "y_min", "x_max", "y_max"), CLEAR.bounds, strict=True))}
    payload |= {"cloud_cover": 20, "callback_url": "http://127.0.0.1:9/hook", **body}
    job_id, _ = service.create(rt, principal, payload)
    return job_id


def test_a_date_processed_twice_gives_one_file_and_one_announcement(rt: Runtime) -> None:
    job_id = _job(rt, _principal(rt), dates=["2020-02-19"])
    rec = recorder(rt)
    (planned,) = rec.take(TASK_PLAN_JOB)
    planning.plan(rt, str(planned))
    (date_id,) = rec.take(TASK_PROCESS_DATE)
    processing.process(rt, int(date_id))
    # The broker redelivers the same message (a worker died after finishing, say).
    with rt.db.session() as s:
        s.get(JobDate, date_id).state = DateState.PENDING  # type: ignore[union-attr]
    processing.process(rt, int(date_id))
    with rt.db.session() as s:
        row = s.get(JobDate, date_id)
        assert row is not None and row.state == DateState.PROCESSED
        deliveries = s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.job_id == job_id)
        )
    assert deliveries == 1
    assert len(rec.take(TASK_DELIVER)) == 1
    files = list((rt.settings.resolved_home / "results" / job_id).rglob("*.tif"))
    assert [f.name for f in files] == ["2020-02-19_MS.tif"]


def test_expired_leases_are_dispatched_again_and_live_ones_are_not(rt: Runtime) -> None:
    _job(rt, _principal(rt), dates=["2020-02-19"])
    rec = recorder(rt)
    planning.plan(rt, str(rec.take(TASK_PLAN_JOB)[0]))
    (date_id,) = rec.take(TASK_PROCESS_DATE)
    assert scheduler.tick(rt).dates == 0  # its lease is still running
    with rt.db.session() as s:
        row = s.get(JobDate, date_id)
        assert row is not None
        row.state = DateState.PROCESSING  # a worker took it, then was killed
        row.lease_until = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    assert scheduler.tick(rt).dates == 1
    assert rec.take(TASK_PROCESS_DATE) == [date_id]
    processing.process(rt, int(date_id))
    with rt.db.session() as s:
        assert s.get(JobDate, date_id).state == DateState.PROCESSED  # type: ignore[union-attr]


def test_only_one_scheduler_holds_the_lock(rt: Runtime) -> None:
    assert scheduler.acquire_lock(rt, "a", ttl_s=30)
    assert not scheduler.acquire_lock(rt, "b", ttl_s=30)
    assert scheduler.acquire_lock(rt, "a", ttl_s=30)  # renewal
    scheduler.release_lock(rt, "a")
    assert scheduler.acquire_lock(rt, "b", ttl_s=30)


def test_cancel_before_processing_produces_nothing(rt: Runtime) -> None:
    principal = _principal(rt)
    job_id = _job(rt, principal, dates=["2020-02-19"])
    rec = recorder(rt)
    planning.plan(rt, str(rec.take(TASK_PLAN_JOB)[0]))
    (date_id,) = rec.take(TASK_PROCESS_DATE)
    service.cancel(rt, principal, job_id)
    processing.process(rt, int(date_id))
    with rt.db.session() as s:
        row = s.get(JobDate, date_id)
        assert row is not None and row.state == DateState.FAILED and row.storage_key is None
    assert not (rt.settings.resolved_home / "results" / job_id).exists()
    assert rec.take(TASK_DELIVER) == []


def _zone28_twin(shared_data: Path, out: Path) -> Path:
    """The real 29RKH pixels re-placed west of 12 W in UTM zone 28: a synthetic neighbour tile."""
    src_dir = shared_data / "scenes/S2A_29RKH_20200219_L2A"
    scene = out / "S2A_28RZH_20200219_L2A"
    scene.mkdir()
    ulx, uly = Transformer.from_crs(4326, 32628, always_xy=True).transform(-12.5, 25.29)
    for band in (*OUTPUT_BANDS, "SCL"):
        with rasterio.open(src_dir / f"{band}.tif") as src:
            profile = src.profile | {
                "crs": "EPSG:32628",
                "transform": Affine(src.res[0], 0, ulx, 0, -src.res[1], uly),
            }
            with rasterio.open(scene / f"{band}.tif", "w", **profile) as dst:
                dst.write(src.read())
    return scene


def test_aoi_across_two_utm_zones_gives_one_file_per_tile_in_its_own_crs(
    tmp_path: Path, shared_data: Path
) -> None:
    twin = _zone28_twin(shared_data, tmp_path)
    catalog = tmp_path / "catalog.json"
    write_index([shared_data / "scenes/S2A_29RKH_20200219_L2A", twin], catalog)
    rt = migrated_runtime(
        tmp_path / "home",
        catalog_url=str(catalog),
        task_lease_seconds=60,
        webhook_allow_private=True,
    )
    # 12.03 W .. 11.90 W straddles the zone 28/29 boundary at 12 W.
    job_id = _job(
        rt,
        _principal(rt),
        dates=["2020-02-19"],
        bbox={"x_min": -12.03, "y_min": 24.70, "x_max": -11.90, "y_max": 24.75},
    )
    rec = recorder(rt)
    planning.plan(rt, str(rec.take(TASK_PLAN_JOB)[0]))
    for date_id in rec.take(TASK_PROCESS_DATE):
        processing.process(rt, int(date_id))
    with rt.db.session() as s:
        rows = s.scalars(select(JobDate).where(JobDate.job_id == job_id)).all()
        assert sorted((r.mgrs, r.state) for r in rows) == [
            ("28RZH", DateState.PROCESSED),
            ("29RKH", DateState.PROCESSED),
        ]
    results = rt.settings.resolved_home / "results" / job_id
    epsgs = {}
    for tile in ("28RZH", "29RKH"):
        with rasterio.open(results / tile / "2020-02-19_MS.tif") as ds:
            epsgs[tile] = ds.crs.to_epsg()
            assert (ds.read(3) > 0).any()
    assert epsgs == {"28RZH": 32628, "29RKH": 32629}


def test_status_and_list_agree_while_a_failed_search_still_has_dates_in_work(rt: Runtime) -> None:
    principal = _principal(rt)
    job_id = _job(rt, principal, dates=["2020-02-19"])
    planning.plan(rt, str(recorder(rt).take(TASK_PLAN_JOB)[0]))
    with rt.db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state = JobState.FAILED  # a later watch search gave up; the date is still pending
    assert _wire(service.status(rt, principal, job_id))["status"] == "ACTIVE"
    (listed,) = _wire(service.list_jobs(rt, principal, None, None))["results"]
    assert listed["status"] == "ACTIVE"
    with rt.db.session() as s:
        s.get(JobDate, recorder(rt).take(TASK_PROCESS_DATE)[0]).state = DateState.PROCESSED  # type: ignore[union-attr]
    assert "status" not in _wire(service.status(rt, principal, job_id))
    assert "status" not in _wire(service.list_jobs(rt, principal, None, None))["results"][0]


def test_a_cancel_while_the_search_ran_sticks(rt: Runtime) -> None:
    """The search's result is recorded after the client cancelled: the job stays CANCELLED.

    The job was read when the search ended; the cancel commits from another connection before
    the search's outcome is written (a worker and the API, in the same second).
    """
    principal = _principal(rt)
    job_id = _job(rt, principal, end_date=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    with rt.db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.state == JobState.NEW
        service.cancel(rt, principal, job_id)
        assert not planning._advance(s, job, None, watching=True)
    assert _wire(service.status(rt, principal, job_id))["status"] == "CANCELLED"
