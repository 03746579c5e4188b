"""The Python SDK against a real `deepres serve`: polling, jobs, downloads, errors, webhooks."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import httpx
import pytest
import rasterio
from shapely.geometry import box

from deepres.client import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    DatesResult,
    DeepresAPIError,
    Forbidden,
    JobStatus,
    NotFound,
    PipelineStatus,
    RateLimited,
    ServerError,
    Unauthorized,
    verify_webhook,
)
from deepres.client.wire import download_plan, extent_of
from deepres.webhooks.signing import digifarm_signature, new_webhook_secret, standard_headers
from tests.harness import Receiver, Service

CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19
CLEAR_BBOX = (-11.765, 24.734, -11.752, 24.747)


@pytest.fixture(scope="module")
def token(service: Service) -> str:
    return service.create_client("sdk")


def _client(service: Service, token: str) -> Client:
    return Client(service.url, token, poll_interval=0.3, max_poll_interval=0.5)


@pytest.mark.realdata
@pytest.mark.slow
def test_available_dates_by_polling_the_pipeline(service: Service, token: str) -> None:
    with _client(service, token) as deepres:
        found = deepres.available_dates(
            bbox=CLEAR_BBOX, start="2020-02-01", end=dt.date(2020, 3, 1), cloud_cover=20
        )
    assert [(d.date, d.mgrs, d.data_source) for d in found.available_dates] == [
        (dt.date(2020, 2, 19), "29RKH", "S2A_29RKH_20200219_0_L2A")
    ]
    assert found.available_dates[0].cloud_cover == pytest.approx(0.0, abs=1)
    assert found.area_hectares == pytest.approx(189, rel=0.05) and found.pipeline_id


@pytest.mark.realdata
@pytest.mark.slow
def test_job_waited_downloaded_and_announced_by_a_verifiable_webhook(
    service: Service, token: str, receiver: Receiver, tmp_path: Path
) -> None:
    seen: list[JobStatus] = []
    path = f"/sdk/{time.time_ns()}"  # the receiver outlives this module's service instances
    with _client(service, token) as deepres:
        job_id = deepres.create_job(
            CLEAR,  # a shapely geometry goes as GeoJSON
            dates=[dt.date(2020, 2, 19)],
            cloud_cover=20,
            callback_url=receiver.url(path),
        )
        final = deepres.wait(job_id, progress=seen.append, timeout=180, poll=0.3)
        files = deepres.download(job_id, tmp_path / "out")
        listed = [job.job_id for job in deepres.jobs(page_size=1)]

    assert final.finished and final.status is None and final.job_id == job_id
    assert [(e.date, e.status, e.mgrs) for e in final.dates] == [
        (dt.date(2020, 2, 19), "PROCESSED", "29RKH")
    ]
    assert seen[0].status == "ACTIVE" and seen[-1] == final
    assert files == [tmp_path / "out" / "2020-02-19_MS.tif"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2020-02-19_MS.tif"]
    with rasterio.open(files[0]) as ds:
        assert ds.count == 10 and ds.crs.to_epsg() == 32629
        assert ds.descriptions[:3] == ("B02", "B03", "B04")
        assert ds.read(3).max() > 1000
    assert job_id in listed

    (hook,) = receiver.wait_for(1, path)
    assert hook.json["job_id"] == job_id
    assert verify_webhook(hook.body, hook.headers, client_token=token)
    assert not verify_webhook(hook.body + b" ", hook.headers, client_token=token)
    tampered = hook.body.replace(b"2020-02-19_MS.tif", b"2020-02-18_MS.tif")
    assert tampered != hook.body
    assert not verify_webhook(tampered, hook.headers, client_token=token)
    assert not verify_webhook(hook.body, hook.headers, client_token="another-token")
    # The client's webhook secret is not this one, so the Standard Webhooks check refuses it.
    assert not verify_webhook(
        hook.body, hook.headers, client_token=token, webhook_secret=new_webhook_secret()
    )


@pytest.mark.realdata
@pytest.mark.slow
def test_errors_are_typed_with_the_envelope_message(service: Service, token: str) -> None:
    with Client(service.url, "not-a-token") as stranger, pytest.raises(Unauthorized) as caught:
        stranger.status("whatever")
    assert caught.value.status_code == 401 and caught.value.code == "UNAUTHORIZED"
    assert caught.value.message == "Unauthorized. Invalid client token."

    other = service.create_client("sdk-other")
    reader = service.create_client("sdk-reader", permissions="deep-resolution.jobs.read")
    with _client(service, token) as deepres, _client(service, other) as intruder:
        job_id = deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"], cloud_cover=20)
        with pytest.raises(NotFound) as not_found:
            intruder.status(job_id)
        assert not_found.value.status_code == 404 and job_id in not_found.value.message
        with pytest.raises(NotFound):
            intruder.cancel(job_id)

        with pytest.raises(BadRequest) as bad:
            deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"], cloud_cover=150)
        assert bad.value.status_code == 400 and "cloud_cover" in bad.value.message

        key = f"sdk-{time.time_ns()}"
        first = deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"], idempotency_key=key)
        again = deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"], idempotency_key=key)
        assert again == first

        # A bearer JWT the service stops accepting (its key rotated) is exchanged once, again.
        deepres._bearer.jwt = "no.longer.valid"
        assert deepres.status(first).job_id == first
        with pytest.raises(Conflict) as conflict:
            deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-21"], idempotency_key=key)
        assert conflict.value.status_code == 409

    with _client(service, reader) as limited, pytest.raises(Forbidden) as forbidden:
        limited.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"])
    assert forbidden.value.status_code == 403
    assert "deep-resolution.jobs.create" in forbidden.value.message


@pytest.mark.realdata
@pytest.mark.slow
def test_async_client_waits_pages_and_reports_failed_dates(
    service: Service, tmp_path: Path
) -> None:
    token = service.create_client("sdk-async")

    async def scenario() -> tuple[list[str], JobStatus, list[Path], list[str]]:
        async with AsyncClient(service.url, token, poll_interval=0.3) as deepres:
            ids = [
                await deepres.create_job(bbox=CLEAR_BBOX, dates=["2020-02-20"], cloud_cover=20)
                for _ in range(3)
            ]
            final = await deepres.wait(ids[0], timeout=120)
            files = await deepres.download(ids[0], tmp_path)
            listed = [job.job_id async for job in deepres.jobs(page_size=2)]
            with pytest.raises(NotFound):
                await deepres.status("no-such-job")
            await deepres.wait(ids[2], timeout=120)
            with pytest.raises(Conflict):  # a finished job stays as it was
                await deepres.cancel(ids[2])
            return ids, final, files, listed

    ids, final, files, listed = asyncio.run(scenario())
    (entry,) = final.dates
    assert entry.status == "FAILED" and "no Sentinel-2" in (entry.reason or "")
    assert files == []
    assert listed == ids[::-1]  # every page, newest first


@pytest.mark.realdata
@pytest.mark.slow
def test_both_clients_run_the_same_search_and_report_each_poll(
    service: Service, token: str
) -> None:
    window = {"start": "2020-02-01", "end": "2020-03-01"}
    polled: list[PipelineStatus] = []
    with _client(service, token) as deepres:
        found = deepres.available_dates(bbox=CLEAR_BBOX, **window, progress=polled.append)

    async def scenario() -> tuple[DatesResult, list[PipelineStatus]]:
        seen: list[PipelineStatus] = []
        async with AsyncClient(service.url, token, poll_interval=0.3) as deepres:
            result = await deepres.available_dates(bbox=CLEAR_BBOX, **window, progress=seen.append)
        return result, seen

    found_async, polled_async = asyncio.run(scenario())
    assert [d.date for d in found.available_dates] == [dt.date(2020, 2, 19)]
    assert found_async.available_dates == found.available_dates
    for seen in (polled, polled_async):
        # Called before each wait, starting with the state initiate answered.
        assert seen and seen[0].status == "NEW"
        assert all(report.pipeline_id == seen[0].pipeline_id for report in seen)
        assert all(report.retrying is None for report in seen)  # the catalog answered
        assert all((r.message or "The pipeline is").startswith("The pipeline is") for r in seen)


# -- no service needed ----------------------------------------------------------------------


def test_an_error_names_the_url_that_answered_without_its_signature() -> None:
    link = "http://127.0.0.1:8000/files/j/29RKH/2020-02-19_MS.tif?expires=1&signature=abc"
    expired = httpx.Response(
        403,
        request=httpx.Request("GET", link),
        json={"statusCode": 403, "data": {"message": "The link has expired."}},
    )
    error = DeepresAPIError.from_response(expired)
    assert isinstance(error, Forbidden) and error.message == "The link has expired."
    assert error.url == "http://127.0.0.1:8000/files/j/29RKH/2020-02-19_MS.tif"
    assert DeepresAPIError.from_response(httpx.Response(500)).url is None  # no request known


def test_a_pipeline_status_tells_why_the_service_retries() -> None:
    failing = PipelineStatus(
        pipeline_id="p",
        status="PROCESSING",
        message="The pipeline is PROCESSING; check again in 5 s. The last attempt failed and "
        "will be retried: The STAC catalog at http://127.0.0.1:9/ could not be reached.",
    )
    assert failing.retrying == "The STAC catalog at http://127.0.0.1:9/ could not be reached."
    running = PipelineStatus(
        pipeline_id="p", status="NEW", message="The pipeline is NEW; check again in 5 s."
    )
    assert running.retrying is None
    assert PipelineStatus(pipeline_id="p", status="NEW").retrying is None


def test_errors_from_any_answer() -> None:
    limited = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={"statusCode": 429, "data": {"message": "Slow down."}, "error": "RATE-LIMITED"},
    )
    error = DeepresAPIError.from_response(limited)
    assert isinstance(error, RateLimited) and error.retry_after == 7.0
    assert str(error) == "Slow down. (HTTP 429 RATE-LIMITED)"
    proxy = DeepresAPIError.from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(proxy, ServerError) and proxy.status_code == 502 and proxy.code is None
    assert "bad gateway" in proxy.message


def test_one_date_over_two_tiles_gives_one_file_per_tile(tmp_path: Path) -> None:
    status = JobStatus.model_validate(
        {
            "job_id": "j",
            "dates": [
                {
                    "date": "2020-02-19T00:00:00.000Z",
                    "status": "PROCESSED",
                    "mgrs": "29RKH",
                    "link": "http://x/a",
                },
                {
                    "date": "2020-02-19T00:00:00.000Z",
                    "status": "PROCESSED",
                    "mgrs": "29RLH",
                    "link": "http://x/b",
                },
                {
                    "date": "2020-02-24T00:00:00.000Z",
                    "status": "PROCESSED",
                    "mgrs": "29RKH",
                    "link": "http://x/c",
                },
                {"date": "2020-02-29T00:00:00.000Z", "status": "FAILED", "mgrs": "29RKH"},
            ],
        }
    )
    assert [path.name for _, path in download_plan(status, tmp_path)] == [
        "2020-02-19_29RKH_MS.tif",
        "2020-02-19_29RLH_MS.tif",
        "2020-02-24_MS.tif",
    ]


def test_geometries_go_in_a_form_the_service_accepts() -> None:
    assert extent_of(CLEAR)["type"] == "Polygon"
    two = box(0, 0, 1, 1).union(box(2, 0, 3, 1))
    sent = extent_of(two)
    assert sent["type"] == "GeometryCollection" and len(sent["geometries"]) == 2
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon"}}
    assert extent_of(feature) == feature


def test_standard_webhooks_signature_with_the_secret() -> None:
    secret, token = new_webhook_secret(), "client-token"
    body = b'{"statusCode": 200}'
    headers = {
        "X-Digifarm-Signature": digifarm_signature(body, token),
        **standard_headers("msg_1", int(time.time()), body, secret),
    }
    assert verify_webhook(body, headers, client_token=token, webhook_secret=secret)
    assert not verify_webhook(body + b"x", headers, client_token=token, webhook_secret=secret)
    stale = {**headers, **standard_headers("msg_1", int(time.time()) - 3600, body, secret)}
    assert verify_webhook(body, stale, client_token=token)  # the spec's scheme has no clock
    assert not verify_webhook(body, stale, client_token=token, webhook_secret=secret)
