"""How work reaches the queue. The database row is the truth; a message only says 'look at it'."""

from __future__ import annotations

import threading
from typing import Protocol

#: Queues by kind of work, so GPU machines can run `deepres worker --queues sr`.
QUEUE_CATALOG = "catalog"
QUEUE_SR = "sr"
QUEUE_DELIVERY = "delivery"
ALL_QUEUES = (QUEUE_CATALOG, QUEUE_SR, QUEUE_DELIVERY)

TASK_SEARCH_DATES = "deepres.search_dates"
TASK_PLAN_JOB = "deepres.plan_job"
TASK_PROCESS_DATE = "deepres.process_date"
TASK_DELIVER = "deepres.deliver"

#: Set once this worker process has been asked to stop (Celery's warm shutdown): work in
#: progress then hands its date back between two tiles (see `lifecycle`).
STOPPING = threading.Event()

ROUTES = {
    TASK_SEARCH_DATES: QUEUE_CATALOG,
    TASK_PLAN_JOB: QUEUE_CATALOG,
    TASK_PROCESS_DATE: QUEUE_SR,
    TASK_DELIVER: QUEUE_DELIVERY,
}


class Dispatcher(Protocol):
    """Sends a task by name with one argument: the id of the row to work on."""

    def send(self, task: str, row_id: str | int) -> None: ...

    def ping(self) -> None:
        """Raise unless the broker can be reached."""
