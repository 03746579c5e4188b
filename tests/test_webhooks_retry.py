"""The retry policy: when the next delivery attempt happens, and when we give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from deepres.webhooks.retry import (
    DEFAULT_DELAYS,
    MAX_RETRY_AFTER_S,
    next_delay,
    parse_retry_after,
)

DELAYS = (10.0, 60.0, 600.0)


def test_follows_the_schedule_within_jitter_then_gives_up() -> None:
    rng = random.Random(1)
    for attempt, base in enumerate(DELAYS, start=1):
        for _ in range(50):
            delay = next_delay(attempt, DELAYS, rng=rng)
            assert delay is not None
            assert base * 0.9 <= delay <= base * 1.1
    assert next_delay(len(DELAYS) + 1, DELAYS) is None
    assert next_delay(len(DEFAULT_DELAYS) + 1) is None


def test_jitter_spreads_retries() -> None:
    rng = random.Random(2)
    delays = {next_delay(1, DELAYS, rng=rng) for _ in range(20)}
    assert len(delays) > 1
    assert next_delay(1, DELAYS, jitter=0) == 10.0


def test_retry_after_is_a_floor_capped_at_a_day() -> None:
    assert next_delay(1, DELAYS, retry_after_s=120, jitter=0) == 120
    assert next_delay(3, DELAYS, retry_after_s=120, jitter=0) == 600
    assert next_delay(1, DELAYS, retry_after_s=10 * 86_400, jitter=0) == MAX_RETRY_AFTER_S
    # Retry-After never extends the schedule past its end.
    assert next_delay(4, DELAYS, retry_after_s=5) is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        next_delay(0, DELAYS)
    with pytest.raises(ValueError):
        next_delay(1, DELAYS, jitter=1.5)


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
