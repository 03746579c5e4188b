"""A worker's life: the stop request it honours between tiles, and the lease heartbeat.

`STOPPING` is set when the worker is asked to stop (SIGTERM: Celery's warm shutdown, see
`celery_app`); work in progress then hands its date back instead of finishing it, so a process
manager's grace period (30 s, Sidekiq's 25 s) is never the limit. `Heartbeat` renews the lease
of a date while it is processed, so the lease can be short: a worker that dies without a word
(SIGKILL, power loss) lets its date go within one lease, whatever the date's size.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from types import TracebackType

from sqlalchemy import update

from deepres.db import utcnow
from deepres.jobs.models import DateState, JobDate
from deepres.jobs.runtime import Runtime

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews a date's lease every quarter lease while the `with` block runs."""

    def __init__(self, runtime: Runtime, date_id: int, worker: str) -> None:
        self.runtime, self.date_id, self.worker = runtime, date_id, worker
        self.lease_s = runtime.settings.task_lease_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{date_id}", daemon=True)
        self.lost = False  # the row is no longer ours (cancelled, or taken over after a stall)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._done.wait(self.lease_s / 4):
            try:
                with self.runtime.db.session() as s:
                    res = s.execute(
                        update(JobDate)
                        .where(
                            JobDate.id == self.date_id,
                            JobDate.state == DateState.PROCESSING,
                            JobDate.worker == self.worker,
                        )
                        .values(lease_until=utcnow() + dt.timedelta(seconds=self.lease_s))
                    )
                    self.lost = res.rowcount != 1  # type: ignore[attr-defined]
            except Exception:  # a database hiccup: the next beat tries again
                log.warning("heartbeat of job date %s failed", self.date_id, exc_info=True)
