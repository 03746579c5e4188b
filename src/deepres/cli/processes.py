"""`deepres serve`'s children: started together, stopped together, never left behind.

Each child is asked by the kernel to receive SIGTERM when `serve` dies (Linux
`PR_SET_PDEATHSIG`), so even a SIGKILLed `serve` leaves no worker running. On an orderly stop
every child gets SIGTERM (workers hand unfinished dates back), then SIGKILL for whatever is
still alive when the grace period ends.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the orderly stop still stops the children


class Children:
    """`python -m deepres ROLE ...` child processes of this one."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start `deepres ARGS...`; it dies when this process dies."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "deepres", *args],
            env=self.env,
            preexec_fn=_die_with_parent,
        )
        self.procs.append((" ".join(args), proc))
        return proc

    def stop(self, grace_s: float) -> None:
        """SIGTERM every child, wait up to `grace_s`, SIGKILL the rest; all are reaped."""
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", name, grace_s)
                proc.kill()
                proc.wait()

    def watch(self) -> str | None:
        """The first child that has exited, by name, or None while all run."""
        for name, proc in self.procs:
            if proc.poll() is not None:
                return f"{name} (exit code {proc.returncode})"
        return None


class StopOnSignal:
    """SIGTERM and SIGINT become a request to stop (`requested`), never an abrupt exit.

    uvicorn restores the handlers it found and re-raises the signal it caught after its own
    graceful shutdown; with these handlers in place that re-raise lands here, so the caller's
    `finally` always runs and the children are stopped.
    """

    def __init__(self) -> None:
        self.requested: int | None = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame: object) -> None:
        self.requested = sig
