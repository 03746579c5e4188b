"""Scale-out: api, two workers and two schedulers as separate processes on PostgreSQL, Redis, S3."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from deepres.raster import validate_cog
from tests.backends import answers, scaleout_env
from tests.harness import Receiver, Service

pytestmark = [pytest.mark.services, pytest.mark.realdata, pytest.mark.slow]

FEB = {"start_date": "2020-02-01T00:00:00", "end_date": "2020-03-01T00:00:00"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, two_date_catalog: Path) -> Iterator[Service]:
    if not (answers(5432) and answers(6379)):
        pytest.skip("PostgreSQL or Redis does not answer on 127.0.0.1 (make services)")
    with scaleout_env() as env:
        svc = Service(
            tmp_path_factory.mktemp("cluster"),
            {**env, "DEEPRES_CATALOG_URL": str(two_date_catalog)},
        )
        svc.cli("migrate")
        svc.start("api")
        for role in ("worker", "worker", "scheduler", "scheduler"):
            svc.start(role, wait=False)
        yield svc
        svc.stop()


def _job(svc: Service, token: str, **body: Any) -> str:
    return svc.submit(token, **body)


def _done(data: dict[str, Any]) -> bool:
    return bool(data["dates"]) and "status" not in data


def test_range_job_over_two_dates_gives_presigned_s3_links(
    cluster: Service, tmp_path: Path
) -> None:
    token = cluster.create_client("scale")
    job_id = _job(cluster, token, **FEB)
    data = cluster.wait_status(job_id, token, _done, timeout=180)
    assert [(d["date"][:10], d["status"]) for d in data["dates"]] == [
        ("2020-02-19", "PROCESSED"),
        ("2020-02-24", "PROCESSED"),
    ]
    for entry in data["dates"]:
        assert "X-Amz-Signature=" in entry["link"] and "X-Amz-Expires=604800" in entry["link"]
        out = tmp_path / entry["filename"]
        out.write_bytes(httpx.get(entry["link"]).content)
        assert validate_cog(out) == []
    metrics = httpx.get(f"{cluster.url}/metrics").text
    assert 'deepres_job_dates{state="PROCESSED"}' in metrics
    assert 'deepres_queue_depth{queue="sr"}' in metrics
    assert httpx.get(f"{cluster.url}/readyz").json()["checks"] == {"database": "ok", "broker": "ok"}


def test_many_jobs_from_several_clients_are_each_processed_exactly_once(cluster: Service) -> None:
    receiver = Receiver()
    try:
        tokens = [cluster.create_client(f"farm-{i}") for i in range(3)]
        jobs = {
            _job(cluster, token, callback_url=receiver.url(f"/c{i}"), **FEB): token
            for i, token in enumerate(tokens)
            for _ in range(3)
        }
        for job_id, token in jobs.items():
            cluster.wait_status(job_id, token, _done, timeout=300)
        hooks = receiver.wait_for(2 * len(jobs), timeout=60)
        announced = Counter((h.json["job_id"], h.json["data"]["filename"]) for h in hooks)
        assert set(announced) == {
            (j, f) for j in jobs for f in ("2020-02-19_MS.tif", "2020-02-24_MS.tif")
        }
        assert set(announced.values()) == {1}
        assert len({h.headers["webhook-id"] for h in hooks}) == len(hooks)
        engine = create_engine(cluster.env["DEEPRES_DATABASE_URL"])
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT state, attempts FROM job_dates WHERE job_id = ANY(:ids)"),
                {"ids": list(jobs)},
            ).all()
            holders = conn.execute(text("SELECT count(*) FROM scheduler_lock")).scalar()
        engine.dispose()
        assert len(rows) == 2 * len(jobs)
        assert {tuple(r) for r in rows} == {("PROCESSED", 1)}  # claimed and run once each
        assert holders == 1
    finally:
        receiver.close()


@pytest.fixture
def rabbit_vhost() -> Iterator[str]:
    """A throwaway RabbitMQ vhost, so runs never share queues."""
    import shutil
    import subprocess
    import uuid

    if not answers(5672) or shutil.which("rabbitmqctl") is None:
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672")
    vhost = f"deepres-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)


def test_rabbitmq_broker_runs_a_job(
    tmp_path: Path, scenes_catalog: Path, rabbit_vhost: str
) -> None:
    svc = Service(
        tmp_path, {"DEEPRES_CATALOG_URL": str(scenes_catalog), "DEEPRES_BROKER_URL": rabbit_vhost}
    )
    svc.start("serve")
    try:
        token = svc.create_client("rabbit")
        job_id = _job(svc, token, dates=["2020-02-19"])
        data = svc.wait_status(job_id, token, _done)
        assert [d["status"] for d in data["dates"]] == ["PROCESSED"]
        assert httpx.get(f"{svc.url}/readyz").json()["checks"]["broker"] == "ok"
    finally:
        svc.stop()
