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
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping

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

    def start(self, *args: str, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
        """Start `deepres ARGS...` (inheriting `pass_fds`); it dies when this process dies."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "deepres", *args],
            env=self.env,
            pass_fds=pass_fds,
            preexec_fn=_die_with_parent,  # serve starts its children before any thread runs
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
    """SIGTERM and SIGINT become a request to stop (`requested`), never an abrupt exit, so the
    caller's `finally` always runs and the children are stopped."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self._event = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame: object) -> None:
        self.requested = sig
        self._event.set()

    def wait(self, failed: Callable[[], str | None], poll_s: float = 0.5) -> None:
        """Return on a stop signal, or when `failed()` names a child that has exited."""
        while not self._event.wait(poll_s):
            gone = failed()
            if gone is not None:
                log.error("%s stopped on its own: stopping everything", gone)
                return


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket the API children share (the kernel spreads the accepts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
