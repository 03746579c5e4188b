"""Celery tasks: thin wrappers that hand a row id to the jobs modules."""

from __future__ import annotations

import os

from celery import shared_task

from deepres.jobs.dispatch import TASK_DELIVER, TASK_PLAN_JOB, TASK_PROCESS_DATE, TASK_SEARCH_DATES
from deepres.jobs.runtime import Runtime
from deepres.settings import Settings

_runtime: tuple[int, Runtime] | None = None


def runtime() -> Runtime:
    """This worker process's Runtime, rebuilt after a fork so no connection crosses processes."""
    global _runtime
    if _runtime is None or _runtime[0] != os.getpid():
        _runtime = (os.getpid(), Runtime(Settings()))
    return _runtime[1]


@shared_task(name=TASK_SEARCH_DATES)
def search_dates(pipeline_id: str) -> None:
    from deepres.jobs import pipelines

    pipelines.run(runtime(), pipeline_id)


@shared_task(name=TASK_PLAN_JOB)
def plan_job(job_id: str) -> None:
    from deepres.jobs import planning

    planning.plan(runtime(), job_id)


@shared_task(name=TASK_PROCESS_DATE)
def process_date(date_id: int) -> None:
    from deepres.jobs import processing

    processing.process(runtime(), date_id)


@shared_task(name=TASK_DELIVER)
def deliver(delivery_id: str) -> None:
    from deepres.jobs import outbox

    outbox.deliver(runtime(), delivery_id)
