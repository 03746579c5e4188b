"""The webhook retry policy: how long to wait before the next delivery attempt, if any."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Waits after the 1st, 2nd, ... failed attempt: the Standard Webhooks schedule (5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h), so a receiver that is down for most of a day still gets it.
DEFAULT_DELAYS: tuple[float, ...] = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)

# A receiver's Retry-After is honoured up to a day; beyond that it would park the delivery
# for longer than the whole schedule.
MAX_RETRY_AFTER_S = 86_400.0

_RNG = random.Random()


def next_delay(
    attempt: int,
    delays: Sequence[float] = DEFAULT_DELAYS,
    *,
    retry_after_s: float | None = None,
    jitter: float = 0.1,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted.

    `attempt` counts the attempts that have failed so far (1 after the first failure), so
    `delays[attempt - 1]` is the base wait. The wait is spread by ±`jitter` (a fraction) so
    that deliveries which failed together do not retry together, and never undercuts the
    receiver's `Retry-After` (capped at MAX_RETRY_AFTER_S).
    """
    if attempt < 1:
        raise ValueError(f"attempt counts failed attempts and starts at 1, got {attempt}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter is a fraction in [0, 1), got {jitter}")
    if attempt > len(delays):
        return None
    base = float(delays[attempt - 1])
    delay = base * (1 + (rng or _RNG).uniform(-jitter, jitter))
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks us to wait (delta-seconds or HTTP-date), or None.

    None when the header is absent or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are GMT; "-0000" parses as naive, so say so explicitly.
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
