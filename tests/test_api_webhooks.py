"""Webhook delivery through the real worker: retries on failure, refusal of internal targets."""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from deepres.api.app import create_app
from tests.harness import CLEAR_BBOX, Receiver, Service, is_valid_signature
from tests.inprocess import migrated_runtime, new_client


@pytest.mark.realdata
@pytest.mark.slow
def test_a_receiver_failing_three_times_still_gets_one_signed_message_with_one_id(
    service: Service,
) -> None:
    flaky = Receiver(fail_first=3)
    try:
        token = service.create_client("flaky")
        r = service.find_dates(token, flaky.url("/flaky"))
        assert r.status_code == 200
        (hook,) = flaky.wait_for(1, "/flaky", timeout=60)
        assert flaky.attempts == 4  # three 500s, then the 200 that was recorded
        assert is_valid_signature(hook.headers["X-Digifarm-Signature"], hook.json, token)
        assert hook.headers["webhook-id"].startswith("msg_")
    finally:
        flaky.close()


@pytest.mark.realdata
@pytest.mark.slow
def test_a_file_webhook_failing_three_times_keeps_one_id_across_every_attempt(
    service: Service,
) -> None:
    flaky = Receiver(fail_first=3)
    try:
        token = service.create_client("flaky-files")
        job_id = service.submit(token, callback_url=flaky.url("/files"))
        (hook,) = flaky.wait_for(1, "/files", timeout=90)
        assert hook.json["data"]["filename"] == "2020-02-19_MS.tif"
        assert is_valid_signature(hook.headers["X-Digifarm-Signature"], hook.json, token)
        ids = {h.headers["webhook-id"] for h in flaky.tried}
        assert len(flaky.tried) == 4 and ids == {hook.headers["webhook-id"]}
        log = httpx.get(
            f"{service.url}/deep-resolution/webhooks",
            params={"job_id": job_id},
            headers={"client_token": token},
        ).json()["results"]
        (entry,) = log
        assert entry["state"] == "DELIVERED" and len(entry["log"]) == 4
        assert [a["status_code"] for a in entry["log"]] == [500, 500, 500, 200]
    finally:
        flaky.close()


@pytest.fixture
def strict_client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The API in-process with the SSRF guard on (as in production), messages recorded."""
    runtime = migrated_runtime(tmp_path, webhook_allow_private=False)
    _, token = new_client(runtime, "strict")
    with TestClient(create_app(runtime.settings, runtime)) as client:
        yield client, token


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.org/hook",
    ],
)
def test_callbacks_into_the_network_are_refused_at_submission(
    strict_client: tuple[TestClient, str], url: str
) -> None:
    client, token = strict_client
    body = {"client_token": token, "bbox": CLEAR_BBOX, "cloud_cover": 20, "callback_url": url}
    for path, extra in (
        ("/deep-resolution/available_dates", {}),
        ("/deep-resolution", {"dates": ["2020-02-19"]}),
    ):
        r = client.post(path, json={**body, **extra})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "CALLBACK-REFUSED"
        assert r.json()["statusCode"] == 400


class DrippingReceiver:
    """Answers every POST one byte every 5 s, watching for the sender to hang up.

    `opened` lists the webhook-id of every request as it arrives; `overlaps` those that came
    while the sender still held an earlier request of the same id open.
    """

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.overlaps: list[str] = []
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook_id = self.headers.get("webhook-id", "")
                with receiver._lock:
                    receiver.opened.append(webhook_id)
                    if receiver._open.get(webhook_id):
                        receiver.overlaps.append(webhook_id)
                    receiver._open[webhook_id] = receiver._open.get(webhook_id, 0) + 1
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                        readable, _, _ = select.select([self.connection], [], [], 5)
                        if readable and not self.connection.recv(1):
                            break  # the sender hung up: its deadline passed
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass
                finally:
                    with receiver._lock:
                        receiver._open[webhook_id] -= 1
                self.close_connection = True

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.realdata
@pytest.mark.slow
def test_a_dripping_receiver_delays_no_one_else_and_never_gets_an_id_twice_at_once(
    service: Service,
) -> None:
    drip = DrippingReceiver()
    try:
        slow, quick = service.create_client("slow-receiver"), service.create_client("other")
        for path in ("/a", "/b"):  # two callbacks holding two delivery attempts open
            r = service.find_dates(slow, drip.url(path))
            assert r.status_code == 200, r.text
        time.sleep(2)  # both drips are under way
        job_id = service.submit(quick)
        data = service.wait_status(job_id, quick, lambda d: "status" not in d, timeout=30)
        assert [d["status"] for d in data["dates"]] == ["PROCESSED"]
        time.sleep(20)  # past the first attempts' 15 s deadline, into the retries
        assert len(set(drip.opened)) == 2 and len(drip.opened) > 2  # retried, after a hang-up
        assert drip.overlaps == []  # never the same id twice at once
    finally:
        drip.close()
