"""The service's parts in-process: a migrated database, and a dispatcher that records tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepres.auth.clients import create_client
from deepres.jobs.migrate import upgrade
from deepres.jobs.runtime import Runtime
from deepres.settings import Settings


class Recorder:
    """A dispatcher that keeps the messages instead of queueing them, so tests drive the work."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | int]] = []

    def send(self, task: str, row_id: str | int) -> None:
        self.sent.append((task, row_id))

    def ping(self) -> None:
        pass

    def take(self, task: str) -> list[str | int]:
        ids = [i for t, i in self.sent if t == task]
        self.sent = [(t, i) for t, i in self.sent if t != task]
        return ids


def migrated_runtime(home: Path | str, **settings: Any) -> Runtime:
    """A Runtime over a fresh, migrated database in `home`; its tasks go to a `Recorder`."""
    conf = Settings(home=Path(home), **settings)
    upgrade(conf.effective_database_url)
    return Runtime(conf, dispatcher=Recorder())


def recorder(runtime: Runtime) -> Recorder:
    assert isinstance(runtime.dispatcher, Recorder)
    return runtime.dispatcher


def new_client(runtime: Runtime, name: str = "tester", **options: Any) -> tuple[str, str]:
    """A new client's id and token."""
    with runtime.db.session() as s:
        client, token = create_client(s, runtime.keys, name, **options)
        return client.id, token
