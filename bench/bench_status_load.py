"""Load on the status endpoint of the embedded default, as JSON.

Starts `deepres serve` (SQLite, embedded queue, local storage) in a temporary home on a free
port, creates a client and a one-date job, then holds `--connections` keep-alive connections
that GET `/deep-resolution/status/{job_id}` for `--seconds`. Meanwhile a side loop creates a
job every `--create-every` seconds, to see that job creation stays free of "database is
locked". Prints requests per second, latency percentiles and every non-200 answer.

The load comes from `wrk` when it is installed (Debian: `apt install wrk`), else from an asyncio
client on raw sockets in this process; `--client` picks one. Both share the machine with the
service, as on a 2-core box they must.

    .venv/bin/python bench/bench_status_load.py --connections 200 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from itertools import repeat
from pathlib import Path
from typing import Any

import httpx
from serve_home import SHARED, start_serve, stop_serve

SOCKET_ERRORS = ("connect", "read", "write", "timeout")  # as wrk reports them
BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}


def _job(url: str, token: str) -> httpx.Response:
    body = {"client_token": token, "bbox": BBOX, "cloud_cover": 20, "dates": ["2020-02-19"]}
    return httpx.post(f"{url}/deep-resolution", json=body, timeout=60)


async def _connection(
    port: int, request: bytes, until: float, latencies: list[float], codes: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            code = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.monotonic() - started)
            codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()


def _asyncio_load(port: int, path: str, token: str, connections: int, seconds: float) -> Any:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nclient_token: {token}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    codes: dict[int, int] = {}

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_connection(port, request, until, latencies, codes) for _ in range(connections)),
            return_exceptions=True,
        )

    started = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "client": "asyncio",
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "codes": codes,
    }


def _wrk_load(port: int, path: str, token: str, connections: int, seconds: float) -> Any:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            "-H",
            f"client_token: {token}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float | None:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)], 1)

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # A connection the server never serves shows only here, not in the latencies.
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "client": "wrk",
        "requests": int(total.group(1)) if total else None,
        "req_per_s": float(rate.group(1)) if rate else None,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": dict(
            zip(SOCKET_ERRORS, map(int, errors.groups()) if errors else repeat(0), strict=False)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--create-every", type=float, default=1.0)
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deepres-load-"))
    extra = {
        "DEEPRES_RATE_LIMIT_PER_MINUTE": "0",
        "DEEPRES_DEFAULT_MODEL": "bicubic",
    }
    proc, env, url = start_serve(home, SHARED / "scenes", extra)
    port, token = int(url.rsplit(":", 1)[1]), env["TOKEN"]
    try:
        job = _job(url, token)
        job.raise_for_status()
        path = f"/deep-resolution/status/{job.json()['data']['job_id']}"
        creations: list[int] = []
        errors: list[str] = []
        stop = threading.Event()

        def create_jobs() -> None:
            while not stop.wait(args.create_every):
                try:
                    r = _job(url, token)
                    creations.append(r.status_code)
                    if r.status_code != 200:
                        errors.append(r.text[:200])
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

        side = threading.Thread(target=create_jobs, daemon=True)
        side.start()
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        load = (_wrk_load if use_wrk else _asyncio_load)(
            port, path, token, args.connections, args.seconds
        )
        stop.set()
        side.join()
        locked = (home / "serve.log").read_text(errors="replace").count("database is locked")
        report = {
            "endpoint": "GET /deep-resolution/status/{job_id}",
            "configuration": "embedded default (deepres serve: SQLite, embedded queue)",
            "connections": args.connections,
            "seconds": args.seconds,
            "cpus": os.cpu_count(),
            **load,
            "jobs_created_during_load": len(creations),
            "job_creation_failures": len([c for c in creations if c != 200]) + len(errors),
            "database_is_locked_in_log": locked,
            "failure_samples": errors[:3],
        }
        print(json.dumps(report, indent=2))
    finally:
        stop_serve(proc)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
