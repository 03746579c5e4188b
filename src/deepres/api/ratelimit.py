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
    """Admits at most `per_minute` requests per client in any 60-second window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client_id: str, now: float | None = None) -> None:
        """Count one request, or raise RateLimited with the seconds until one is allowed."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(client_id, deque())
            while hits and hits[0] <= now - WINDOW_S:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry_after = max(1, math.ceil(hits[0] + WINDOW_S - now))
                raise RateLimited(
                    f"Too many requests: at most {self.per_minute} a minute per client. "
                    f"Try again in {retry_after} s.",
                    retry_after=retry_after,
                )
            hits.append(now)
