"""Stopping cleanly: serve takes its children with it; a stopped worker hands its date back.

Real processes on loopback. `deepres serve` runs API, two workers and the scheduler; a worker
asked to stop (SIGTERM, what process managers send) must give its unfinished date back at once
and exit within 30 s, and the date must then be done once, by another worker.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from deepres.cli.service import WORKER_NICE
from tests.harness import Receiver, Service, deepres_processes, group_members
from tests.test_crash import BBOX, _sql, _wait

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

# The network at x4 in tiles of 16 px (each read with the model's whole context): one date
# of this AOI is many seconds of real work, in many steps.
SLOW_ENV = {"DEEPRES_TILE_SIZE_PX": "16", "DEEPRES_ONNX_THREADS": "1"}
STOP_WITHIN_S = 30


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopping_serve_leaves_no_process_behind(
    tmp_path: Path, scenes_catalog: Path, sig: signal.Signals
) -> None:
    svc = Service(tmp_path, {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    serve = svc.start("serve")
    try:
        _wait(lambda: len(group_members(serve.pid)) >= 4, 60, "API, 2 workers, scheduler", svc)
        family = group_members(serve.pid) - {serve.pid}
        os.kill(serve.pid, sig)  # the serve process alone, as `kill PID` or a manager does
        serve.wait(timeout=STOP_WITHIN_S)
        deadline = time.monotonic() + STOP_WITHIN_S
        while group_members(serve.pid) & family and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_members(serve.pid), svc.log_tail()
    finally:
        svc.stop()


def test_serve_starts_a_killed_worker_again_and_its_date_is_done_once(
    tmp_path: Path, scenes_catalog: Path
) -> None:
    """SIGKILL of serve's processing worker mid-date (the OOM killer, an operator's kill -9)."""
    receiver = Receiver()
    env = {"DEEPRES_CATALOG_URL": str(scenes_catalog), "DEEPRES_TASK_LEASE_SECONDS": "3"}
    svc = Service(tmp_path, {**env, **SLOW_ENV})
    serve = svc.start("serve")
    try:
        token = svc.create_client("revived")
        job_id = _job(svc, token, receiver.url("/files"))
        _wait(lambda: _date(svc, job_id)[:1] == ("PROCESSING",), 120, "PROCESSING", svc)

        def sr_workers() -> set[int]:
            mine = group_members(serve.pid)
            return {p for p, cmd in deepres_processes().items() if p in mine and ",sr" in cmd}

        (victim,) = sr_workers()
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: len(sr_workers() - {victim}) == 1, 30, "a new processing worker", svc)
        # Processing yields the CPU to the API, in the revived worker as in the first.
        (revived,) = sr_workers() - {victim}
        api_nice = os.getpriority(os.PRIO_PROCESS, serve.pid)
        assert os.getpriority(os.PRIO_PROCESS, revived) == api_nice + WORKER_NICE
        data = svc.wait_status(job_id, token, lambda d: "status" not in d, timeout=180)
        assert [d["status"] for d in data["dates"]] == ["PROCESSED"]
        (hook,) = receiver.wait_for(1, "/files")
        time.sleep(2)  # a second announcement would have come by now
        assert len(receiver.tried) == 1 and hook.json["job_id"] == job_id
        assert serve.poll() is None  # serve itself kept running throughout
    finally:
        svc.stop()
        receiver.close()


def _job(svc: Service, token: str, callback: str) -> str:
    return svc.submit(token, bbox=BBOX, callback_url=callback)  # a date of many tiles


def _date(svc: Service, job_id: str) -> tuple[Any, ...]:
    rows = _sql(svc, "SELECT state, attempts, worker FROM job_dates WHERE job_id = :j", j=job_id)
    return tuple(rows[0]) if rows else ()


def test_a_stopped_worker_hands_its_date_back_and_another_finishes_it_once(
    tmp_path: Path, scenes_catalog: Path
) -> None:
    receiver = Receiver()
    svc = Service(tmp_path, {"DEEPRES_CATALOG_URL": str(scenes_catalog), **SLOW_ENV})
    try:
        svc.cli("migrate")
        svc.start("api")
        svc.start("scheduler", wait=False)
        first = svc.start("worker", wait=False)
        token = svc.create_client("handback")
        job_id = _job(svc, token, receiver.url("/files"))
        _wait(lambda: _date(svc, job_id)[:1] == ("PROCESSING",), 120, "PROCESSING", svc)
        time.sleep(1.0)  # well inside the date
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=STOP_WITHIN_S)
        # Handed back at once, not after a lease: PENDING, no owner, the attempt not counted.
        state, attempts, worker = _date(svc, job_id)
        assert (state, attempts, worker) == ("PENDING", 0, None)
        svc.start("worker", wait=False)
        data = svc.wait_status(job_id, token, lambda d: "status" not in d, timeout=180)
        assert [d["status"] for d in data["dates"]] == ["PROCESSED"]
        assert _date(svc, job_id)[:2] == ("PROCESSED", 1)
        (hook,) = receiver.wait_for(1, "/files")
        time.sleep(2)  # a second announcement would have come by now
        assert len(receiver.tried) == 1 and hook.json["job_id"] == job_id
        files = sorted(p.name for p in (svc.home / "results" / job_id).rglob("*") if p.is_file())
        assert files == ["2020-02-19_MS.tif"]  # no partial file left in storage
    finally:
        svc.stop()
        receiver.close()


def test_a_short_lease_is_kept_alive_while_a_long_date_runs(
    tmp_path: Path, scenes_catalog: Path
) -> None:
    """A 1 s lease, a date of many seconds, two workers: the heartbeat keeps it with one."""
    env = {"DEEPRES_CATALOG_URL": str(scenes_catalog), "DEEPRES_TASK_LEASE_SECONDS": "1"}
    svc = Service(tmp_path, {**env, **SLOW_ENV})
    try:
        svc.cli("migrate")
        svc.start("api")
        svc.start("scheduler", wait=False)
        svc.start("worker", wait=False)
        svc.start("worker", wait=False)
        token = svc.create_client("heartbeat")
        job_id = _job(svc, token, "http://127.0.0.1:9/none")
        leases: set[Any] = set()
        _wait(lambda: _date(svc, job_id)[:1] == ("PROCESSING",), 120, "PROCESSING", svc)
        while _date(svc, job_id)[:1] == ("PROCESSING",):
            leases |= {r[0] for r in _sql(svc, "SELECT lease_until FROM job_dates")}
            time.sleep(0.1)
        assert len(leases) >= 4  # renewed again and again while the work went on
        svc.wait_status(job_id, token, lambda d: "status" not in d, timeout=180)
        assert _date(svc, job_id)[:2] == ("PROCESSED", 1)  # and never taken over
    finally:
        svc.stop()
