"""`deepres serve`'s children: started together, revived, stopped together, never left behind.

Each child is asked by the kernel to receive SIGTERM when `serve` dies (Linux
`PR_SET_PDEATHSIG`), so even a SIGKILLed `serve` leaves no worker running. A child that exits
on its own (killed by the OOM killer, or by an operator) is started again, as a process manager
would; one that keeps exiting (`RESTARTS` times within `RESTART_WINDOW_S`) stops the whole
service, since restarting it is not helping. On an orderly stop every child gets SIGTERM
(workers hand unfinished dates back), then SIGKILL for whatever is still alive when the grace
period ends.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
RESTARTS = 5
RESTART_WINDOW_S = 60.0


def _die_with_parent(nice: int = 0) -> None:  # pragma: no cover - in the child before exec
    if nice:
        os.nice(nice)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the orderly stop still stops the children


@dataclass
class _Child:
    args: tuple[str, ...]
    pass_fds: tuple[int, ...]
    proc: subprocess.Popen[bytes]
    nice: int = 0
    exits: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(self.args)


class Children:
    """`python -m deepres ROLE ...` child processes of this one."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.children: list[_Child] = []

    def _spawn(
        self, args: tuple[str, ...], pass_fds: tuple[int, ...], nice: int
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "deepres", *args],
            env=self.env,
            pass_fds=pass_fds,
            preexec_fn=lambda: _die_with_parent(nice),  # safe: serve itself runs no threads
        )

    def start(
        self, *args: str, pass_fds: tuple[int, ...] = (), nice: int = 0
    ) -> subprocess.Popen[bytes]:
        """Start `deepres ARGS...` (inheriting `pass_fds`, `nice` steps below this process's
        CPU priority); it dies when this process dies."""
        child = _Child(args, pass_fds, self._spawn(args, pass_fds, nice), nice)
        self.children.append(child)
        return child.proc

    def stop(self, grace_s: float) -> None:
        """SIGTERM every child, wait up to `grace_s`, SIGKILL the rest; all are reaped."""
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self.children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", child.name, grace_s)
                child.proc.kill()
                child.proc.wait()

    def revive(self) -> str | None:
        """Start again every child that has exited; name one that keeps exiting, else None."""
        now = time.monotonic()
        for child in self.children:
            code = child.proc.poll()
            if code is None:
                continue
            child.exits = [t for t in child.exits if now - t < RESTART_WINDOW_S] + [now]
            if len(child.exits) > RESTARTS:
                return f"{child.name} (exit code {code}, {len(child.exits)} exits in a minute)"
            log.warning("%s exited (code %s): starting it again", child.name, code)
            child.proc = self._spawn(child.args, child.pass_fds, child.nice)
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
        """Return on a stop signal, or when `failed()` names a child that cannot be kept up."""
        while not self._event.wait(poll_s):
            gone = failed()
            if gone is not None:
                log.error("%s keeps stopping: stopping everything", gone)
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
