"""A newcomer's first moves: another port by one setting or one option, and links that follow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import rasterio

from tests.harness import Service, free_port

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_deepres_port_alone_moves_the_service_and_its_links(
    tmp_path: Path, scenes_catalog: Path
) -> None:
    svc = Service(tmp_path, {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    del svc.env["DEEPRES_PUBLIC_URL"]  # only DEEPRES_PORT says where the service is
    svc.start("serve")
    try:
        token = svc.create_client("newcomer")
        job_id = svc.submit(token)
        data = svc.wait_status(job_id, token, lambda d: "status" not in d)
        (entry,) = data["dates"]
        assert entry["link"].startswith(f"http://127.0.0.1:{svc.port}/files/")
        download = httpx.get(entry["link"], timeout=30)
        assert download.status_code == 200
        out = tmp_path / "p.tif"
        out.write_bytes(download.content)
        with rasterio.open(out) as ds:
            assert ds.count == 10
        stac = httpx.get(
            f"{svc.url}/deep-resolution/jobs/{job_id}/stac", headers={"client_token": token}
        ).json()
        assert all(link["href"].startswith(svc.url) for link in stac["links"] if "href" in link)
    finally:
        svc.stop()


def test_serve_takes_host_and_port_options(tmp_path: Path, scenes_catalog: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPRES_")}
    env |= {"DEEPRES_HOME": str(tmp_path), "DEEPRES_CATALOG_URL": str(scenes_catalog)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepres", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError("serve --port did not answer")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=40)
