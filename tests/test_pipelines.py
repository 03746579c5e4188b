"""Available-dates pipelines in-process: an unreachable catalog is reported, not hidden."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.auth.clients import create_client
from deepres.jobs import pipelines
from deepres.jobs.dispatch import TASK_SEARCH_DATES
from deepres.jobs.migrate import upgrade
from deepres.jobs.runtime import Runtime
from deepres.settings import Settings
from tests.test_jobs_runtime import Recorder

BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}


def test_unreachable_catalog_is_named_in_the_answer_while_it_retries(tmp_path: Path) -> None:
    conf = Settings(home=tmp_path, catalog_url="http://127.0.0.1:9/v1")
    upgrade(conf.effective_database_url)
    recorder = Recorder()
    runtime = Runtime(conf, dispatcher=recorder)
    with runtime.db.session() as s:
        _, token = create_client(s, runtime.keys, "offline")
    with TestClient(create_app(conf, runtime)) as http:
        body = {"client_token": token, "bbox": BBOX, "cloud_cover": 20}
        pid = http.post("/deep-resolution/available_dates/initiate", json=body).json()["pipelineId"]
        (queued,) = recorder.take(TASK_SEARCH_DATES)
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
