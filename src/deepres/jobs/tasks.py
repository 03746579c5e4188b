"""Celery tasks: thin wrappers that hand a row id to the jobs modules.

Each task runs on the `Runtime` of the settings its Celery app was created with
(`celery_app.create_celery(settings)`), built once per worker process after the fork so that no
database connection crosses processes.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Task, shared_task

from deepres.jobs.dispatch import TASK_DELIVER, TASK_PLAN_JOB, TASK_PROCESS_DATE, TASK_SEARCH_DATES
from deepres.jobs.runtime import Runtime
from deepres.settings import Settings

_RUNTIMES: dict[tuple[int, int], Runtime] = {}


def runtime_of(task: Task[Any, Any]) -> Runtime:
    """The Runtime of the settings `task`'s app was made with, one per app and process."""
    from deepres.jobs.celery_app import CeleryDispatcher

    key = (id(task.app), os.getpid())
    runtime = _RUNTIMES.get(key)
    if runtime is None:
        settings = task.app.conf.get("deepres_settings") or Settings()
        runtime = _RUNTIMES[key] = Runtime(settings, dispatcher=CeleryDispatcher(task.app))
    return runtime


@shared_task(name=TASK_SEARCH_DATES, bind=True)
def search_dates(self: Task[Any, Any], pipeline_id: str) -> None:
    from deepres.jobs import pipelines

    pipelines.run(runtime_of(self), pipeline_id)


@shared_task(name=TASK_PLAN_JOB, bind=True)
def plan_job(self: Task[Any, Any], job_id: str) -> None:
    from deepres.jobs import planning

    planning.plan(runtime_of(self), job_id)


@shared_task(name=TASK_PROCESS_DATE, bind=True)
def process_date(self: Task[Any, Any], date_id: int) -> None:
    from deepres.jobs import processing

    processing.process(runtime_of(self), date_id)


@shared_task(name=TASK_DELIVER, bind=True)
def deliver(self: Task[Any, Any], delivery_id: str) -> None:
    from deepres.jobs import outbox

    outbox.deliver(runtime_of(self), delivery_id)
