"""Real processes for service tests: `deepres serve` on loopback and a webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

CLEAR_BBOX = {"x_min": -11.765, "y_min": 24.734, "x_max": -11.752, "y_max": 24.747}
"""A field over 29RKH that is clear on 2020-02-19 (and has no scene on 2020-02-20)."""


def group_members(pgid: int) -> set[int]:
    """The live (not zombie) processes of process group `pgid`."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[3])
        if group == pgid and state != "Z":
            members.add(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """True while any live process of process group `pgid` exists."""
    return bool(group_members(pgid))


def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait up to `timeout` s for process group `pgid` to be empty; True when it is."""
    deadline = time.monotonic() + max(timeout, 0)
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def deepres_processes() -> dict[int, str]:
    """pid -> command line of every `python -m deepres ...` process on this machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if "-m" in words and "deepres" in words[words.index("-m") + 1 : words.index("-m") + 2]:
            found[int(entry.name)] = " ".join(words)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_valid_signature(x_digifarm_signature: str, data: dict[str, Any], client_token: str) -> bool:
    """The spec's own verifier, as printed there (with `data.dict()` read as the parsed dict)."""
    payload_str = json.dumps(data, sort_keys=True)
    expected_signature = hmac.new(
        client_token.encode(), msg=payload_str.encode(), digestmod=hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected_signature, x_digifarm_signature)


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records every POST; answers `fail_first` with 500."""

    fail_first: int = 0
    status_after: int = 200
    hooks: list[Hook] = field(default_factory=list)  # the answered ones
    tried: list[Hook] = field(default_factory=list)  # every request, failed ones too
    attempts: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                    receiver.tried.append(Hook(self.path, dict(self.headers), body))
                    if not failing:
                        receiver.hooks.append(Hook(self.path, dict(self.headers), body))
                self.send_response(500 if failing else receiver.status_after)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, n: int, path: str | None = None, timeout: float = 60) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [h for h in self.hooks if path is None or h.path == path]
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError(f"expected {n} webhooks on {path}, got {len(self.hooks)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Service:
    """`deepres <command>` as child processes with their own home, database and port."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DEEPRES_HOME": str(home),
            "DEEPRES_PORT": str(self.port),
            "DEEPRES_PUBLIC_URL": self.url,
            "DEEPRES_WEBHOOK_ALLOW_PRIVATE": "true",
            "DEEPRES_SCHEDULER_TICK_SECONDS": "0.5",
            "DEEPRES_WEBHOOK_RETRY_DELAYS": "0.5,0.5,0.5,0.5",
            "DEEPRES_WORKER_CONCURRENCY": "1",
            "DEEPRES_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "deepres", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def create_client(self, name: str = "tester", permissions: str | None = None) -> str:
        args = ["clients", "create", "--name", name]
        if permissions:
            args += ["--permissions", permissions]
        return self.cli(*args).strip().splitlines()[-1]

    def post(self, path: str, token: str, **fields: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json={"client_token": token, **fields}, timeout=30)

    def submit(self, token: str, **fields: Any) -> str:
        """Submit a job, by default the clear field on 2020-02-19; the job id it was given.

        A field given as None is left out of the request (`bbox=None, aoi=...`)."""
        body = {"bbox": CLEAR_BBOX, "cloud_cover": 20, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        if "dates" not in body and "start_date" not in body:
            body["dates"] = ["2020-02-19"]
        r = self.post("/deep-resolution", token, **body)
        assert r.status_code == 200, r.text
        return str(r.json()["data"]["job_id"])

    def find_dates(self, token: str, callback_url: str, **fields: Any) -> httpx.Response:
        """Ask for the clear field's dates in February 2020, answered at `callback_url`."""
        body = {"bbox": CLEAR_BBOX, "cloud_cover": 20, "start_date": "2020-02-01"}
        body |= {"end_date": "2020-03-01", "callback_url": callback_url, **fields}
        return self.post("/deep-resolution/available_dates", token, **body)

    def start(self, role: str = "serve", wait: bool = True) -> subprocess.Popen[bytes]:
        log = self.home / f"{role}-{len(self.logs)}.log"
        self.logs[f"{role}-{len(self.logs)}"] = log
        proc = subprocess.Popen(
            [sys.executable, "-m", "deepres", role],
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[f"{role}-{len(self.procs)}"] = proc
        if wait and role in ("serve", "api"):
            self.wait_ready()
        return proc

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("service did not start:\n" + self.log_tail())

    def log_tail(self, n: int = 4000) -> str:
        return "\n".join(
            f"== {k}\n{p.read_text(errors='replace')[-n:]}" for k, p in self.logs.items()
        )

    def kill(self, role: str) -> None:
        """SIGKILL every process of `role` (and its children): a crash, not a shutdown."""
        for name, proc in self.procs.items():
            if name.startswith(f"{role}-") and proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM each process group, wait until every process in it is gone, else SIGKILL."""
        for proc in self.procs.values():
            if group_alive(proc.pid):
                os.killpg(proc.pid, 15)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            if not wait_group_gone(proc.pid, deadline - time.monotonic()):
                os.killpg(proc.pid, 9)
                wait_group_gone(proc.pid, 10)

    def wait_status(
        self, job_id: str, token: str, until: Any, timeout: float = 120
    ) -> dict[str, Any]:
        """Poll the job status until `until(data)` is true; the last `data` otherwise fails."""
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            r = httpx.get(
                f"{self.url}/deep-resolution/status/{job_id}", headers={"client_token": token}
            )
            assert r.status_code == 200, r.text
            data = r.json()["data"]
            if until(data):
                return data
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} never got there: {data}\n{self.log_tail()}")
