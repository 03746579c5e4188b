"""Available-dates pipelines in-process: an unreachable catalog is reported, not hidden."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.jobs import pipelines
from deepres.jobs.dispatch import TASK_SEARCH_DATES
from tests.inprocess import migrated_runtime, new_client, recorder

BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}


def test_unreachable_catalog_is_named_in_the_answer_while_it_retries(tmp_path: Path) -> None:
    runtime = migrated_runtime(tmp_path, catalog_url="http://127.0.0.1:9/v1")
    _, token = new_client(runtime, "offline")
    with TestClient(create_app(runtime.settings, runtime)) as http:
        body = {"client_token": token, "bbox": BBOX, "cloud_cover": 20}
        pid = http.post("/deep-resolution/available_dates/initiate", json=body).json()["pipelineId"]
        (queued,) = recorder(runtime).take(TASK_SEARCH_DATES)
        pipelines.run(runtime, str(queued))
        r = http.post(
            "/deep-resolution/available_dates/retrieve",
            json={"client_token": token, "pipelineId": pid},
        )
        assert r.status_code == 409
        message = r.json()["data"]["message"]
        assert "http://127.0.0.1:9/v1" in message and "retried" in message
        state = http.post("/tasking/check-status", json={"client_token": token, "pipelineId": pid})
        assert state.json()["status"] == "PROCESSING"
