"""Fault injection with real processes: killed workers, restarted API and scheduler, lost Redis."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.backends import answers, postgres_database
from tests.harness import Service, free_port

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

# ~21,900 ha over clear desert in 29RKH; at scale 8 each date is a few seconds of work.
BBOX = {"x_min": -11.75, "y_min": 24.60, "x_max": -11.61, "y_max": 24.74}
FEB = {"start_date": "2020-02-01T00:00:00", "end_date": "2020-03-01T00:00:00"}
CRASH_ENV = {
    # Scale 8 makes each date slow enough to be killed mid-way; only the bicubic baseline has it.
    "DEEPRES_DEFAULT_MODEL": "bicubic",
    "DEEPRES_TASK_LEASE_SECONDS": "3",
    "DEEPRES_OUTPUT_SCALE": "8",
    "DEEPRES_TILE_SIZE_PX": "64",
}


def _sql(svc: Service, query: str, **params: Any) -> list[Any]:
    url = svc.env.get("DEEPRES_DATABASE_URL") or f"sqlite:///{svc.home / 'deepres.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def _wait(predicate: Callable[[], bool], timeout: float, what: str, svc: Service) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}\n{svc.log_tail()}")


def _cluster(home: Path, catalog: Path, extra: dict[str, str] | None = None) -> Service:
    svc = Service(home, {"DEEPRES_CATALOG_URL": str(catalog), **CRASH_ENV, **(extra or {})})
    svc.cli("migrate")
    svc.start("api")
    svc.start("scheduler", wait=False)
    svc.start("worker", wait=False)
    return svc


def _submit(svc: Service, token: str, **body: Any) -> str:
    return svc.submit(token, bbox=BBOX, **body)


def _finished(data: dict[str, Any]) -> bool:
    return len(data["dates"]) == 2 and "status" not in data


def test_worker_killed_mid_date_is_replaced_and_every_date_ends_processed_once(
    tmp_path: Path, two_date_catalog: Path
) -> None:
    svc = _cluster(tmp_path, two_date_catalog)
    try:
        token = svc.create_client("crash")
        survived = 0
        for trial in range(2):
            job_id = _submit(svc, token, **FEB)
            _wait(
                lambda: bool(_sql(svc, "SELECT id FROM job_dates WHERE state = 'PROCESSING'")),
                120,
                "a date in PROCESSING",
                svc,
            )
            svc.kill("worker")  # SIGKILL mid-date: its task and its lease are abandoned
            svc.start("worker", wait=False)
            data = svc.wait_status(job_id, token, _finished, timeout=180)
            assert [d["status"] for d in data["dates"]] == ["PROCESSED", "PROCESSED"], trial
            files = sorted(p.name for p in (svc.home / "results" / job_id).rglob("*.tif"))
            assert files == ["2020-02-19_MS.tif", "2020-02-24_MS.tif"]
            survived += 1
        retried = _sql(svc, "SELECT count(*) FROM job_dates WHERE attempts > 1")[0][0]
        assert survived == 2 and retried >= 1  # the killed dates really were taken up again
    finally:
        svc.stop()


def test_api_and_scheduler_restarted_mid_job_keep_the_watch_schedule(
    tmp_path: Path, two_date_catalog: Path
) -> None:
    svc = _cluster(tmp_path, two_date_catalog)
    try:
        token = svc.create_client("watcher")
        future = (dt.date.today() + dt.timedelta(days=20)).isoformat()
        job_id = _submit(svc, token, start_date="2020-02-01", end_date=future, interval=2)
        svc.wait_status(job_id, token, lambda d: d.get("status") == "ACTIVE" and d["dates"])
        ((planned,),) = _sql(svc, "SELECT next_search_at FROM jobs WHERE id = :i", i=job_id)
        svc.kill("api")
        svc.kill("scheduler")
        svc.start("api")
        svc.start("scheduler", wait=False)
        data = svc.wait_status(
            job_id, token, lambda d: all(x["status"] == "PROCESSED" for x in d["dates"])
        )
        assert data["status"] == "ACTIVE" and len(data["dates"]) == 2
        ((kept,),) = _sql(svc, "SELECT next_search_at FROM jobs WHERE id = :i", i=job_id)
        assert kept == planned  # the schedule survived the restart
        # Time passes: the search falls due and the new scheduler runs it.
        _sql(svc, "UPDATE jobs SET next_search_at = '2000-01-01 00:00:00' WHERE id = :i", i=job_id)
        _wait(
            lambda: (
                str(_sql(svc, "SELECT next_search_at FROM jobs WHERE id = :i", i=job_id)[0][0])
                > str(planned)
            ),
            60,
            "the next watch search",
            svc,
        )
        assert svc.wait_status(job_id, token, lambda d: True)["status"] == "ACTIVE"
    finally:
        svc.stop()


@pytest.fixture
def own_redis() -> Iterator[tuple[int, Callable[[], subprocess.Popen[bytes]]]]:
    """A Redis of this test's own, so stopping it disturbs nobody else."""
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc

    procs = [start()]
    yield port, lambda: procs.append(start()) or procs[-1]
    for proc in procs:
        proc.kill()


@pytest.mark.services
def test_redis_stopped_and_started_mid_job_loses_no_work(
    tmp_path: Path, two_date_catalog: Path, own_redis: tuple[int, Callable[[], Any]]
) -> None:
    if not answers(5432):
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    port, restart = own_redis
    with postgres_database() as db:
        svc = _cluster(
            tmp_path,
            two_date_catalog,
            {"DEEPRES_DATABASE_URL": db, "DEEPRES_BROKER_URL": f"redis://127.0.0.1:{port}/0"},
        )
        try:
            token = svc.create_client("redis")
            jobs = [_submit(svc, token, **FEB) for _ in range(3)]
            _wait(
                lambda: bool(_sql(svc, "SELECT id FROM job_dates WHERE state = 'PROCESSING'")),
                120,
                "work in progress",
                svc,
            )
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)
            time.sleep(2)  # queued messages are gone with it (no persistence)
            restart()
            for job_id in jobs:
                data = svc.wait_status(job_id, token, _finished, timeout=240)
                assert [d["status"] for d in data["dates"]] == ["PROCESSED", "PROCESSED"]
        finally:
            svc.stop()
