"""The Celery application: broker wiring only; the work itself lives in the jobs modules."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

from deepres.db import private_sqlite_file
from deepres.jobs.dispatch import ALL_QUEUES, ROUTES, STOPPING
from deepres.settings import Settings

SQLA_POLLING_INTERVAL_S = 0.1


def _tune_sqla_transport() -> None:
    # kombu's sqla transport ignores `polling_interval` in transport options; it reads the
    # class attribute, whose default (1 s) would add a second of latency to every task.
    from kombu.transport import sqlalchemy as sqla

    sqla.Transport.polling_interval = SQLA_POLLING_INTERVAL_S


def create_celery(settings: Settings) -> Celery:
    """A Celery app on the configured broker: late acks, prefetch 1, one queue per kind of work."""
    broker = settings.effective_broker_url
    options: dict[str, Any] = {}
    if broker.startswith("sqla+sqlite"):
        _tune_sqla_transport()
        private_sqlite_file(broker.removeprefix("sqla+"))
        options = {"connect_args": {"timeout": 30}}
    elif broker.startswith(("redis://", "rediss://")):
        # Longer than the longest task, so Redis never redelivers work that is still running.
        options = {"visibility_timeout": max(2 * settings.task_lease_seconds, 3600)}
        if settings.broker_key_prefix:
            options["global_keyprefix"] = settings.broker_key_prefix
    app = Celery("deepres", broker=broker, include=["deepres.jobs.tasks"])
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=ALL_QUEUES[0],
        task_routes={name: {"queue": queue} for name, queue in ROUTES.items()},
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.conf.deepres_settings = settings
    return app


@worker_shutting_down.connect
def _hand_work_back(**_: Any) -> None:
    """Warm shutdown (SIGTERM) begins: work in progress stops at its next tile and hands back."""
    STOPPING.set()


class CeleryDispatcher:
    """Dispatcher over a Celery app; failures to publish surface to the caller."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def send(self, task: str, row_id: str | int) -> None:
        self.app.send_task(task, args=[row_id], queue=ROUTES[task])

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
