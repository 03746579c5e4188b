"""Products in a local directory, handed out through HMAC-signed, expiring links."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from deepres.errors import InvalidInput, StorageError
from deepres.storage.keys import validate_key, validate_prefix


class LocalStorage:
    """A directory of products; `url` gives `{public_url}/files/{key}?expires=…&signature=…`.

    The signature is hex HMAC-SHA256 over `f"{key}\\n{expires}"` with `signing_key`; the API's
    file route checks it with `verify_signed` before serving `get_local_path(key)`.
    """

    def __init__(self, root: Path | str, public_url: str, signing_key: bytes) -> None:
        if not signing_key:
            raise InvalidInput("Local storage needs a non-empty signing key for its links.")
        self.root = Path(root).resolve()
        self.public_url = public_url.rstrip("/")
        self._signing_key = signing_key
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Cannot create the storage directory {self.root}: {exc}") from exc

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Keys cannot climb out by construction; a symlink planted inside the root still could.
        if not path.resolve().is_relative_to(self.root):
            raise InvalidInput(f"Storage key {key!r} points outside the store.")
        return path

    def put_file(self, local_path: Path, key: str) -> None:
        """Copies `local_path` to `key`; readers never see a half-written file."""
        target = self._path(key)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local_path, partial)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(f"Cannot store {local_path} as {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        return self._path(key).is_file()

    def get_local_path(self, key: str) -> Path | None:
        """The stored file for `key`, None when there is none."""
        path = self._path(key)
        return path if path.is_file() else None

    def sign(self, key: str, expires: int) -> str:
        """Hex HMAC-SHA256 of `key` and the expiry (unix seconds) under the signing key."""
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def url(self, key: str, expires_seconds: int) -> str:
        """A signed link to `key` that the API serves until `expires_seconds` from now."""
        validate_key(key)
        if expires_seconds <= 0:
            raise InvalidInput("A link must expire a positive number of seconds from now.")
        expires = int(time.time()) + expires_seconds
        return (
            f"{self.public_url}/files/{quote(key, safe='/')}"
            f"?expires={expires}&signature={self.sign(key, expires)}"
        )

    def verify_signed(
        self, key: str, expires: int | str, signature: str, now: float | None = None
    ) -> bool:
        """Whether `signature` is this store's signature for `key` and `expires`, still valid."""
        try:
            validate_key(key)
            expiry = int(expires)
        except (InvalidInput, ValueError):
            return False
        if expiry < (time.time() if now is None else now):
            return False
        # Compared as bytes: compare_digest refuses non-ASCII str, and any such signature is
        # simply wrong.
        given = signature.encode("utf-8", errors="surrogateescape")
        return hmac.compare_digest(self.sign(key, expiry).encode(), given)

    def delete_prefix(self, prefix: str) -> None:
        """Deletes every file whose key starts with `prefix`, then the folders left empty."""
        validate_prefix(prefix)
        folder_key = prefix.rpartition("/")[0]
        base = self._path(folder_key) if folder_key else self.root
        if not base.is_dir():
            return
        try:
            for folder, _, files in os.walk(base, topdown=False):
                here = Path(folder)
                rel = here.relative_to(self.root).as_posix()
                for name in files:
                    if f"{rel}/{name}".removeprefix("./").startswith(prefix):
                        (here / name).unlink()
                if here != self.root and f"{rel}/".startswith(prefix) and not any(here.iterdir()):
                    here.rmdir()
        except OSError as exc:
            raise StorageError(f"Cannot delete {prefix!r} from {self.root}: {exc}") from exc
