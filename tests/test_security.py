"""Isolation, secrets at rest and request limits, in-process against the real app and database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.auth.clients import rotate_token
from deepres.auth.models import Client
from deepres.jobs import outbox
from deepres.jobs.runtime import Runtime
from tests.inprocess import migrated_runtime, new_client

BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}


@dataclass
class Api:
    http: TestClient
    runtime: Runtime

    def client(self, name: str, hectares: float | None = None) -> tuple[str, str]:
        return new_client(self.runtime, name, hectares=hectares)

    def job(self, token: str, **body: Any) -> Any:
        payload = {"client_token": token, "bbox": BBOX, "cloud_cover": 20, "dates": ["2020-02-19"]}
        return self.http.post("/deep-resolution", json={**payload, **body})


def _api(tmp_path: Path, **settings: Any) -> Iterator[Api]:
    runtime = migrated_runtime(tmp_path, webhook_allow_private=True, **settings)
    with TestClient(create_app(runtime.settings, runtime)) as http:
        yield Api(http, runtime)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path)


def test_every_endpoint_answers_404_for_another_clients_ids(api: Api) -> None:
    owner_id, owner = api.client("owner")
    _, intruder = api.client("intruder")
    job_id = api.job(owner, callback_url="http://127.0.0.1:9/h").json()["data"]["job_id"]
    r = api.http.post(
        "/deep-resolution/available_dates/initiate",
        json={"client_token": owner, "bbox": BBOX, "cloud_cover": 20},
    )
    pipeline_id = r.json()["pipelineId"]
    with api.runtime.db.session() as s:
        delivery = outbox.enqueue(
            s,
            client_id=owner_id,
            url="http://127.0.0.1:9/h",
            event="test",
            payload={"a": 1},
            dedupe_key="test:1",
            job_id=job_id,
        )
        assert delivery is not None
        webhook_id = delivery.id
    h = {"client_token": intruder}
    calls = {
        "/deep-resolution/status/{job_id}": [("GET", f"/deep-resolution/status/{job_id}", None)],
        "/deep-resolution/cancel/{job_id}": [
            ("GET", f"/deep-resolution/cancel/{job_id}", None),
            ("POST", f"/deep-resolution/cancel/{job_id}", None),
        ],
        "/tasking/check-status": [
            ("POST", "/tasking/check-status", {"pipelineId": job_id}),
            ("POST", "/tasking/check-status", {"pipelineId": pipeline_id}),
        ],
        "/deep-resolution/available_dates/retrieve": [
            ("POST", "/deep-resolution/available_dates/retrieve", {"pipelineId": job_id}),
            ("POST", "/deep-resolution/available_dates/retrieve", {"pipelineId": pipeline_id}),
        ],
        "/deep-resolution/webhooks": [("GET", f"/deep-resolution/webhooks?job_id={job_id}", None)],
        "/deep-resolution/jobs/{job_id}/stac": [
            ("GET", f"/deep-resolution/jobs/{job_id}/stac", None)
        ],
        "/deep-resolution/jobs/{job_id}/stac/items": [
            ("GET", f"/deep-resolution/jobs/{job_id}/stac/items", None)
        ],
        "/deep-resolution/jobs/{job_id}/stac/items/{item_id}": [
            ("GET", f"/deep-resolution/jobs/{job_id}/stac/items/{job_id}-29RKH-2020-02-19", None)
        ],
        "/deep-resolution/jobs/{job_id}/quicklook/{date}.png": [
            ("GET", f"/deep-resolution/jobs/{job_id}/quicklook/2020-02-19.png?kind=result", None)
        ],
        "/deep-resolution/webhooks/{webhook_id}/redeliver": [
            ("POST", f"/deep-resolution/webhooks/{webhook_id}/redeliver", None)
        ],
    }
    for calls_of_route in calls.values():
        for method, url, body in calls_of_route:
            r = api.http.request(method, url, json=body, headers=h)
            assert r.status_code == 404, (method, url, r.text)
            assert r.json()["error"] == "NOT-FOUND"
            assert job_id not in r.text.replace(f"{job_id!r}", "")  # nothing of it leaks
    # Every endpoint that takes an id is walked above: a new one must be added here.
    assert _id_taking_paths(api.http.get("/openapi.json").json()) == set(calls)
    listed = api.http.get("/deep-resolution/jobs", headers=h).json()
    assert listed == {"results": [], "cursor": None}
    # And the owner still sees everything.
    assert (
        api.http.get(
            f"/deep-resolution/status/{job_id}", headers={"client_token": owner}
        ).status_code
        == 200
    )


def _id_taking_paths(spec: dict[str, Any]) -> set[str]:
    found = set()
    for path, methods in spec["paths"].items():
        for op in methods.values():
            body = json.dumps(op.get("requestBody", {}))
            query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            if ("{" in path or "PipelineRef" in body or "job_id" in query) and not path.startswith(
                "/files"
            ):
                found.add(path)
    return found


def test_tokens_and_webhook_secrets_are_never_stored_in_plain_text(
    api: Api, tmp_path: Path
) -> None:
    _, token = api.client("secretive")
    with api.runtime.db.session() as s:
        (client,) = s.query(Client).all()
        secret = api.runtime.keys.decrypt(client.webhook_secret_encrypted)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("deepres.db*"))
    assert raw and token.encode() not in raw and secret.encode() not in raw
    assert token[3:20].encode() not in raw  # not even a recognisable part
    assert secret.startswith("whsec_")


def test_rotation_retires_the_old_token(api: Api) -> None:
    client_id, old = api.client("rotating")
    with api.runtime.db.session() as s:
        client = s.get(Client, client_id)
        assert client is not None
        new = rotate_token(s, api.runtime.keys, client)
    assert api.http.get("/deep-resolution/jobs", headers={"client_token": old}).status_code == 401
    assert api.http.get("/deep-resolution/jobs", headers={"client_token": new}).status_code == 200


def test_idempotency_key_returns_the_same_job_or_409(api: Api) -> None:
    _, token = api.client("retrying")
    key = {"Idempotency-Key": "order-17"}
    first = (
        api.job(token, dates=["2020-02-19"])
        if False
        else api.http.post(
            "/deep-resolution",
            json={"client_token": token, "bbox": BBOX, "cloud_cover": 20, "dates": ["2020-02-19"]},
            headers=key,
        )
    )
    again = api.http.post(
        "/deep-resolution",
        json={"client_token": token, "bbox": BBOX, "cloud_cover": 20, "dates": ["2020-02-19"]},
        headers=key,
    )
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["job_id"] == again.json()["data"]["job_id"]
    other = api.http.post(
        "/deep-resolution",
        json={"client_token": token, "bbox": BBOX, "cloud_cover": 30, "dates": ["2020-02-19"]},
        headers=key,
    )
    assert other.status_code == 409 and other.json()["statusCode"] == 409
    listed = api.http.get("/deep-resolution/jobs", headers={"client_token": token}).json()
    assert len(listed["results"]) == 1


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    for api in _api(tmp_path, rate_limit_per_minute=3):
        _, token = api.client("hasty")
        h = {"client_token": token}
        codes = [api.http.get("/deep-resolution/jobs", headers=h).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = api.http.get("/deep-resolution/jobs", headers=h)
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.json()["error"] == "RATE-LIMITED"
        _, other = api.client("patient")  # limits are per client
        assert (
            api.http.get("/deep-resolution/jobs", headers={"client_token": other}).status_code
            == 200
        )


def test_hectare_allocation_answers_402_when_exhausted(api: Api) -> None:
    _, token = api.client("small-farm", hectares=200)  # the AOI is ~173 ha
    assert api.job(token).status_code == 200
    r = api.job(token)
    assert r.status_code == 402
    assert "allocation of 200.0 ha" in r.json()["data"]["message"]


def test_oversized_bodies_and_too_many_vertices_are_refused(api: Api) -> None:
    _, token = api.client("bulky")
    ring = [[-11.76 + 0.01 * (i % 2), 24.74 + 0.00001 * i] for i in range(12_000)]
    ring.append(ring[0])
    r = api.job(token, bbox=None, aoi={"type": "Polygon", "coordinates": [ring]})
    assert r.status_code == 422 and r.json()["error"] == "AOI-TOO-COMPLEX"
    huge = b'{"client_token": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    r = api.http.post(
        "/deep-resolution", content=huge, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["statusCode"] == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"client_token": "'
        for _ in range(7):
            yield b"y" * (1024 * 1024)
        yield b'"}'

    r = api.http.post(
        "/deep-resolution", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_webhook_log_lists_attempts_and_redeliver_keeps_the_id(api: Api) -> None:
    client_id, token = api.client("listener")
    job_id = api.job(token, callback_url="http://127.0.0.1:9/gone").json()["data"]["job_id"]
    with api.runtime.db.session() as s:
        delivery = outbox.enqueue(
            s,
            client_id=client_id,
            url="http://127.0.0.1:9/gone",
            event="file.processed",
            payload={"statusCode": 200},
            dedupe_key="file:x",
            job_id=job_id,
        )
        assert delivery is not None
    result = outbox.deliver(api.runtime, delivery.id)  # nothing listens on port 9
    assert result is not None and not result.ok
    h = {"client_token": token}
    log = api.http.get(f"/deep-resolution/webhooks?job_id={job_id}", headers=h).json()
    (entry,) = log["results"]
    assert entry["webhook_id"] == delivery.id and entry["attempts"] == 1
    assert entry["state"] == "PENDING" and entry["log"][0]["error"]
    r = api.http.post(f"/deep-resolution/webhooks/{delivery.id}/redeliver", headers=h)
    assert r.status_code == 200 and r.json()["webhook_id"] == delivery.id
    assert r.json()["attempts"] == 0
