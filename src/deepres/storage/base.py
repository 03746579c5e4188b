"""The `Storage` interface every backend (local directory, S3) implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """Where products live, and the links that hand them to clients.

    Keys are relative, `/`-separated (`{job_id}/{mgrs}/{YYYY-MM-DD}_MS.tif`); the layout is the
    caller's. Backends raise `StorageError` when the store fails and `InvalidInput` for a bad key.
    """

    def put_file(self, local_path: Path, key: str) -> None:
        """Stores the file at `local_path` under `key`, replacing what was there."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def url(self, key: str, expires_seconds: int) -> str:
        """A link that downloads `key` without credentials until `expires_seconds` from now."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Deletes every object whose key starts with `prefix` (use a trailing `/` for a folder)."""
        ...

    def get_local_path(self, key: str) -> Path | None:
        """The file behind `key` on this machine, None when absent or not stored locally."""
        ...
