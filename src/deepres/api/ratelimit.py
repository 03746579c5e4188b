"""Per-client request rate limits: a sliding one-minute window kept by each API process.

Each API process counts on its own, so N API processes admit up to N times the limit; put the
limit per process accordingly (documented in the README).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from deepres.errors import RateLimited

WINDOW_S = 60.0


class RateLimiter:
    """Admits at most `per_minute` events per key (a client, an address) in any 60 s window."""

    def __init__(self, per_minute: int, what: str = "requests", per: str = "client") -> None:
        self.per_minute = per_minute
        self.what, self.per = what, per
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> None:
        """Count one request, or raise RateLimited with the seconds until one is allowed."""
        self.refuse_if_over(key, now, count=True)

    def count(self, key: str, now: float | None = None) -> None:
        """Count one event for `key` without refusing it."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            self._window(key, now).append(now)

    def refuse_if_over(self, key: str, now: float | None = None, *, count: bool = False) -> None:
        """Raise RateLimited when `key` had its `per_minute` events in the last 60 s."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._window(key, now)
            if len(hits) >= self.per_minute:
                retry_after = max(1, math.ceil(hits[0] + WINDOW_S - now))
                raise RateLimited(
                    f"Too many {self.what}: at most {self.per_minute} a minute per {self.per}. "
                    f"Try again in {retry_after} s.",
                    retry_after=retry_after,
                )
            if count:
                hits.append(now)

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_S:
            hits.popleft()
        if not hits and len(self._hits) > 10_000:
            self._hits.pop(key, None)  # bound the table: forget quiet keys
            hits = self._hits.setdefault(key, deque())
        return hits
