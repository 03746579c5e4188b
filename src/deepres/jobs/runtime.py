"""`Runtime`: the long-lived parts one process needs, built once from `Settings`."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from deepres.auth.keys import ServerKeys
from deepres.db import Database
from deepres.settings import Settings

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from deepres.catalog.search import Catalog
    from deepres.jobs.dispatch import Dispatcher
    from deepres.sr.base import SRModel
    from deepres.storage.base import Storage


class Runtime:
    """Database, keys, storage, catalog and task dispatcher of one process."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher | None = None) -> None:
        self.settings = settings
        self._dispatcher = dispatcher
        self._models: dict[str, SRModel] = {}

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url)

    @cached_property
    def keys(self) -> ServerKeys:
        return ServerKeys(self.settings.server_key)

    @cached_property
    def storage(self) -> Storage:
        from deepres.storage import open_storage

        return open_storage(
            self.settings.effective_storage_url,
            public_url=self.settings.effective_public_url,
            signing_key=self.keys.url_signing,
            s3_endpoint_url=self.settings.s3_endpoint_url,
            s3_region=self.settings.s3_region,
        )

    @cached_property
    def catalog(self) -> Catalog:
        from deepres.catalog.search import open_catalog

        return open_catalog(self.settings.catalog_url, collection=self.settings.catalog_collection)

    def model(self, name: str | None) -> SRModel:
        """A super-resolution model by name (the default when None), loaded once per process."""
        from deepres.sr import get_model

        key = name or self.settings.default_model
        if key not in self._models:
            self._models[key] = get_model(
                key, registry_dir=self.settings.models_dir, threads=self.settings.onnx_threads
            )
        return self._models[key]

    def send(self, task: str, row_id: str | int) -> bool:
        """Queue a task; a broker outage only delays it, since the row's lease brings it back."""
        try:
            self.dispatcher.send(task, row_id)
        except Exception as exc:
            log.warning("could not queue %s(%s), the scheduler will retry: %s", task, row_id, exc)
            return False
        return True

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            from deepres.jobs.celery_app import CeleryDispatcher, create_celery

            self._dispatcher = CeleryDispatcher(create_celery(self.settings))
        return self._dispatcher
