"""Hostile and odd input, refused politely: a 4xx in the envelope, never a 500 or lost data.

In-process against the real app and database; the webhook cases drive the real outbox.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from deepres.api.app import create_app
from deepres.auth.clients import rotate_token
from deepres.auth.models import Client
from deepres.jobs import outbox
from deepres.jobs.models import Delivery, DeliveryState, Job
from deepres.jobs.runtime import Runtime
from tests.inprocess import migrated_runtime, new_client

BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}
JOB = {"bbox": BBOX, "cloud_cover": 20, "dates": ["2020-02-19"]}


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return migrated_runtime(tmp_path, webhook_allow_private=False)


@pytest.fixture
def http(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as client:
        yield client


@pytest.fixture
def token(runtime: Runtime) -> str:
    return new_client(runtime, "hostile")[1]


def _refused(r: Any, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["statusCode"] == status and body["data"]["message"] and body["error"]
    return body


@pytest.mark.parametrize(
    "field, value",
    [
        ("dates", ["9999-12-31T23:00:00-05:00"]),
        ("dates", ["0001-01-01T00:00:00+05:00"]),
        ("start_date", "9999-12-31T23:00:00-05:00"),
        ("end_date", "0001-01-01T00:00:00+05:00"),
    ],
)
def test_dates_past_the_calendar_in_utc_are_refused(
    http: TestClient, token: str, field: str, value: Any
) -> None:
    body = {**JOB, "client_token": token, field: value}
    if field != "dates":
        body.pop("dates")
        body.setdefault("end_date", "2020-03-01")
    message = _refused(http.post("/deep-resolution", json=body))["data"]["message"]
    assert "outside the calendar" in message


def test_an_end_date_on_the_first_day_of_the_calendar_searches_from_there(
    http: TestClient, token: str
) -> None:
    r = http.post(
        "/deep-resolution/available_dates/initiate",
        json={"client_token": token, "bbox": BBOX, "cloud_cover": 20, "end_date": "0001-01-01"},
    )
    assert r.status_code == 200, r.text  # the 90-day window stops at 0001-01-01


@pytest.mark.parametrize("host", ["a..com", "a" * 64 + ".com", "x" * 250 + ".example.com"])
def test_malformed_callback_hosts_are_refused(http: TestClient, token: str, host: str) -> None:
    body = {**JOB, "client_token": token, "callback_url": f"http://{host}/hook"}
    _refused(http.post("/deep-resolution", json=body))


def test_deep_nesting_is_refused_or_ignored_never_500(http: TestClient, token: str) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = {"k": deep}
    r = http.post("/deep-resolution", json={**JOB, "client_token": token, "extra": deep})
    assert r.status_code == 200, r.text  # an unknown field, however deep, is ignored
    brackets = b"[" * 1000 + b"]" * 1000
    for path in ("/deep-resolution/cancel/abc", "/deep-resolution/webhooks/abc/redeliver"):
        r = http.post(path, content=brackets, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["statusCode"] == r.status_code


def test_a_non_ascii_signature_is_a_404(http: TestClient) -> None:
    r = http.get("/files/a/b.tif?expires=9999999999&signature=%C3%A9")
    assert _refused(r, 404)["error"] == "NOT-FOUND"


@pytest.mark.parametrize(
    "field, value", [("interval", True), ("scale", True), ("bbox", {**BBOX, "x_min": True})]
)
def test_booleans_are_not_numbers(http: TestClient, token: str, field: str, value: Any) -> None:
    _refused(http.post("/deep-resolution", json={**JOB, "client_token": token, field: value}))


def test_a_header_token_and_a_different_body_token_are_refused(
    http: TestClient, runtime: Runtime, token: str
) -> None:
    _, other = new_client(runtime, "other")
    r = http.post(
        "/deep-resolution", json={**JOB, "client_token": other}, headers={"client_token": token}
    )
    assert "differ" in _refused(r)["data"]["message"]


def test_unknown_fields_are_accepted_but_not_stored(
    http: TestClient, runtime: Runtime, token: str
) -> None:
    junk = "j" * 4_000_000  # a 4 MB string, under the 5 MB body cap
    body = {**JOB, "client_token": token, "data_cover": 70, "junk": junk}
    r = http.post("/deep-resolution", json=body)
    assert r.status_code == 200, r.text
    with runtime.db.session() as s:
        (stored,) = s.scalars(select(Job.request)).all()
    assert "junk" not in stored and "data_cover" not in stored and "client_token" not in stored
    assert len(json.dumps(stored)) < 2000
    assert stored["cloud_cover"] == 20 and stored["dates"] == ["2020-02-19"]


def test_a_rotated_clients_old_jwt_is_refused(
    http: TestClient, runtime: Runtime, token: str
) -> None:
    jwt = http.post("/auth/token", json={"client_token": token}).json()["access_token"]
    bearer = {"Authorization": f"Bearer {jwt}"}
    assert http.get("/deep-resolution/jobs", headers=bearer).status_code == 200
    with runtime.db.session() as s:
        (client,) = s.scalars(select(Client)).all()
        new = rotate_token(s, runtime.keys, client)
    r = http.get("/deep-resolution/jobs", headers=bearer)
    assert "rotated" in _refused(r, 401)["data"]["message"]
    fresh = http.post("/auth/token", json={"client_token": new}).json()["access_token"]
    assert (
        http.get("/deep-resolution/jobs", headers={"Authorization": f"Bearer {fresh}"}).status_code
        == 200
    )


def test_failed_authentication_is_throttled_per_address(tmp_path: Path) -> None:
    runtime = migrated_runtime(tmp_path, failed_auth_per_minute=5)
    with TestClient(create_app(runtime.settings, runtime)) as http:
        for _ in range(5):
            assert (
                http.get("/deep-resolution/jobs", headers={"client_token": "guess"}).status_code
                == 401
            )
        r = http.post("/auth/token", json={"client_token": "guess"})
        body = _refused(r, 429)
        assert "failed authentications" in body["data"]["message"] and r.headers["retry-after"]


def test_metrics_can_require_a_token(tmp_path: Path) -> None:
    runtime = migrated_runtime(tmp_path, metrics_token="s3cret")
    with TestClient(create_app(runtime.settings, runtime)) as http:
        _refused(http.get("/metrics"), 401)
        ok = http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "deepres_jobs" in ok.text


def test_head_on_a_signed_link_answers_like_get(
    http: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    source = tmp_path / "p.tif"
    source.write_bytes(b"II*\x00" + b"\x00" * 100)
    runtime.storage.put_file(source, "job/29RKH/2020-02-19_MS.tif")
    link = runtime.storage.url("job/29RKH/2020-02-19_MS.tif", 600)
    path = link.split("://", 1)[1].split("/", 1)[1]
    head = http.head("/" + path)
    assert head.status_code == 200 and head.headers["content-length"] == "104"
    assert head.content == b""


def test_the_database_file_is_readable_by_its_owner_only(runtime: Runtime) -> None:
    db = runtime.settings.resolved_home / "deepres.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def _delivery(runtime: Runtime, client_id: str, url: str, key: str) -> str:
    with runtime.db.session() as s:
        delivery = outbox.enqueue(
            s, client_id=client_id, url=url, event="t", payload={"n": key}, dedupe_key=key
        )
        assert delivery is not None
        return delivery.id


def test_a_malformed_callback_fails_with_a_reason_even_when_private_ones_are_allowed(
    tmp_path: Path,
) -> None:
    runtime = migrated_runtime(tmp_path, webhook_allow_private=True)
    client_id, _ = new_client(runtime)
    delivery_id = _delivery(runtime, client_id, "http://a..com/hook", "bad-host")
    result = outbox.deliver(runtime, delivery_id)
    assert result is not None and result.refused
    with runtime.db.session() as s:
        row = s.get(Delivery, delivery_id)
        assert row is not None
        assert row.state == DeliveryState.FAILED and row.attempts == 1
        assert "empty label" in (row.last_error or "")


def test_outbound_webhooks_are_bounded_per_client(tmp_path: Path) -> None:
    runtime = migrated_runtime(tmp_path, webhook_allow_private=True, webhook_rate_per_minute=3)
    client_id, _ = new_client(runtime)
    ids = [_delivery(runtime, client_id, "http://127.0.0.1:9/h", f"m{i}") for i in range(5)]
    results = [outbox.deliver(runtime, i) for i in ids]
    assert sum(r is not None for r in results) == 3  # the other two wait for the next minute
    with runtime.db.session() as s:
        waiting = [s.get(Delivery, i) for i in ids[3:]]
        assert all(d is not None and d.attempts == 0 and d.state == "PENDING" for d in waiting)
