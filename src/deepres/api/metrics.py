"""`/metrics` in the Prometheus text format, read from the database and the broker.

Every figure comes from shared state rather than process memory, so any API process answers
for the whole deployment (any number of workers on any machines).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from deepres.jobs.dispatch import ALL_QUEUES
from deepres.jobs.models import Delivery, DeliveryAttempt, Job, JobDate
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)

BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def _by_state(s: Session, column: object, name: str, help_text: str) -> list[str]:
    rows = s.execute(select(column, func.count()).group_by(column)).all()  # type: ignore[call-overload]
    return _family(name, "gauge", help_text, (f'{name}{{state="{k}"}} {v}' for k, v in rows))


def _histogram(s: Session) -> list[str]:
    name = "deepres_date_processing_seconds"
    seconds = JobDate.processing_seconds
    columns = [func.sum(case((seconds <= b, 1), else_=0)) for b in BUCKETS]
    row = s.execute(
        select(*columns, func.count(seconds), func.coalesce(func.sum(seconds), 0.0)).where(
            seconds.is_not(None)
        )
    ).one()
    samples = [f'{name}_bucket{{le="{b}"}} {int(row[i] or 0)}' for i, b in enumerate(BUCKETS)]
    total = int(row[len(BUCKETS)] or 0)
    samples += [f'{name}_bucket{{le="+Inf"}} {total}', f"{name}_count {total}"]
    samples.append(f"{name}_sum {float(row[len(BUCKETS) + 1] or 0.0)}")
    return _family(name, "histogram", "Seconds to produce one date's COG.", samples)


def _attempts(s: Session) -> list[str]:
    name = "deepres_webhook_attempts_total"
    code = DeliveryAttempt.status_code
    outcome = case(
        (code.is_(None), "error"),
        (code < 300, "2xx"),
        (code < 400, "3xx"),
        (code < 500, "4xx"),
        else_="5xx",
    )
    rows = s.execute(select(outcome, func.count()).group_by(outcome)).all()
    return _family(
        name,
        "counter",
        "Webhook delivery attempts by outcome.",
        (f'{name}{{outcome="{k}"}} {v}' for k, v in rows),
    )


def _depth(channel: Any, queue: str) -> int:
    # kombu's virtual transports (Redis, SQLAlchemy) refuse a passive declare for a queue no
    # consumer has bound yet, but can count it; AMQP brokers answer the passive declare.
    if hasattr(channel, "_size"):
        return int(channel._size(queue))
    return int(channel.queue_declare(queue=queue, passive=True).message_count)


def _queues(runtime: Runtime) -> list[str]:
    name = "deepres_queue_depth"
    samples = []
    try:
        with runtime.dispatcher.app.connection_for_read() as conn:  # type: ignore[attr-defined]
            channel = conn.default_channel
            for queue in ALL_QUEUES:
                samples.append(f'{name}{{queue="{queue}"}} {_depth(channel, queue)}')
    except Exception as exc:
        log.warning("queue depth unavailable: %s", exc)
    return _family(name, "gauge", "Messages waiting in each broker queue.", samples)


def render(runtime: Runtime) -> str:
    """The whole exposition text."""
    lines: list[str] = []
    with runtime.db.session() as s:
        lines += _by_state(s, Job.state, "deepres_jobs", "Jobs by internal state.")
        lines += _by_state(s, JobDate.state, "deepres_job_dates", "Job dates by state.")
        lines += _by_state(s, Delivery.state, "deepres_webhooks", "Webhook messages by state.")
        lines += _histogram(s)
        lines += _attempts(s)
    lines += _queues(runtime)
    return "\n".join(lines) + "\n"
