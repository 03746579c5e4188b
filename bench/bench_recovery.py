"""How fast a date comes back after its worker is stopped or killed, at default settings, as JSON.

Starts `deepres serve` with its defaults (SQLite, embedded queue, the default model, 60 s lease
renewed every 15 s, 5 s scheduler tick) on the native T18SVG scene, and submits one 10 km x 10 km
date at x4. While it is processing:

* `sigkill`: SIGKILL its worker (the pool process and its parent). serve starts a new worker; the
  date waits for its lease to run out, then the scheduler sends it again.
* `sigterm`: SIGTERM its worker, as a process manager does. The worker hands the date back
  (PENDING at once) and exits; serve starts a new one, which takes the date.

For each it prints the seconds from the signal to: the worker gone, the date PENDING or taken
again, the date PROCESSED; and how many webhooks the receiver got (one is right).

    .venv/bin/python bench/bench_recovery.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from serve_home import SHARED, start_serve, stop_serve

# 10 km x 10 km inside T18SVG_20160112_L1C (no SCL: offered at cloud_cover 100).
BBOX = {"x_min": -75.675, "y_min": 37.628, "x_max": -75.562, "y_max": 37.718}


class Receiver:
    """Counts the webhook POSTs by webhook-id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        ids = self.ids

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                ids.append(self.headers.get("webhook-id", ""))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _row(db: Path, job_id: str) -> tuple[Any, ...]:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(
            "SELECT state, attempts, worker FROM job_dates WHERE job_id = ?", (job_id,)
        ).fetchone()
    return tuple(row) if row else ()


def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {timeout:.0f} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _worker_pids(pid: int) -> list[int]:
    """The pool process holding the date and its parent, when that is a `deepres worker`."""
    parent = int(Path(f"/proc/{pid}/stat").read_text().split()[3])
    cmdline = Path(f"/proc/{parent}/cmdline").read_bytes().replace(b"\0", b" ")
    return [pid, parent] if b"worker" in cmdline and b"serve" not in cmdline else [pid]


def trial(sig: signal.Signals, url: str, token: str, db: Path, hooks: Receiver) -> dict[str, Any]:
    body = {
        "client_token": token,
        "bbox": BBOX,
        "cloud_cover": 100,
        "dates": ["2016-01-12"],
        "callback_url": hooks.url,
    }
    r = httpx.post(f"{url}/deep-resolution", json=body, timeout=60)
    r.raise_for_status()
    job_id = r.json()["data"]["job_id"]
    before = len(hooks.ids)
    _until(lambda: _row(db, job_id)[:1] == ("PROCESSING",), 300, "PROCESSING")
    time.sleep(5)  # well inside the date
    worker = _row(db, job_id)[2]
    pids = _worker_pids(int(worker.rsplit(":", 1)[1]))
    signalled = time.monotonic()
    for pid in pids:
        os.kill(pid, sig)
    gone = _until(lambda: not any(_alive(p) for p in pids), 120, "worker exit")
    back = _until(
        lambda: _row(db, job_id)[0] == "PENDING" or _row(db, job_id)[2] not in (worker, None),
        600,
        "date handed back or taken again",
    )
    retaken = _until(
        lambda: _row(db, job_id)[0] == "PROCESSING" and _row(db, job_id)[2] != worker,
        600,
        "date taken by another worker",
    )
    done = _until(lambda: _row(db, job_id)[0] == "PROCESSED", 900, "PROCESSED")
    time.sleep(5)  # a second announcement would come by now
    final = _row(db, job_id)
    return {
        "signal": sig.name,
        "worker_processes_signalled": len(pids),
        "s_to_worker_gone": round(gone - signalled, 1),
        "s_to_date_back": round(back - signalled, 1),
        "s_to_date_taken_again": round(retaken - signalled, 1),
        "s_to_processed": round(done - signalled, 1),
        "final_state": final[0],
        "attempts": final[1],
        "webhooks": len(hooks.ids) - before,
        "distinct_webhook_ids": len(set(hooks.ids[before:])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", default="sigkill,sigterm")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deepres-recovery-"))
    hooks = Receiver()
    scenes = home / "scenes"
    scenes.mkdir()
    (scenes / "T18SVG_20160112_L1C").symlink_to(SHARED / "native" / "T18SVG_20160112_L1C")
    # Loopback callbacks are the only change from the defaults.
    proc, env, url = start_serve(home, scenes, {"DEEPRES_WEBHOOK_ALLOW_PRIVATE": "true"})
    try:
        runs = [
            trial(signal.Signals[s.strip().upper()], url, env["TOKEN"], home / "deepres.db", hooks)
            for s in args.signals.split(",")
        ]
        print(
            json.dumps(
                {
                    "configuration": "deepres serve at default settings (lease 60 s, "
                    "heartbeat 15 s, scheduler tick 5 s), default model, x4",
                    "date": "T18SVG 2016-01-12, 10 km x 10 km",
                    "cpus": os.cpu_count(),
                    "trials": runs,
                },
                indent=2,
            )
        )
    finally:
        stop_serve(proc)
        hooks.server.shutdown()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
