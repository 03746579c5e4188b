"""The outbox against a real receiver: 410 Gone disables the endpoint for the job, retries wait."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from deepres.jobs import outbox
from deepres.jobs.models import Delivery, DeliveryState
from deepres.jobs.runtime import Runtime
from tests.harness import Receiver
from tests.inprocess import migrated_runtime, new_client


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return migrated_runtime(tmp_path, webhook_allow_private=True, webhook_retry_delays="60,60")


def _enqueue(rt: Runtime, client_id: str, url: str, key: str) -> str:
    with rt.db.session() as s:
        d = outbox.enqueue(
            s,
            client_id=client_id,
            url=url,
            event="file.processed",
            payload={"k": key},
            dedupe_key=key,
            job_id="job-1",
        )
        assert d is not None
        return d.id


def test_410_gone_disables_every_pending_message_of_the_job_to_that_url(rt: Runtime) -> None:
    gone = Receiver(fail_first=0, status_after=410)
    try:
        client_id, _ = new_client(rt, "c")
        first = _enqueue(rt, client_id, gone.url("/a"), "file:1")
        second = _enqueue(rt, client_id, gone.url("/a"), "file:2")
        result = outbox.deliver(rt, first)
        assert result is not None and result.gone
        with rt.db.session() as s:
            states = {d.id: d.state for d in s.scalars(select(Delivery))}
        assert states == {first: DeliveryState.DISABLED, second: DeliveryState.DISABLED}
        assert outbox.deliver(rt, second) is None  # nothing more is sent there
        assert len(gone.tried) == 1
    finally:
        gone.close()


def test_a_failed_attempt_waits_for_the_schedule_and_keeps_its_id(rt: Runtime) -> None:
    flaky = Receiver(fail_first=1)
    try:
        client_id, _ = new_client(rt, "c")
        msg = _enqueue(rt, client_id, flaky.url("/b"), "file:3")
        assert outbox.deliver(rt, msg) is not None
        assert outbox.deliver(rt, msg) is None  # not due yet: the schedule says 60 s (±10 %)
        with rt.db.session() as s:
            d = s.get(Delivery, msg)
            assert d is not None and d.attempts == 1 and d.state == DeliveryState.PENDING
            wait = d.next_attempt_at - dt.datetime.now(dt.UTC).replace(tzinfo=None)
            assert 50 < wait.total_seconds() < 70
            d.next_attempt_at = dt.datetime(2000, 1, 1)  # time passes
        result = outbox.deliver(rt, msg)
        assert result is not None and result.ok
        assert [h.headers["webhook-id"] for h in flaky.tried] == [msg, msg]
    finally:
        flaky.close()
