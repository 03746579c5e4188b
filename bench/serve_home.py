"""`deepres serve` in a temporary home on a free port, for the bench scripts that need it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPRES_SHARED_DATA", REPO.parent / "shared" / "data"))
DEEPRES = (sys.executable, "-m", "deepres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    home: Path, scenes: Path, extra: Mapping[str, str] = {}
) -> tuple[subprocess.Popen[bytes], dict[str, str], str]:
    """Index `scenes`, start `deepres serve`, create a client: (process, env with TOKEN, url)."""
    port = free_port()
    env = {
        **os.environ,
        "DEEPRES_HOME": str(home),
        "DEEPRES_PORT": str(port),
        "DEEPRES_CATALOG_URL": str(home / "catalog.json"),
        **extra,
    }
    index = [*DEEPRES, "catalog", "index", str(scenes), "-o", str(home / "catalog.json")]
    subprocess.run(index, env=env, check=True, capture_output=True)
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*DEEPRES, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    create = [*DEEPRES, "clients", "create", "--name", "bench"]
    out = subprocess.run(create, env=env, check=True, capture_output=True, text=True)
    env["TOKEN"] = out.stdout.strip().splitlines()[-1]
    return proc, env, url


def stop_serve(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the serve's group, then SIGKILL what is left after 40 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
