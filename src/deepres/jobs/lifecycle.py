"""A worker's life: claiming a row, renewing its lease by a heartbeat, honouring a stop.

`dispatch.STOPPING` is set when the worker is asked to stop (SIGTERM: Celery's warm shutdown,
see `celery_app`); work in progress then hands its date back instead of finishing it, so a
process manager's grace period (30 s, Sidekiq's 25 s) is never the limit. `heartbeat` renews
the lease of a date while it is processed, so the lease can be short: a worker that dies
without a word (SIGKILL, power loss) lets its date go within one lease, whatever its size.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import update

from deepres.db import utcnow
from deepres.jobs.models import DateState, JobDate, Pipeline
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)


Row = TypeVar("Row", JobDate, Pipeline)


def claim(
    runtime: Runtime,
    model: type[Row],
    row_id: int | str,
    *,
    waiting: str,
    running: str,
    lease_s: float,
    **values: Any,
) -> Row | None:
    """Take a row for this worker with one conditional UPDATE; None when another has it.

    The row is taken when it is `waiting`, or `running` with an expired lease (its worker
    died); it becomes `running` with a fresh lease and one more attempt. PostgreSQL serialises
    concurrent updates of a row and re-checks the condition, SQLite serialises writers: exactly
    one worker wins.
    """
    now = utcnow()
    with runtime.db.session() as s:
        res = s.execute(
            update(model)
            .where(
                model.id == row_id,
                (model.state == waiting) | ((model.state == running) & (model.lease_until < now)),
            )
            .values(
                state=running,
                lease_until=now + dt.timedelta(seconds=lease_s),
                attempts=model.attempts + 1,
                **values,
            )
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(model, row_id)


@contextmanager
def heartbeat(runtime: Runtime, date_id: int, worker: str) -> Iterator[None]:
    """Renew a date's lease every quarter lease while the `with` block runs."""
    done = threading.Event()
    beat = threading.Thread(
        target=_beat,
        args=(runtime, date_id, worker, done),
        name=f"heartbeat-{date_id}",
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join()


def _beat(runtime: Runtime, date_id: int, worker: str, done: threading.Event) -> None:
    lease_s = runtime.settings.task_lease_seconds
    while not done.wait(lease_s / 4):
        try:
            with runtime.db.session() as s:
                s.execute(
                    update(JobDate)
                    .where(
                        JobDate.id == date_id,
                        JobDate.state == DateState.PROCESSING,
                        JobDate.worker == worker,
                    )
                    .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s))
                )
        except Exception:  # a database hiccup: the next beat tries again
            log.warning("heartbeat of job date %s failed", date_id, exc_info=True)
